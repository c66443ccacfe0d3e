"""Starting, stopping and inspecting a platform instance (what `deisctl` does, minus click)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx

from deis.platform.server import STARTUP_PREFIX, StartError, listen
from deis.platform.state import (
    StateDir,
    StateError,
    api_url,
    describe_database,
    ensure_builder_key,
    file_size,
    health_url,
    is_sqlite,
    load_settings,
    prepare_state_dir,
    read_from,
    read_pid,
    remove_pid_file,
    running_pid,
    save_settings,
    server_command,
    stop_process,
    tail,
    write_pid,
    write_private_file,
)
from deis.settings import Settings

START_TIMEOUT = 30.0
Outcome = int | Literal["up", "timeout"]  # an int: the server's exit code
STOP_GRACE = 10.0


@dataclass
class Started:
    pid: int
    url: str
    already_running: bool = False


@dataclass
class Status:
    running: bool
    pid: int | None
    stale_pid: int | None
    healthy: bool
    lines: list[tuple[str, str]] = field(default_factory=list)


@contextlib.contextmanager
def control_lock(state: StateDir) -> Iterator[None]:
    """Serialises deisctl commands that start or stop one instance."""
    path = state.root / "deisctl.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StateError(f"cannot open {path}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def answers_health(url: str, timeout: float = 1.0) -> bool:
    try:
        # trust_env=False: never ask a proxy for an address of this machine.
        response = httpx.get(url, timeout=timeout, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def check_port_free(settings: Settings) -> None:
    try:
        listen(settings.bind, settings.api_port).close()
    except StartError as exc:
        raise StateError(str(exc)) from exc
    from deis.platform import registry
    from deis.platform.wiring import wants_registry

    paths = registry.RegistryPaths.of(settings.state_dir)
    if wants_registry(settings) and registry.running_pid(paths) is None:
        try:
            registry.check_port_free(settings.registry_port)
        except registry.RegistryError as exc:
            raise StateError(str(exc)) from exc


def spawn_server(state: StateDir, python: str) -> subprocess.Popen[bytes]:
    """Start the platform detached: its own session, output to logs/platform.log."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with state.platform_log.open("ab") as out:
        os.chmod(state.platform_log, 0o600)
        return subprocess.Popen(  # noqa: S603 (an argument list we build, no shell)
            server_command(python, state.root),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            cwd=state.root,
            env=env,
        )


def stated_reason(log_tail: str) -> str | None:
    """The one-line reason the server gave on stderr, if it gave one."""
    reasons = [
        line.split(STARTUP_PREFIX, 1)[1] for line in log_tail.splitlines() if STARTUP_PREFIX in line
    ]
    return reasons[-1] if reasons else None


def failure_message(log_tail: str, outcome: Outcome, timeout: float, state: StateDir) -> str:
    """What to tell the operator when the platform did not come up."""
    reason = stated_reason(log_tail)
    if reason is not None:
        return f"the platform could not start: {reason}\n(more in {state.logs_dir})"
    if outcome == "timeout":
        head = f"the platform did not answer within {timeout:g} s (stopped it)"
    else:
        head = f"the platform exited with code {outcome} while starting"
    if not log_tail:
        return f"{head}; {state.platform_log} is empty"
    return f"{head}. The last lines of {state.platform_log}:\n{log_tail}"


class Polled(Protocol):
    def poll(self) -> int | None: ...


def wait_until_up(
    proc: Polled,
    url: str,
    timeout: float,
    probe: Callable[[str], bool] = answers_health,
) -> Outcome:
    """ "up" once `url` answers, the exit code if the server exits, or "timeout"."""
    deadline = time.monotonic() + timeout
    while True:
        code = proc.poll()
        if code is not None:
            return code
        # Still alive after the answer: it came from our server, not another program.
        if probe(url) and proc.poll() is None:
            return "up"
        if time.monotonic() >= deadline:
            return "timeout"
        time.sleep(0.1)


