"""20 parallel config:set calls on one app make 20 releases with distinct, consecutive
versions and lose no key: through a real HTTP server, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import live_server

PARALLEL = 20


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[str]:
    with live_server(tmp_path, database_url=database_url) as url:
        yield url


def test_parallel_config_sets_make_consecutive_releases(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        user = {"username": "alice", "password": "pw", "email": "a@example.com"}
        assert client.post("/v2/auth/register/", json=user).status_code == 201
        token = client.post("/v2/auth/login/", json=user).json()["token"]
        headers = {"Authorization": f"token {token}"}
        assert client.post("/v2/apps/", json={"id": "busy"}, headers=headers).status_code == 201

    barrier = threading.Barrier(PARALLEL)

    def set_one(n: int) -> int:
        with httpx.Client(base_url=server, headers=headers, timeout=60) as c:
            barrier.wait()
            return c.post(
                "/v2/apps/busy/config/", json={"values": {f"KEY_{n}": str(n)}}
            ).status_code

    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(pool.map(set_one, range(PARALLEL)))
    assert statuses == [201] * PARALLEL

    with httpx.Client(base_url=server, headers=headers) as client:
        releases = client.get("/v2/apps/busy/releases/").json()
        values = client.get("/v2/apps/busy/config/").json()["values"]
    versions = sorted(r["version"] for r in releases["results"])
    assert versions == list(range(1, PARALLEL + 2))
    assert values == {f"KEY_{n}": str(n) for n in range(PARALLEL)}
