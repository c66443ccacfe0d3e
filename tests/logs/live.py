"""A whole platform for the logs' end-to-end tests and bench/logs.py: `deisctl up` in a
temporary state dir on free ports (the podman runtime, or the record runtime with the git
builder), a user registered with the real `deis` client, apps deployed from the run
stack image (`deis pull`-style builds) so replicas are real podman containers."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.waiting import wait_for

BIN = Path(sys.executable).parent
NEEDED = ("podman", "runc", "git")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def missing() -> str | None:
    """Why this machine cannot run the platform with real containers (None: it can)."""
    if os.geteuid() != 0:
        return "the podman runtime needs root"
    gone = [tool for tool in NEEDED if shutil.which(tool) is None]
    return f"needs {', '.join(gone)}" if gone else None


@dataclass
class Live:
    root: Path
    state: Path
    url: str
    env: dict[str, str]
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def deis(self, *args: str, check: bool = True, timeout: float = 120) -> str:
        done = subprocess.run(  # noqa: S603 - an argument list
            [str(BIN / "deis"), *args],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"deis {args} failed ({done.returncode}):\n{done.stderr}")
        return done.stdout + done.stderr

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with httpx.Client(base_url=self.url, timeout=60, trust_env=False) as client:
            return client.request(method, path, headers=self.headers, **kwargs)

    def deploy(self, app: str, procfile: dict[str, str], structure: dict[str, int]) -> None:
        """A build of the run stack image with these process types, scaled and up."""
        from deis.stack.definition import run_image

        self.deis("create", app, "--no-remote")
        made = self.api("POST", f"/v2/apps/{app}/builds", json={
            "image": run_image(), "procfile": procfile,
        })  # fmt: skip
        assert made.status_code == 201, made.text
        scaled = self.api("POST", f"/v2/apps/{app}/scale", json=structure)
        assert scaled.status_code == 204, scaled.text
        wanted = sum(structure.values())
        wait_for(lambda: self.pods_up(app) >= wanted, 120, f"{wanted} replicas of {app} up")

    def pods(self, app: str) -> list[dict[str, Any]]:
        answer = self.api("GET", f"/v2/apps/{app}/pods")
        return list(answer.json()["results"]) if answer.status_code == 200 else []

    def pods_up(self, app: str) -> int:
        return sum(1 for pod in self.pods(app) if pod["state"] == "up")


@contextmanager
def platform(runtime: str = "podman", builder: str = "none", **env: str) -> Iterator[Live]:
    """`deisctl up`; on exit `deisctl down --purge` and the temporary files removed."""
    root = Path(f"/tmp/deis-test-logs-{secrets.token_hex(4)}")
    state, home = root / "state", root / "home"
    home.mkdir(parents=True)
    environment = {
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "HOME": str(home),
        "DEIS_PROFILE": "logs",
        "NO_COLOR": "1",
        "GIT_AUTHOR_NAME": "dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "dev", "GIT_COMMITTER_EMAIL": "dev@example.com",
        **env,
    }  # fmt: skip
    port = free_port()
    up = [
        str(BIN / "deisctl"), "up", "--state-dir", str(state), "--api-port", str(port),
        "--ssh-port", str(free_port()), "--router-port", str(free_port()),
        "--router-https-port", str(free_port()), "--registry-port", str(free_port()),
        "--runtime", runtime, "--router", "none", "--builder", builder, "--timeout", "120",
    ]  # fmt: skip
    live = Live(root, state, f"http://127.0.0.1:{port}", environment)
    try:
        started = subprocess.run(  # noqa: S603 - an argument list
            up, env=environment, capture_output=True, text=True, timeout=180, check=False
        )
        assert started.returncode == 0, f"deisctl up failed:\n{started.stdout}\n{started.stderr}"
        live.deis("register", live.url, "--username", "dev", "--password", "dev-pw-123",
                  "--email", "dev@example.com")  # fmt: skip
        live.token = httpx.post(
            f"{live.url}/v2/auth/login/",
            json={"username": "dev", "password": "dev-pw-123"},
            timeout=30,
            trust_env=False,
        ).json()["token"]
        yield live
    finally:
        subprocess.run(  # noqa: S603 - an argument list
            [str(BIN / "deisctl"), "down", "--state-dir", str(state), "--purge"],
            env=environment, capture_output=True, timeout=180, check=False,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
