"""Failures that explain themselves in `git push` (issue 18): a web process that listens
on another port than $PORT, one that listens nowhere, one that crashes on start. Every
real part: `deisctl up` (podman runtime, nginx router, git builder), a Procfile-only app
pushed over SSH."""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.platforms import registered_platform
from tests.e2e.test_first_deploy import BIN, Deployment

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    with registered_platform("e2e", Deployment, apps_dir="apps", env={"NO_COLOR": "1"}) as d:
        yield d


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
