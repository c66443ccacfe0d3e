"""Pushes the builder refuses before any build runs: each leaves no release, no build and
no lock, and says why in one line."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from tests.builder.conftest import Platform, can_build, source_tree

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(can_build() is not None, reason=str(can_build())),
]

WEB = {"Procfile": "web: python3 -m http.server $PORT\n", "index.html": "hi\n"}


def refused(platform: Platform, app: str, done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done.stderr
    assert [r.version for r in platform.releases(app)] == [1]
    assert platform.builds(app) == []
    assert platform.no_locks_held(app)
    return done.stderr


def test_non_default_branch_is_refused(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    src = source_tree(platform.tmp, WEB, alice)
    out = refused(platform, app, alice.push(src, app, ref="HEAD:refs/heads/feature"))
    assert "Pushes to feature are refused: only master or main build" in out
    assert "remote:" in out


def test_procfile_that_does_not_parse(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    src = source_tree(platform.tmp, {"Procfile": "this is not a procfile\n"}, alice)
    out = refused(platform, app, alice.push(src, app))
    assert "The Procfile does not parse: Line 1 of the Procfile" in out


def test_symlink_outside_the_tree(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    src = source_tree(platform.tmp, WEB, alice)
    os.symlink("/etc/passwd", src / "passwd")
    os.symlink("../../outside", src / "up")
    alice.git(src, "add", "-A")
    alice.git(src, "commit", "-q", "-m", "links")
    out = refused(platform, app, alice.push(src, app))
    assert "points outside the repository" in out


def test_symlink_inside_the_tree_is_fine_for_the_snapshot(platform: Platform) -> None:
    import tarfile

    from deis.builder.errors import BuildRefused
    from deis.builder.snapshot import check_members

    inside = tarfile.TarInfo("a/link")
    inside.type = tarfile.SYMTYPE
    inside.linkname = "../b"
    check_members([inside])
    outside = tarfile.TarInfo("a/link")
    outside.type = tarfile.SYMTYPE
    outside.linkname = "../../b"
    with pytest.raises(BuildRefused):
        check_members([outside])


@pytest.mark.parametrize("http", [False, True], ids=["ssh", "http"])
def test_push_too_large(platform: Platform, http: bool) -> None:
    limit = 1024 * 1024
    platform.builder.pipeline.config = replace(platform.config, max_push_size=limit)
    alice = platform.user("alice")
    app = platform.create_app("alice")
    big = os.urandom(2 * limit)  # incompressible
    src = source_tree(platform.tmp, {**WEB, "blob.bin": big}, alice)
    out = refused(platform, app, alice.push(src, app, http=http))
    assert "The push is too large" in out


def test_unknown_app(platform: Platform) -> None:
    alice = platform.user("alice")
    src = source_tree(platform.tmp, WEB, alice)
    done = alice.push(src, "no-such-app")
    assert done.returncode != 0
    assert "App no-such-app not found" in done.stderr
    assert not (platform.config.repos / "no-such-app.git").exists()


def test_unknown_key(platform: Platform, tmp_path: Path) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    src = source_tree(platform.tmp, WEB, alice)
    stranger = tmp_path / "stranger"
    subprocess.run(  # noqa: S603 - an argument list
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)],
        check=True,
        timeout=30,
    )
    alice.key = stranger
    done = alice.push(src, app)
    assert done.returncode != 0
    assert "This SSH key is not registered" in done.stderr
    assert not (platform.config.repos / f"{app}.git").exists()


def test_someone_elses_app(platform: Platform) -> None:
    platform.user("admin")  # the first user is an administrator
    alice = platform.user("alice")
    bob = platform.user("bob")
    app = platform.create_app("alice")
    src = source_tree(platform.tmp, WEB, bob)
    done = bob.push(src, app)
    assert done.returncode != 0
    assert f"App {app} not found" in done.stderr
    assert not (platform.config.repos / f"{app}.git").exists()
    assert alice  # the owner is untouched


def test_only_git_commands(platform: Platform) -> None:
    alice = platform.user("alice")
    done = subprocess.run(  # noqa: S603 - an argument list
        [
            "ssh", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-i", str(alice.key),
            "-p", str(platform.ssh_port), "git@127.0.0.1", "ls /",
        ],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Only git-receive-pack and git-upload-pack are allowed here." in done.stderr


def test_http_needs_the_token(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    src = source_tree(platform.tmp, WEB, alice)
    url = f"http://alice:wrong@127.0.0.1:{platform.http_port}/{app}.git"
    done = alice.git(src, "push", url, "HEAD:master", timeout=60)
    assert done.returncode != 0
    assert [r.version for r in platform.releases(app)] == [1]


def test_http_non_default_branch(platform: Platform) -> None:
    alice = platform.user("alice")
    app = platform.create_app("alice")
    src = source_tree(platform.tmp, WEB, alice)
    out = refused(platform, app, alice.push(src, app, ref="HEAD:refs/heads/dev", http=True))
    assert "Pushes to dev are refused" in out


def test_large_http_push_is_received(platform: Platform) -> None:
    """Pushes over 1 MiB come chunked (no Content-Length); the bad Procfile stops it after."""
    alice = platform.user("alice")
    app = platform.create_app("alice")
    files = {"Procfile": "not a procfile\n", "blob.bin": os.urandom(3 * 1024 * 1024)}
    src = source_tree(platform.tmp, files, alice)
    out = refused(platform, app, alice.push(src, app, http=True))
    assert "The Procfile does not parse" in out
