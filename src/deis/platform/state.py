"""The platform's state directory: its layout, its saved settings, its pid file.

Pure helpers (paths, (de)serialising settings, parsing) come first; the few functions
that touch the disk or the process table are small and say so in their names.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, get_type_hints

from deis.settings import Settings, SettingsError, from_env

SERVER_MODULE = "deis.platform.server"
DATABASE_BACKENDS = ("sqlite", "postgresql", "postgres")


class StateError(Exception):
    """An expected problem with the state directory; the message says what to do."""


@dataclass(frozen=True)
class StateDir:
    """Where each piece of an instance's state lives."""

    root: Path

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"

    @property
    def pid_file(self) -> Path:
        return self.root / "platform.pid"

    @property
    def lock_file(self) -> Path:
        return self.root / "platform.lock"

    @property
    def api_socket(self) -> Path:
        """Where the primary API process takes the requests its workers hand on."""
        return self.root / "api.sock"

    @property
    def builder_key_file(self) -> Path:
        return self.root / "builder-key"

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def platform_log(self) -> Path:
        """stdout and stderr of the platform process: start-up and fatal errors."""
        return self.logs_dir / "platform.log"

    @property
    def controller_log(self) -> Path:
        return self.logs_dir / "controller.log"


# --- settings, as saved in STATE/settings.json -------------------------------------------

# state_dir is where the file lives, never inside it: a copied or restored state
# directory must not point back at the old one.
_NOT_SAVED = ("state_dir",)


def _field_types() -> dict[str, type]:
    hints = get_type_hints(Settings)
    return {f.name: hints[f.name] for f in fields(Settings) if f.name not in _NOT_SAVED}


def settings_to_json(settings: Settings) -> dict[str, Any]:
    """The settings worth saving, as plain JSON values."""
    return {name: getattr(settings, name) for name in _field_types()}


def settings_from_json(data: Any, source: str = "settings.json") -> dict[str, Any]:
    """Overrides for `from_env`, from the saved JSON. Unknown keys are ignored."""
    if not isinstance(data, dict):
        raise StateError(f"{source} does not hold a JSON object")
    types = _field_types()
    values: dict[str, Any] = {}
    for name, value in data.items():
        kind = types.get(name)
        if kind is None:
            continue
        # bool is an int in Python; a saved port must not be `true`.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise StateError(f"{source}: {name} must be a {kind.__name__}, not {value!r}")
        values[name] = value
    return values


def effective_settings(
    state_dir: Path,
    saved: Mapping[str, Any],
    flags: Mapping[str, Any],
    env: Mapping[str, str],
) -> Settings:
    """Defaults, then DEIS_* variables, then the saved settings, then flags (not None)."""
    overrides = {**saved, **{k: v for k, v in flags.items() if v is not None}}
    try:
        settings = from_env(env, **overrides, state_dir=state_dir)
    except (SettingsError, TypeError) as exc:
        raise StateError(str(exc)) from exc
    problem = database_url_problem(settings.database_url)
    if problem:
        raise StateError(problem)
    return settings


def database_url_problem(url: str) -> str | None:
    """Why the URL cannot be the platform's database, or None. Empty means SQLite."""
    if not url:
        return None
    from sqlalchemy.engine import make_url  # imported here: deisctl starts faster
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"the database URL {url!r} is not a valid URL (like postgresql://USER:PASSWORD@HOST:5432/NAME)"
    if parsed.get_backend_name() not in DATABASE_BACKENDS:
        return f"the database must be PostgreSQL or SQLite, not {parsed.get_backend_name()!r}"
    return None


def describe_database(url: str) -> str:
    """The database URL without its password, for messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an invalid URL)"


def is_sqlite(settings: Settings) -> bool:
    from sqlalchemy.engine import make_url

    return make_url(settings.effective_database_url).get_backend_name() == "sqlite"


def probe_host(bind: str) -> str:
    """Where to reach a server bound to `bind` from this machine."""
    if bind in ("", "0.0.0.0"):
        return "127.0.0.1"
    if bind == "::":
        return "::1"
    return bind


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def health_url(settings: Settings) -> str:
    return f"http://{url_host(probe_host(settings.bind))}:{settings.api_port}/healthz"


def api_url(settings: Settings) -> str:
    return f"http://{url_host(probe_host(settings.bind))}:{settings.api_port}"


def server_command(python: str, state_dir: Path) -> list[str]:
    """The argument list that runs the platform in the foreground."""
    return [python, "-m", SERVER_MODULE, "--state-dir", str(state_dir)]


def is_server_cmdline(cmdline: list[str], state_dir: Path) -> bool:
    """Whether a process's argument list is the platform server of this state dir."""
    try:
        i = cmdline.index(SERVER_MODULE)
    except ValueError:
        return False
    rest = cmdline[i + 1 :]
    return "--state-dir" in rest and rest[rest.index("--state-dir") + 1 :][:1] == [str(state_dir)]


