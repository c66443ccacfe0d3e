"""Helpers for the platform tests: free ports, the installed deisctl, and instances that
always get stopped (by their pid, never by name) and removed.

State dirs live under the system temp dir as deis-test-<random>, so that scripts/test.sh can
find what a killed test run left behind and run `deisctl down --purge` on it.
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
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from deis.platform.state import StateDir, is_server_cmdline, process_cmdline, read_pid

TEMP_PREFIX = "deis-test-"

# These tests are about deisctl: the API alone, no runtime, router or git server.
LIGHT = ("--runtime", "record", "--router", "none", "--builder", "none")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def deisctl_path() -> str:
    """The deisctl installed next to this Python (the venv's bin), else the one on PATH."""
    venv_bin = str(Path(sys.executable).parent)
    found = shutil.which("deisctl", path=os.pathsep.join([venv_bin, os.environ.get("PATH", "")]))
    if found is None:
        pytest.fail("deisctl is not installed: run `pip install -e .` in the venv")
    return found


def clean_env(home: Path) -> dict[str, str]:
    """The environment for deisctl: a temporary HOME, no DEIS_* settings of the developer."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEIS_")}
    env["HOME"] = str(home)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def http(method: str, url: str, json: object = None) -> httpx.Response:
    """A request to a platform of this machine, never through a proxy."""
    return httpx.request(method, url, json=json, trust_env=False, timeout=10)


@dataclass
class Instance:
    """One platform instance of a test: its state dir, its ports, how to run deisctl on it."""

    root: Path
    home: Path
    api_port: int
    env: dict[str, str]
    pids: set[int] = field(default_factory=set)

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def deisctl(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 90
    ) -> subprocess.CompletedProcess[str]:
        """Run `deisctl ARGS --state-dir STATE` and remember the pid of any platform it starts."""
        command = [deisctl_path(), *args, "--state-dir", str(self.state_dir)]
        result = subprocess.run(  # noqa: S603 (a fixed argument list)
            command,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        self.remember_pid()
        return result

    def up(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.deisctl("up", "--api-port", str(self.api_port), *LIGHT, *args)

    def remember_pid(self) -> None:
        with contextlib.suppress(Exception):
            pid = read_pid(StateDir(self.state_dir))
            if pid is not None:
                self.pids.add(pid)

    def kill_leftovers(self) -> None:
        """SIGKILL any platform process this test started that is still alive."""
        for pid in self.pids:
            cmdline = process_cmdline(pid)
            if cmdline and is_server_cmdline(cmdline, self.state_dir):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def make_instance() -> Iterator[Callable[[], Instance]]:
    """A factory of instances; every instance is stopped and removed at the end."""
    made: list[Instance] = []

    def make() -> Instance:
        root = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}-"))
        # scripts/clean-test-leftovers.py leaves a root alone while its owner lives.
        (root / "owner.pid").write_text(f"{os.getpid()}\n")
        home = root / "home"
        home.mkdir()
        instance = Instance(root=root, home=home, api_port=free_port(), env=clean_env(home))
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.remember_pid()
        with contextlib.suppress(Exception):
            instance.deisctl("down", "--timeout", "5", timeout=30)
        instance.kill_leftovers()
        shutil.rmtree(instance.root, ignore_errors=True)


@pytest.fixture
def spawned() -> Iterator[Callable[[list[str]], subprocess.Popen[str]]]:
    """Start helper processes; each is killed by its pid at the end."""
    procs: list[subprocess.Popen[str]] = []

    def spawn(args: list[str]) -> subprocess.Popen[str]:
        proc = subprocess.Popen(  # noqa: S603 (a fixed argument list)
            args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
        )
        procs.append(proc)
        return proc

    yield spawn
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def wait_for(predicate: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
