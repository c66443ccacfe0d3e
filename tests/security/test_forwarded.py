"""Issue 17, item 7: the controller takes the client's address from X-Forwarded-For only
on connections from the router's own address, so a made-up header from the loopback
(anything on the machine) cannot dodge the sign-in limit per address. Through a real
uvicorn configured as `deisctl up` configures it, and the real router in front."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from deis.platform.server import forwarded_options
from deis.platform.wiring import build_app
from deis.settings import ROUTER_SOURCE, Settings, from_env
from tests.api.conftest import LIGHT, free_port
from tests.router.helpers import missing_nginx

ALLOWED = 10


@dataclass
class Served:
    api: str  # the controller's own address
    router_port: int
    settings: Settings


@contextmanager
def platform(tmp_path: Path, database_url: str) -> Iterator[Served]:
    reason = missing_nginx()
    if reason:
        pytest.fail(f"{reason}: run scripts/install.sh")
    port = free_port()
    settings = from_env(
        {},
        state_dir=tmp_path / "state",
        database_url=database_url,
        api_port=port,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        **{**LIGHT, "router": "nginx"},
        router_port=free_port(),
        router_https_port=free_port(),
        logs="none",
    )
    app = build_app(settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", **forwarded_options(settings)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", settings.router_port, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        app.state.context.store.close()


def login(client: httpx.Client, url: str, username: str, forwarded_for: str, **headers: str) -> int:
    response = client.post(
        f"{url}/v2/auth/login/",
        json={"username": username, "password": "wrong"},
        headers={"X-Forwarded-For": forwarded_for, **headers},
    )
    return response.status_code


def test_a_made_up_forwarded_for_does_not_dodge_the_limit(
    tmp_path: Path, database_url: str
) -> None:
    with (
        platform(tmp_path, database_url) as served,
        httpx.Client(timeout=10, trust_env=False) as client,
    ):
        register = client.post(
            f"{served.api}/v2/auth/register/",
            json={"username": "admin", "password": "pw-12345", "email": "a@example.com"},
        )
        assert register.status_code == 201
        # straight to the controller from the loopback, a new address claimed each time
        for n in range(ALLOWED):
            assert login(client, served.api, f"u{n}", f"203.0.113.{n}") == 401
        assert login(client, served.api, "u99", "203.0.113.99") == 429

        # through the router, a claimed address is kept by nginx but not believed: the
        # controller takes the address nginx saw (this one, 127.0.0.1, limited already)
        router = f"http://127.0.0.1:{served.router_port}"
        host = {"Host": f"deis.{served.settings.domain}"}
        assert login(client, router, "u100", "198.51.100.1", **host) == 429


def test_the_routers_forwarded_for_is_taken(tmp_path: Path, database_url: str) -> None:
    """From the router's own address the client nginx saw is taken: failures of one
    client are not held against another behind the same router."""
    with platform(tmp_path, database_url) as served:
        transport = httpx.HTTPTransport(local_address=ROUTER_SOURCE)
        with httpx.Client(timeout=10, trust_env=False, transport=transport) as client:
            for n in range(ALLOWED):
                assert login(client, served.api, f"u{n}", "203.0.113.9") == 401
            assert login(client, served.api, "u99", "203.0.113.9") == 429
            assert login(client, served.api, "u99", "203.0.113.10") == 401
