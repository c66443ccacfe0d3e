"""Helpers shared by the end-to-end tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Deis, Platform


def profile(deis: Deis) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(deis.profile_file.read_text())
    return data


def api_get(platform: Platform, deis: Deis, path: str) -> Any:
    """Ask the controller directly, with the client's token (to check what a command did)."""
    response = httpx.get(
        f"{platform.url}{path}",
        headers={"Authorization": f"token {profile(deis)['token']}"},
        timeout=10,
        trust_env=False,
    )
    response.raise_for_status()
    return response.json()


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(  # noqa: S603
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    )
    return done.stdout


def git_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    return path


def remote_urls(repo: Path) -> dict[str, str]:
    urls = {}
    for line in git(repo, "remote", "-v").splitlines():
        if line.endswith("(push)"):
            name, url = line.split("\t")
            urls[name] = url.split(" ")[0]
    return urls


def in_a_terminal(
    deis: Deis, *args: str, env: dict[str, str | None] | None = None, rows: int = 24
) -> tuple[int, str]:
    """`deis ARGS` with a real pty as its terminal (stdin, stdout and stderr): its exit code
    and what it printed, escape sequences included."""
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        deis.binary,
        list(args),
        env=deis.environment(env),
        cwd=str(deis.cwd),
        dimensions=(rows, 80),
        timeout=60,
    )
    try:
        child.expect(pexpect.EOF)
        output = child.before.decode()
    finally:
        child.close()
    assert child.exitstatus is not None, output
    return child.exitstatus, output


def log_in_through(deis: Deis, url: str, user: Deis) -> Deis:
    """Log `deis` in as `user` (whose password is the fixtures' `pass-NAME`) at `url`."""
    deis("login", url, "--username", user.username, "--password", f"pass-{user.username}")
    deis.username = user.username
    return deis
