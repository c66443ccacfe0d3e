"""What a user does, end to end, with every real part: `deisctl up` (podman runtime,
nginx router, git builder), `deis register`, `deis keys:add`, `deis create`,
`git push deis master` over SSH, `curl` through the router, then scale, config,
rollback, logs and destroy."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NEEDED = ("podman", "nginx", "git", "ssh", "ssh-keygen", "curl", "debootstrap")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Deployment:
    home: Path
    state: Path
    app_dir: Path
    env: dict[str, str]
    api_port: int
    router_port: int

    def run(self, *args: str, timeout: float = 300, check: bool = True) -> str:
        done = subprocess.run(  # noqa: S603
            list(args), cwd=self.app_dir, env=self.env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(
                f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout + done.stderr

    def deis(self, *args: str, check: bool = True) -> str:
        return self.run(str(BIN / "deis"), *args, check=check)

    def curl(self, app: str) -> tuple[int, str]:
        out = self.run(
            "curl", "-s", "-m", "10", "-o", "-", "-w", "\n%{http_code}",
            f"http://{app}.localhost:{self.router_port}/", check=False,
        )  # fmt: skip
        body, _, code = out.rpartition("\n")
        return int(code or 0), body


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    missing = [tool for tool in NEEDED if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (scripts/install.sh installs them)")
    from deis.stack.build import ensure

    ensure()  # the machine-wide stack images; built once, then reused
    root = Path(f"/tmp/deis-test-e2e-{secrets.token_hex(4)}")
    home, state, app_dir = root / "home", root / "state", root / "app"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    (root / "owner.pid").write_text(str(os.getpid()))
    key = home / ".ssh" / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)  # noqa: S603
    env = {
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "HOME": str(home),
        "DEIS_PROFILE": "e2e",
        "GIT_SSH_COMMAND": (
            "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
            f" -o IdentitiesOnly=yes -i {key}"
        ),
        "GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@example.com",
        "GIT_COMMITTER_NAME": "e2e", "GIT_COMMITTER_EMAIL": "e2e@example.com",
        # Two API processes, as on a 2-core machine by default: requests land on either,
        # and the worker hands those that act (push hooks, scale, logs) to the primary.
        "DEIS_WORKERS": "2",
    }  # fmt: skip
    shutil.copytree(ROOT / "examples" / "python-web", app_dir)
    deployment = Deployment(home, state, app_dir, env, free_port(), free_port())
    up = [
        str(BIN / "deisctl"), "up", "--state-dir", str(state),
        "--api-port", str(deployment.api_port), "--ssh-port", str(free_port()),
        "--router-port", str(deployment.router_port), "--router-https-port", str(free_port()),
        "--registry-port", str(free_port()),
        "--runtime", "podman", "--router", "nginx", "--builder", "git",
    ]  # fmt: skip
    try:
        deployment.run(*up, timeout=120)
        yield deployment
    finally:
        deployment.run(
            str(BIN / "deisctl"), "down", "--state-dir", str(state), "--purge", check=False
        )
        shutil.rmtree(root, ignore_errors=True)


def test_push_serve_scale_configure_roll_back_and_destroy(deployment: Deployment) -> None:
    d = deployment
    d.deis("register", f"http://127.0.0.1:{d.api_port}", "--username", "dev",
           "--password", "dev-pw", "--email", "dev@example.com")  # fmt: skip
    d.deis("keys:add", str(d.home / ".ssh" / "id_ed25519.pub"))
    d.run("git", "init", "-q")
    d.run("git", "add", "-A")
    d.run("git", "commit", "-qm", "first")
    app = f"e2e-{secrets.token_hex(3)}"
    assert f"created {app}" in d.deis("create", app)

    pushed = d.run("git", "push", "deis", "master", timeout=600)
    assert "-----> Python app detected" in pushed
    assert f"Done, {app}:v2 deployed" in pushed
    assert f"http://{app}.localhost:{d.router_port}" in pushed
    status, body = d.curl(app)
    assert status == 200 and "Hello from python-web" in body

    d.deis("scale", "web=2")
    pods = d.deis("ps")
    assert pods.count(f"{app}-web-") == 2 and "up (v2)" in pods

    restarted = d.deis("ps:restart", "web")  # the Go client's forms: a type, then one replica
    assert restarted.startswith("Restarting processes... but first, coffee!\ndone in ")
    assert restarted.count(f"{app}-web-") == 2
    fresh = restarted.splitlines()  # a new replica: the replaced ones may still be stopping
    replica = next(line.split()[0] for line in fresh if line.startswith(f"{app}-web-"))
    assert d.deis("ps:restart", replica).count(f"{app}-web-") == 1

    d.deis("config:set", "GREETING=hi")
    assert d.curl(app)[0] == 200
    releases = d.deis("releases")
    assert "v3" in releases and "dev added GREETING" in releases

    assert "v4" in d.deis("rollback")
    assert d.curl(app)[0] == 200
    assert "GREETING" not in d.deis("config")

    logs = d.deis("logs")
    assert "deis[builder]: dev deployed" in logs and "rolled back to v2" in logs
    deadline = time.monotonic() + 30  # what a replica prints reaches `deis logs` too
    while f"{app}[web." not in logs and time.monotonic() < deadline:
        d.curl(app)
        time.sleep(0.5)
        logs = d.deis("logs")
    assert f"{app}[web." in logs and '"GET / HTTP/1.1" 200' in logs
    info = d.deis("info")  # the router's count of the app's requests
    assert f"=== {app} Requests" in info and "2xx: " in info

    stop_everything_then_start_again(d, app)

    unknown_branch = d.run("git", "push", "deis", "master:feature", check=False)
    assert "master" in unknown_branch and "main" in unknown_branch

    d.deis("destroy", "--app", app, "--confirm", app)
    deadline = time.monotonic() + 30
    while d.curl(app)[0] != 404 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert d.curl(app)[0] == 404


def stop_everything_then_start_again(d: Deployment, app: str) -> None:
    """`deisctl down --apps` stops the platform and the app and leaves nothing of the
    instance running or mounted; the next `deisctl up` starts the app again."""
    from deis.runtime.podman.purge import mounts_under

    instance = (d.state / "runtime" / "instance-id").read_text().strip()
    said = d.run(str(BIN / "deisctl"), "down", "--apps", "--state-dir", str(d.state))
    assert "Removed this instance's containers, namespaces and addresses." in said
    assert f"{d.state} can be removed" in said
    assert mounts_under(d.state) == []
    assert f"deis-{instance}-" not in d.run("ip", "netns", "list")
    assert not [p for p in Path("/proc").glob("[0-9]*/cmdline") if _mentions(p, str(d.state))]
    assert d.curl(app)[0] == 0  # nothing answers

    d.run(str(BIN / "deisctl"), "up", "--state-dir", str(d.state), timeout=120)
    deadline = time.monotonic() + 60
    while d.curl(app)[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert d.curl(app)[0] == 200


def _mentions(cmdline: Path, text: str) -> bool:
    try:
        return text.encode() in cmdline.read_bytes()
    except OSError:
        return False
