"""Failures that explain themselves in `git push` (issue 18): a web process that listens
on another port than $PORT, one that listens nowhere, one that crashes on start. Every
real part: `deisctl up` (podman runtime, nginx router, git builder), a Procfile-only app
pushed over SSH."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_first_deploy import BIN, NEEDED, Deployment, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    missing = [tool for tool in NEEDED if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (scripts/install.sh installs them)")
    from deis.stack.build import ensure

    ensure()  # the machine-wide stack images; built once, then reused
    root = Path(f"/tmp/deis-test-e2e-{secrets.token_hex(4)}")
    home, state, app_dir = root / "home", root / "state", root / "apps"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    app_dir.mkdir()
    (root / "owner.pid").write_text(str(os.getpid()))
    key = home / ".ssh" / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)  # noqa: S603
    env = {
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "HOME": str(home),
        "DEIS_PROFILE": "e2e",
        "NO_COLOR": "1",
        "GIT_SSH_COMMAND": (
            "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
            f" -o IdentitiesOnly=yes -i {key}"
        ),
        "GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@example.com",
        "GIT_COMMITTER_NAME": "e2e", "GIT_COMMITTER_EMAIL": "e2e@example.com",
    }  # fmt: skip
    d = Deployment(home, state, app_dir, env, free_port(), free_port())
    up = [
        str(BIN / "deisctl"), "up", "--state-dir", str(state),
        "--api-port", str(d.api_port), "--ssh-port", str(free_port()),
        "--router-port", str(d.router_port), "--router-https-port", str(free_port()),
        "--registry-port", str(free_port()),
        "--runtime", "podman", "--router", "nginx", "--builder", "git",
    ]  # fmt: skip
    try:
        d.run(*up, timeout=120)
        d.deis("register", f"http://127.0.0.1:{d.api_port}", "--username", "dev",
               "--password", "dev-pw", "--email", "dev@example.com")  # fmt: skip
        d.deis("keys:add", str(key) + ".pub")
        yield d
    finally:
        d.run(str(BIN / "deisctl"), "down", "--state-dir", str(state), "--purge", check=False)
        shutil.rmtree(root, ignore_errors=True)


def new_app(d: Deployment, procfile: str, *config: str) -> tuple[str, Path]:
    """An app with only a Procfile (and its config set), committed, not pushed yet."""
    app = f"e2e-{secrets.token_hex(3)}"
    src = d.app_dir / app
    src.mkdir()
    (src / "Procfile").write_text(procfile)
    for args in (("init", "-q"), ("add", "-A"), ("commit", "-qm", "first")):
        d.run("git", "-C", str(src), *args)
    created = subprocess.run(  # noqa: S603 - in the app's folder: it adds the git remote
        [str(BIN / "deis"), "create", app], cwd=src, env=d.env, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    if config:
        d.deis("config:set", *config, "-a", app)
    return app, src


def push(d: Deployment, src: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        ["git", "-C", str(src), "push", "deis", "master"], env=d.env, capture_output=True,
        text=True, timeout=300, check=False,
    )  # fmt: skip


def test_a_web_process_on_another_port_is_told_within_seconds(deployment: Deployment) -> None:
    d = deployment
    _, src = new_app(d, "web: exec python3 -m http.server 3000\n")
    began = time.monotonic()
    pushed = push(d, src)
    waited = time.monotonic() - began
    out = pushed.stderr
    assert pushed.returncode != 0, out
    assert "-----> Launching..." in out
    assert re.search(r"v2 not ready after \d+s \(timeout 120s\): web\.\S+: starting: web listens"
                     r" on 3000, but \$PORT is 5000", out), out  # fmt: skip
    assert re.search(r" !     Release v2 could not be deployed, nothing runs yet: \S+-web-\S+ is"
                     r" not ready: web listens on 3000, but \$PORT is 5000", out), out  # fmt: skip
    assert waited < 60, waited  # not the 120 s timeout (Heroku's R10: 60 s)


def test_a_web_process_listening_nowhere_says_so_while_waiting(deployment: Deployment) -> None:
    d = deployment
    app, src = new_app(d, "web: exec sleep 1000\n", "DEIS_DEPLOY_TIMEOUT=8")
    pushed = push(d, src)
    out = pushed.stderr
    assert pushed.returncode != 0, out
    assert re.search(r"v3 not ready after \d+s \(timeout 8s\): web\.\S+: starting: web listens"
                     r" on no TCP port yet \(it must listen on \$PORT, 5000\)", out), out  # fmt: skip
    assert "did not become ready within 8s" in out, out
    assert f"=== {app} Releases" in d.deis("releases", "-a", app)


def test_a_crash_on_start_shows_what_the_app_printed(deployment: Deployment) -> None:
    d = deployment
    app, src = new_app(d, "web: exec python3 -c 'print(\"starting\"); def oops'\n")
    pushed = push(d, src)
    out = pushed.stderr
    assert pushed.returncode != 0, out
    assert "keeps crashing (exit code 1); its last output:" in out, out
    assert "SyntaxError: invalid syntax" in out, out
    info = d.deis("releases:info", "v2", "-a", app)
    assert "failed:   true" in info, info
    assert re.search(
        r"failure:  \S+-web-\S+ keeps crashing \(exit code 1\); its last output:", info
    )
    assert "SyntaxError: invalid syntax" in info, info
