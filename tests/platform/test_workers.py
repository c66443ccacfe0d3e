"""DEIS_WORKERS: several API processes serve one socket; only the first starts the parts
that run, and they all stop with the platform."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from deis.platform.state import StateDir, read_pid

from .conftest import LIGHT, Instance, http, wait_for

pytestmark = pytest.mark.e2e

MakeInstance = Callable[[], Instance]
PASSWORD = "correct-horse-battery"


def workers_of(primary: int) -> set[int]:
    """The pids of the API worker processes of a primary."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--worker-of" in args and args[args.index(b"--worker-of") + 1] == str(primary).encode():
            found.add(int(entry.name))
    return found


def up(instance: Instance, workers: int, **env: str) -> None:
    result = instance.deisctl(
        "up", "--api-port", str(instance.api_port), *LIGHT,
        env={"DEIS_WORKERS": str(workers), "DEIS_LOGS": "none", **env},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_workers_serve_the_api_restart_and_stop_with_the_platform(
    make_instance: MakeInstance,
) -> None:
    platform = make_instance()
    up(platform, 3)
    primary = read_pid(StateDir(platform.state_dir))
    assert primary is not None
    assert wait_for(lambda: len(workers_of(primary)) == 2, 30)

    body = {"username": "ann", "password": PASSWORD, "email": "ann@example.com"}
    assert http("POST", f"{platform.url}/v2/auth/register/", json=body).status_code == 201
    login = http("POST", f"{platform.url}/v2/auth/login/", json=body)
    headers = {"Authorization": f"token {login.json()['token']}"}
    with httpx.Client(base_url=platform.url, headers=headers, trust_env=False, timeout=60) as c:
        assert c.post("/v2/apps/", json={"id": "shared"}).status_code == 201

        # Writes from every process, each on its own connection: ordered, none lost.
        def set_key(i: int) -> int:
            with httpx.Client(base_url=platform.url, headers=headers, trust_env=False) as one:
                values = {"values": {f"KEY_{i}": str(i)}}
                return one.post("/v2/apps/shared/config/", json=values, timeout=60).status_code

        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(set_key, range(20))) == [201] * 20
        releases = c.get("/v2/apps/shared/releases/").json()
        assert sorted(r["version"] for r in releases["results"]) == list(range(1, 22))
        values = c.get("/v2/apps/shared/config/").json()["values"]
        assert values == {f"KEY_{i}": str(i) for i in range(20)}

        # A worker that dies is replaced.
        victim = min(workers_of(primary))
        os.kill(victim, signal.SIGKILL)
        assert wait_for(lambda: len(workers_of(primary) - {victim}) == 2, 30)
        assert all(c.get("/v2/apps/").status_code == 200 for _ in range(20))

    remaining = workers_of(primary)
    result = platform.deisctl("down")
    assert result.returncode == 0, result.stderr
    assert wait_for(lambda: not (workers_of(primary) & remaining), 30)