def parse_pid(text: str) -> int | None:
    text = text.strip()
    if not text.isdigit() or int(text) <= 1:
        return None
    return int(text)


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def one_line(exc: BaseException) -> str:
    """The first line of an error's message, for a short report."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def new_secret() -> str:
    return secrets.token_urlsafe(32)


# --- I/O ------------------------------------------------------------------------------------


def prepare_state_dir(state: StateDir) -> None:
    """Create the state directory (0700) and its logs folder, or say why not."""
    try:
        state.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        state.logs_dir.mkdir(mode=0o700, exist_ok=True)
        probe = state.root / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise StateError(f"cannot use {state.root} as the state directory: {_reason(exc)}") from exc


def read_saved_settings(state: StateDir) -> dict[str, Any]:
    """The settings `up` saved, or {} when there are none yet."""
    try:
        text = state.settings_file.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StateError(f"cannot read {state.settings_file}: {_reason(exc)}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StateError(f"{state.settings_file} is not valid JSON: {exc}") from exc
    return settings_from_json(data, str(state.settings_file))


def write_private_file(path: Path, text: str) -> None:
    """Write a file only its owner can read (it may hold passwords), atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StateError(f"cannot write {path}: {_reason(exc)}") from exc


def save_settings(state: StateDir, settings: Settings) -> None:
    write_private_file(state.settings_file, json.dumps(settings_to_json(settings), indent=2) + "\n")


def load_settings(
    state_dir: Path, flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    root = Path(state_dir).expanduser().resolve()
    saved = read_saved_settings(StateDir(root))
    return effective_settings(root, saved, flags or {}, os.environ if env is None else env)


def ensure_builder_key(state: StateDir, settings: Settings) -> str:
    """The builder's shared secret: Settings.builder_key, else STATE/builder-key (made once)."""
    if settings.builder_key:
        return settings.builder_key
    path = state.builder_key_file
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise StateError(f"cannot create {path}: {_reason(exc)}") from exc
    else:
        with os.fdopen(fd, "w") as f:
            f.write(new_secret() + "\n")
    try:
        key = path.read_text().strip()
    except OSError as exc:
        raise StateError(f"cannot read {path}: {_reason(exc)}") from exc
    if not key:
        raise StateError(f"{path} is empty: remove it and a new key is made")
    return key


def read_pid(state: StateDir) -> int | None:
    try:
        return parse_pid(state.pid_file.read_text())
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"cannot read {state.pid_file}: {_reason(exc)}") from exc


def write_pid(state: StateDir, pid: int) -> None:
    write_private_file(state.pid_file, f"{pid}\n")


def remove_pid_file(state: StateDir) -> None:
    with contextlib.suppress(FileNotFoundError):
        state.pid_file.unlink()


def process_cmdline(pid: int) -> list[str] | None:
    """The argument list of a live process, or None when there is no such process.

    A zombie (exited, not yet reaped) counts as gone. A process in the middle of exec
    briefly shows an empty argument list: look again a few times.
    """
    for _ in range(50):
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            return None
        except OSError:
            return []
        if raw:
            return [part.decode(errors="replace") for part in raw.rstrip(b"\0").split(b"\0")]
        if process_state(pid) in (None, "Z", "X"):
            return None
        time.sleep(0.01)
    return []


def process_state(pid: int) -> str | None:
    """The one-letter state of a process (R, S, Z, ...), or None when there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # pid (comm) STATE ...; comm may hold spaces and parentheses: split after the last ')'.
    fields = stat.rpartition(")")[2].split()
    return fields[0] if fields else None


def running_pid(state: StateDir) -> int | None:
    """The pid of this state dir's platform if it runs (checked, not just the pid file).

    The process must be a platform server, of this state dir: named so on its command
    line, or (started by hand with another spelling of the path) holding its lock.
    """
    pid = read_pid(state)
    if pid is None:
        return None
    cmdline = process_cmdline(pid)
    if cmdline is None or SERVER_MODULE not in cmdline:
        return None
    if is_server_cmdline(cmdline, state.root) or lock_held(state):
        return pid
    return None


def lock_held(state: StateDir) -> bool:
    """Whether a running platform holds this state dir's lock (see server.instance_lock)."""
    try:
        fd = os.open(state.lock_file, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing also releases a lock we took
    return False


def wait_for_exit(pid: int, timeout: float) -> bool:
    """True when the process is gone (or a zombie) within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        _reap(pid)
        if process_cmdline(pid) is None:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our own child, so it does not stay a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop_process(pid: int, grace: float) -> str:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL. Says which one it took."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "gone"
    if wait_for_exit(pid, grace):
        return "stopped"
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_for_exit(pid, 5)
    return "killed"


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def read_from(path: Path, offset: int) -> str:
    """What a log file got after `offset` (its size before a start): "" if unreadable."""
    try:
        with path.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def read_log_tail(path: Path, lines: int = 15) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            return tail(f.read().decode(errors="replace"), lines)
    except OSError:
        return ""


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or str(exc)