def start(
    settings: Settings,
    timeout: float = START_TIMEOUT,
    preflight: Callable[[Settings], None] | None = None,
) -> Started:
    """Start the platform of `settings` and wait for /healthz. Raises StateError if it cannot.
    preflight: checks this machine before anything starts (raises StateError to refuse)."""
    state = StateDir(settings.state_dir)
    prepare_state_dir(state)
    with control_lock(state):
        pid = running_pid(state)
        if pid is not None:
            running = load_settings(state.root)  # its own settings, not this call's flags
            return Started(pid=pid, url=api_url(running), already_running=True)
        check_port_free(settings)
        if preflight is not None:
            preflight(settings)
        previous = _read_text(state.settings_file)
        save_settings(state, settings)
        log_start = file_size(state.platform_log)
        proc = spawn_server(state, sys.executable)
        write_pid(state, proc.pid)
        outcome = wait_until_up(proc, health_url(settings), timeout)
        if outcome == "up":
            return Started(pid=proc.pid, url=api_url(settings))
        if outcome == "timeout":
            stop_process(proc.pid, 5)
        else:
            proc.wait()
        remove_pid_file(state)
        _put_back(state.settings_file, previous)  # a failed `up` leaves the settings as they were
        log_tail = tail(read_from(state.platform_log, log_start), 15)
        raise StateError(failure_message(log_tail, outcome, timeout, state))


def stop(
    state: StateDir, grace: float = STOP_GRACE, purge: bool = False, apps: bool = False
) -> list[str]:
    """Stop the platform of this state dir if it runs. Returns what was done, line by line.
    purge: also remove what a crashed run left. apps: also stop the apps and remove every
    container, namespace and mount of this instance (the state dir can then be removed)."""
    if not state.root.is_dir():
        return [f"No platform uses {state.root} (the directory does not exist)."]
    done: list[str] = []
    with control_lock(state):
        pid = running_pid(state)
        if pid is not None:
            how = stop_process(pid, grace)
            remove_pid_file(state)
            if how == "killed":
                done.append(f"The platform (pid {pid}) did not stop within {grace:g} s: killed it.")
            else:
                done.append(f"Stopped the platform (pid {pid}).")
        else:
            done.append("The platform is not running.")
            stale = read_pid(state) if state.pid_file.exists() else None
            if state.pid_file.exists():
                if purge or apps:
                    remove_pid_file(state)
                    done.append(f"Removed the stale pid file ({_pid_text(stale)}).")
                else:
                    done.append(
                        f"A stale pid file remains ({_pid_text(stale)}):"
                        " `deisctl down --purge` removes it."
                    )
        if purge or apps:
            done.extend(purge_leftovers(state))
        if apps:
            done.extend(report_apps_stopped(state))
    return done


def report_apps_stopped(state: StateDir) -> list[str]:
    from deis.runtime.podman.purge import mounts_under

    left = mounts_under(state.root)
    if left:
        return [f"Still mounted under {state.root}: {', '.join(left)} (unmount by hand)."]
    return [
        "Apps stopped. Kept: the database, releases, config, images, logs and add-ons' data;"
        " `deisctl up` starts the apps again.",
        f"Nothing of this instance runs or is mounted now: {state.root} can be removed.",
    ]


def purge_leftovers(state: StateDir) -> list[str]:
    """Remove what a crashed run of this instance left behind: its registry, its router
    (nginx), its containers, network namespaces, veths, mounts and addresses, temporary files."""
    said = []
    if (state.root / "registry").is_dir():
        from deis.platform.registry import purge as purge_registry

        if purge_registry(state.root):
            said.append("Stopped the registry (docker-registry) left running.")
    if (state.root / "router").is_dir():
        from deis.router.nginx import purge as purge_router

        if purge_router(state.root):
            said.append("Stopped the router (nginx) left running.")
    if (state.root / "runtime" / "instance-id").is_file():
        from deis.runtime.podman import purge as purge_runtime

        purge_runtime(state.root)
        said.append("Removed this instance's containers, namespaces and addresses.")
    removed = []
    for path in state.root.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path.name)
    if removed:
        said.append(f"Removed {len(removed)} temporary file(s).")
    return said


