"""Build output kept with the build: real `git push`es into a platform started with
`deisctl up` (the git builder, buildpacks run in podman on the build stack), read again
with `deis builds:info`, bounded to the last N attempts, removed with the app."""

from __future__ import annotations

import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.logs.live import Live, missing, platform

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(missing() is not None, reason=str(missing()))]

FAILING_COMPILE = """#!/bin/bash
echo "-----> Compiling the widget"
for step in 1 2 3; do echo "       step $step of 3"; done
echo "error: the widget is broken" >&2
exit 1
"""
STARTED = re.compile(r"-----> Build ([0-9a-f]{8}) started")


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    from deis.stack.build import ensure

    ensure()
    with platform(runtime="record", builder="git", DEIS_BUILD_LOG_RETENTION="3") as running:
        pack = running.state / "buildpacks" / "failing" / "bin"
        pack.mkdir(parents=True)
        for name, text in (
            ("detect", "#!/bin/bash\necho failing\n"),
            ("compile", FAILING_COMPILE),
            ("release", "#!/bin/bash\necho '--- {}'\n"),
        ):
            (pack / name).write_text(text)
            (pack / name).chmod(0o755)
        yield running


def git(live: Live, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - an argument list
        ["git", *args], cwd=cwd, env=live.env, capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip


def source(live: Live) -> Path:
    path = live.root / f"src-{secrets.token_hex(3)}"
    path.mkdir()
    (path / "index.html").write_text("<h1>hello</h1>\n")
    for args in (("init", "-q", "-b", "master"), ("add", "-A"), ("commit", "-qm", "first")):
        assert git(live, path, *args).returncode == 0
    return path


def push(live: Live, path: Path, app: str) -> subprocess.CompletedProcess[str]:
    url = live.url.replace("http://", f"http://dev:{live.token}@") + f"/{app}.git"
    git(live, path, "commit", "-q", "--allow-empty", "-m", "again")
    return git(live, path, "push", url, "HEAD:master")


def test_a_failed_push_is_read_again_and_builds_list_only_real_builds(live: Live) -> None:
    app = f"out-{secrets.token_hex(3)}"
    live.deis("create", app, "--no-remote")
    src = source(live)
    live.deis("config:set", f"BUILDPACK_URL={live.state}/buildpacks/failing", "-a", app)

    failed = push(live, src, app)
    assert failed.returncode != 0
    short = STARTED.search(failed.stderr)
    assert short, failed.stderr
    failed_id = short[1]
    assert f"deis builds:info {failed_id}" in failed.stderr

    info = live.deis("builds:info", failed_id, "-a", app)
    assert "status:    failed" in info
    assert f"-----> Build {failed_id} started" in info
    assert "step 3 of 3" in info and "error: the widget is broken" in info
    assert "deis[builder]: build " + failed_id in live.deis("logs", "-a", app)
    assert failed_id not in live.deis("builds", "-a", app)  # not a Build of the contract

    live.deis("config:unset", "BUILDPACK_URL", "-a", app)
    built = push(live, src, app)
    assert built.returncode == 0, built.stderr
    built_short = STARTED.search(built.stderr)
    assert built_short
    builds = live.deis("builds", "-a", app)
    uuids = re.findall(r"[0-9a-f]{8}-[0-9a-f-]{27}", builds)
    assert len(uuids) == 1 and uuids[0].startswith(built_short[1])  # the build is the attempt
    info = live.deis("builds:info", uuids[0], "-a", app)
    assert "status:    succeeded" in info and "release:   v" in info and "image:" in info
    assert f"Done, {app}:v" in info

    every = live.deis("builds", "--all", "-a", app)
    assert failed_id in every and uuids[0] in every and "failed" in every
    text = live.api("GET", f"/v2/apps/{app}/builds/{failed_id}/log")
    assert text.headers["content-type"].startswith("text/plain") and "widget" in text.text

    live.deis("config:set", f"BUILDPACK_URL={live.state}/buildpacks/failing", "-a", app)
    for _ in range(2):
        assert push(live, src, app).returncode != 0
    kept = live.api("GET", f"/v2/apps/{app}/attempts").json()
    assert kept["count"] == 3  # DEIS_BUILD_LOG_RETENTION=3: the oldest is gone
    assert not any(a["uuid"].startswith(failed_id) for a in kept["results"])
    gone = live.deis("builds:info", failed_id, "-a", app, check=False)
    assert f"No build {failed_id} of {app} is kept" in gone

    outputs = live.state / "logs" / "builds" / app
    assert len(list(outputs.glob("*.log"))) == 3
    live.deis("destroy", "-a", app, "--confirm", app)
    assert not outputs.exists()


def test_others_cannot_read_a_build_s_output(live: Live) -> None:
    app = f"priv-{secrets.token_hex(3)}"
    live.deis("create", app, "--no-remote")
    src = source(live)
    live.deis("config:set", f"BUILDPACK_URL={live.state}/buildpacks/failing", "-a", app)
    failed = push(live, src, app)
    short = STARTED.search(failed.stderr)
    assert short
    import httpx

    bob = {"username": f"bob{secrets.token_hex(2)}", "password": "pw-bob-123", "email": "b@e.com"}
    httpx.post(f"{live.url}/v2/auth/register/", json=bob, trust_env=False)
    token = httpx.post(f"{live.url}/v2/auth/login/", json=bob, trust_env=False).json()["token"]
    for path in (f"/v2/apps/{app}/builds/{short[1]}/log", f"/v2/apps/{app}/attempts"):
        answer = httpx.get(
            live.url + path, headers={"Authorization": f"token {token}"}, trust_env=False
        )
        assert answer.status_code == 404
    live.deis("destroy", "-a", app, "--confirm", app)
