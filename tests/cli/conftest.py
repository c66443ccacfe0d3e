"""Fixtures of the `deis` client tests.

Unit tests run the client in this process (`run_cli`) with a temporary HOME. End-to-end
tests (marked `e2e`) run the installed `deis` command as a subprocess against one platform
started for the session with `deisctl up` in a temporary state directory, each test with
its own HOME and DEIS_PROFILE.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from deis.cli.main import main

from .proxy import Proxy

VENV_BIN = Path(sys.executable).parent
STATE_PREFIX = "deis-test-"  # scripts may clean what a killed run left: deisctl down --purge


# --- in-process runs -------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary HOME (and working directory) with no DEIS_* variables of the developer."""
    home = tmp_path / "home"
    home.mkdir()
    for key in list(os.environ):
        if key.startswith("DEIS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def run_cli(home: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run `deis ARGS` in this process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


# --- the platform for end-to-end tests -------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tool(name: str) -> str:
    path = shutil.which(name, path=os.pathsep.join([str(VENV_BIN), os.environ.get("PATH", "")]))
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEIS_")}
    env.update(HOME=str(home), COLUMNS="80", NO_COLOR="1", LC_ALL="C.UTF-8")
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
    env.pop("BROWSER", None)
    return env


@dataclass
class Platform:
    url: str
    state_dir: Path
    admin_username: str
    admin_password: str


def read_pid(state_dir: Path) -> int | None:
    try:
        return int((state_dir / "platform.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def platform() -> Iterator[Platform]:
    """One platform for the whole session; stopped with `deisctl down`, then by its pid."""
    deisctl = tool("deisctl")
    state_dir = Path(tempfile.mkdtemp(prefix=STATE_PREFIX))
    home = state_dir / "home"
    home.mkdir()
    env = base_env(home)
    port = free_port()
    args = [
        deisctl,
        "up",
        "--state-dir",
        str(state_dir / "state"),
        "--api-port",
        str(port),
        "--ssh-port",
        str(free_port()),
        "--router-port",
        str(free_port()),
        "--registry-port",
        str(free_port()),
        # The client's tests need the API only: nothing runs, routes or builds.
        "--runtime",
        "record",
        "--router",
        "none",
        "--builder",
        "none",
    ]
    started = subprocess.run(  # noqa: S603
        args, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    state = state_dir / "state"
    pid = read_pid(state)
    try:
        if started.returncode != 0:
            pytest.fail(
                f"deisctl up failed ({started.returncode}):\n{started.stdout}\n{started.stderr}"
            )
        url = f"http://127.0.0.1:{port}"
        admin = Platform(url, state, f"admin-{uuid.uuid4().hex[:8]}", "admin-pass-1")
        register_admin(admin, home)
        yield admin
    finally:
        subprocess.run(  # noqa: S603
            [deisctl, "down", "--state-dir", str(state)],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        if pid is not None and pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(state_dir, ignore_errors=True)


def register_admin(p: Platform, home: Path) -> None:
    """The first user of a platform is its administrator: register one before any test does."""
    deadline = time.monotonic() + 30
    while True:
        try:
            response = httpx.get(f"{p.url}/v2/", timeout=5, trust_env=False)
            if response.status_code == 401:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the controller at {p.url} does not answer")
        time.sleep(0.2)
    result = Deis(home, "admin", home)(
        "register",
        p.url,
        "--username",
        p.admin_username,
        "--password",
        p.admin_password,
        "--email",
        "admin@example.com",
    )
    assert "Registered" in result.out


# --- the installed `deis` as a subprocess ---------------------------------------------------


@dataclass
class Result:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


class Deis:
    """Runs `.venv/bin/deis` with its own HOME, DEIS_PROFILE and working directory."""

    def __init__(self, home: Path, profile: str, cwd: Path) -> None:
        self.home = home
        self.profile = profile
        self.cwd = cwd
        self.binary = str(VENV_BIN / "deis")
        self.env = base_env(home)
        self.env["DEIS_PROFILE"] = profile
        self.username = ""

    def environment(self, env: dict[str, str | None] | None = None) -> dict[str, str]:
        """The client's environment with `env` on top; a None value removes the variable."""
        merged = {**self.env, **(env or {})}
        return {key: value for key, value in merged.items() if value is not None}

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        ok: bool = True,
        env: dict[str, str | None] | None = None,
        cwd: Path | None = None,
    ) -> Result:
        completed = subprocess.run(  # noqa: S603
            [self.binary, *args],
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            env=self.environment(env),
            cwd=cwd or self.cwd,
            timeout=120,
            check=False,
        )
        result = Result(completed.returncode, completed.stdout, completed.stderr)
        if ok:
            assert result.code == 0, f"deis {' '.join(args)} failed:\n{result}"
        return result

    def fails(
        self,
        *args: str,
        code: int = 1,
        input: str | None = None,
        cwd: Path | None = None,
        env: dict[str, str | None] | None = None,
    ) -> Result:
        result = self(*args, ok=False, input=input, cwd=cwd, env=env)
        assert result.code == code, f"deis {' '.join(args)}: expected exit {code}:\n{result}"
        assert "Traceback" not in result.err, str(result)
        return result

    @property
    def profile_file(self) -> Path:
        return self.home / ".deis" / f"{self.profile}.json"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def new_deis(platform: Platform, tmp_path: Path) -> Callable[..., Deis]:
    """A factory of clients, each with its own HOME and profile (not logged in)."""
    counter = iter(range(1000))

    def make(name: str = "user") -> Deis:
        home = tmp_path / f"home-{name}-{next(counter)}"
        home.mkdir()
        work = home / "work"
        work.mkdir()
        return Deis(home, unique("profile"), work)

    return make


@pytest.fixture
def user(platform: Platform, new_deis: Callable[..., Deis]) -> Deis:
    """A client logged in as a new, ordinary user."""
    deis = new_deis("user")
    username = unique("user")
    deis(
        "register",
        platform.url,
        "--username",
        username,
        "--password",
        "pass-" + username,
        "--email",
        f"{username}@example.com",
    )
    deis.username = username
    return deis


@pytest.fixture
def admin(platform: Platform, new_deis: Callable[..., Deis]) -> Deis:
    """A client logged in as the platform's administrator."""
    deis = new_deis("admin")
    deis(
        "login",
        platform.url,
        "--username",
        platform.admin_username,
        "--password",
        platform.admin_password,
    )
    deis.username = platform.admin_username
    return deis


@pytest.fixture
def app(user: Deis) -> str:
    """An app of `user`, made without a git remote."""
    name = unique("app")
    result = user("create", name, "--no-remote")
    assert f"created {name}" in result.out
    return name


@pytest.fixture
def proxy(platform: Platform) -> Iterator[Callable[..., Proxy]]:
    """Recording proxies in front of the controller: `proxy("/v2/platform")` hides that path."""
    started: list[Proxy] = []

    def make(*hidden: str) -> Proxy:
        started.append(Proxy(platform.url, hidden).start())
        return started[-1]

    yield make
    for each in started:
        each.stop()