def status(state: StateDir, settings: Settings | None, problem: str | None = None) -> Status:
    pid = running_pid(state) if state.root.is_dir() else None
    stale = None
    if pid is None and state.pid_file.exists():
        stale = read_pid(state) or -1
    healthy = bool(pid and settings and answers_health(health_url(settings)))
    if pid is not None:
        state_line = f"running (pid {pid})"
    elif stale is not None:
        state_line = f"not running (stale pid file: {_pid_text(stale)})"
    else:
        state_line = "not running"
    lines = [("Platform", state_line), ("State dir", str(state.root))]
    if settings is not None:
        api = api_url(settings)
        if pid is not None:
            api += " (answers /healthz)" if healthy else " (does not answer /healthz)"
        lines += [
            ("API", api),
            ("Bind", settings.bind),
            ("Domain", settings.domain),
            (
                "Ports",
                f"builder SSH {settings.ssh_port}, router {settings.router_port}"
                f" (HTTPS {settings.router_https_port}), registry {settings.registry_port}",
            ),
            ("Builder key", builder_key_line(settings)),
            ("Registry", registry_line(settings, pid is not None)),
            ("Database", describe_database(settings.effective_database_url)),
            ("Registration", settings.registration_mode),
        ]
    if problem:
        lines.append(("Settings", problem))
    lines.append(("Logs", str(state.logs_dir)))
    return Status(running=pid is not None, pid=pid, stale_pid=stale, healthy=healthy, lines=lines)


def builder_key_line(settings: Settings) -> str:
    """The builder's SSH host key: its fingerprint and the line for ~/.ssh/known_hosts, so
    that a first push need not ask (or fail with "Host key verification failed")."""
    from deis.domain.errors import DomainError
    from deis.domain.sshkeys import parse_public_key
    from deis.platform.wiring import builder_host_key_file

    if settings.builder != "git":
        return f"none (builder: {settings.builder})"
    try:
        public = " ".join(builder_host_key_file(settings).read_text().split()[:2])
        key = parse_public_key(public)
    except (OSError, DomainError):
        return "not made yet (the builder makes it when it first starts)"
    host = settings.bind if settings.ssh_port == 22 else f"[{settings.bind}]:{settings.ssh_port}"
    return f"{key.fingerprint_sha256} (ED25519); known_hosts line: {host} {public}"


def registry_line(settings: Settings, platform_running: bool) -> str:
    from deis.platform.registry import Registry
    from deis.platform.wiring import wants_registry

    if not wants_registry(settings):
        return "none (images are neither built nor run on this machine)"
    registry = Registry(settings.state_dir, settings.registry_port)
    pid = registry.pid()
    if pid is None:
        return f"{registry.address} (not running)" if platform_running else registry.address
    answers = "answers /v2/" if registry.answers() else "does not answer /v2/"
    return f"{registry.address} (docker-registry, pid {pid}, {answers})"


def migrate_database(settings: Settings) -> str | None:
    """Run the migrations; the revision the database is at afterwards."""
    from deis.platform.backup import database_errors
    from deis.store.migrate import current, upgrade

    url = settings.effective_database_url
    if is_sqlite(settings):
        prepare_state_dir(StateDir(settings.state_dir))
    with database_errors("migrate", url):
        upgrade(url)
        revision: str | None = current(url)
    return revision


def create_admin_user(settings: Settings, username: str, email: str, password: str) -> Any:
    """Create an administrator through the service layer (migrating first)."""
    from deis.platform import wiring
    from deis.platform.backup import database_errors
    from deis.services.users import create_admin

    migrate_database(settings)
    state = StateDir(settings.state_dir)
    prepare_state_dir(state)
    settings = settings.with_changes(builder_key=ensure_builder_key(state, settings))
    with database_errors("write to", settings.effective_database_url):
        make_context = getattr(wiring, "build_services", None) or wiring.build_context
        return create_admin(make_context(settings), username, email, password)


def format_lines(lines: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in lines) + 1
    return "\n".join(f"{k + ':':<{width}} {v}" for k, v in lines)


def _pid_text(pid: int | None) -> str:
    return f"pid {pid}" if pid and pid > 0 else "no valid pid"


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _put_back(path: Path, text: str | None) -> None:
    if text is None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    else:
        write_private_file(path, text)
