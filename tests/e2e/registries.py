"""A second docker-registry for the tests, as "any registry the machine can reach": on a
free loopback port, with htpasswd (bcrypt) basic auth, stopped by its pid."""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class AuthRegistry:
    address: str
    username: str
    password: str
    directory: Path

    def auth_file(self) -> Path:
        """A podman auth file (0600) with this registry's credentials, for the test's pushes."""
        path = self.directory / "auth.json"
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        path.write_text(json.dumps({"auths": {self.address: {"auth": token}}}))
        path.chmod(0o600)
        return path


@contextlib.contextmanager
def auth_registry(directory: Path, username: str, password: str) -> Iterator[AuthRegistry]:
    directory.mkdir(parents=True, exist_ok=True)
    htpasswd = directory / "htpasswd"
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
    htpasswd.write_text(f"{username}:{hashed}\n")
    port = free_port()
    config = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(directory / "data")}},
        "http": {"addr": f"127.0.0.1:{port}"},
        "auth": {"htpasswd": {"realm": "deis-test", "path": str(htpasswd)}},
    }

    def answers() -> bool:
        url = f"http://127.0.0.1:{port}/v2/"
        return httpx.get(url, timeout=2, trust_env=False).status_code == 401

    with serving(directory, config, answers):
        yield AuthRegistry(f"127.0.0.1:{port}", username, password, directory)


PR_SET_PDEATHSIG = 1


def _die_with_this_test_process() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


@contextlib.contextmanager
def serving(directory: Path, config: dict[str, Any], answers: Callable[[], bool]) -> Iterator[None]:
    """Debian's docker-registry serving `config` until the block ends (SIGTERM, then
    SIGKILL); it dies with the test process too, so a killed run leaves none."""
    (directory / "config.yml").write_text(json.dumps(config))
    with (directory / "registry.log").open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - an argument list
            ["docker-registry", "serve", str(directory / "config.yml")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=_die_with_this_test_process,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (directory / "registry.log").read_text()
            with contextlib.suppress(OSError, httpx.HTTPError):
                if answers():
                    break
            assert time.monotonic() < deadline, "the test registry did not answer"
            time.sleep(0.05)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
