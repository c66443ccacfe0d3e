"""API tests: the ASGI app over a real database, SQLite always and PostgreSQL when
DEIS_TEST_DATABASE_URL is set (each test gets a fresh database either way)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from deis.platform.wiring import build_app
from deis.settings import from_env
from tests.databases import database_urls, fresh_database

BACKENDS = database_urls()

# The API alone: releases are recorded, nothing runs, nothing routes, no git server.
LIGHT = {"runtime": "record", "router": "none", "builder": "none"}


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


@dataclass
class Api:
    """A test client plus helpers to make users who act through it."""

    client: TestClient
    state_dir: Path

    def register(self, username: str, *, password: str = "s3cret-pw") -> User:
        response = self.client.post(
            "/v2/auth/register/",
            json={"username": username, "password": password, "email": f"{username}@example.com"},
        )
        assert response.status_code == 201, response.text
        login = self.client.post(
            "/v2/auth/login/", json={"username": username, "password": password}
        )
        assert login.status_code == 200, login.text
        return User(self.client, username, login.json()["token"])


@dataclass
class User:
    client: TestClient
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def get(self, path: str, **kwargs: object):  # type: ignore[no-untyped-def]
        return self.client.get(path, headers=self.headers, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, json: object = None, **kwargs: object):  # type: ignore[no-untyped-def]
        return self.client.post(path, json=json, headers=self.headers, **kwargs)  # type: ignore[arg-type]

    def delete(self, path: str, json: object = None):  # type: ignore[no-untyped-def]
        return self.client.request("DELETE", path, json=json, headers=self.headers)

    def patch(self, path: str, json: object = None):  # type: ignore[no-untyped-def]
        return self.client.request("PATCH", path, json=json, headers=self.headers)

    def create_app(self, app_id: str) -> dict[str, object]:
        response = self.post("/v2/apps/", {"id": app_id})
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    settings = from_env(
        {},
        state_dir=tmp_path / "state",
        database_url=database_url,
        builder_key="test-builder-key",
        router_port=8080,
        **LIGHT,
        logs="none",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    app = build_app(settings)
    with TestClient(app) as client:
        yield Api(client, settings.state_dir)
    app.state.context.store.close()


@pytest.fixture
def admin(api: Api) -> User:
    return api.register("admin")  # the first user is an administrator


@pytest.fixture
def alice(api: Api, admin: User) -> User:
    return api.register("alice")


@pytest.fixture
def bob(api: Api, admin: User) -> User:
    return api.register("bob")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(tmp_path: Path, **settings: Any) -> Iterator[str]:
    """The app served by a real uvicorn on a free port, in a thread; its base URL."""
    port = free_port()
    app = build_app(
        from_env(
            {},
            state_dir=tmp_path / "state",
            api_port=port,
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            **{**LIGHT, **settings},
        )  # fmt: skip
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.context.store.close()
