"""A platform with the real router (nginx) in front of the API: the API over a real
database through the ASGI app, releases recorded (nothing runs), and test backends
standing in for each app's web replicas."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from deis.platform.wiring import build_app
from deis.router.nginx import NginxRouter
from deis.settings import from_env
from tests.api import conftest as api_fixtures
from tests.api.conftest import LIGHT, Api, User
from tests.router.helpers import Backend, curl, free_port, missing_nginx

# The API tests' fixtures, for the attacks that need no router.
database_url = api_fixtures.database_url
api = api_fixtures.api
admin = api_fixtures.admin
alice = api_fixtures.alice
bob = api_fixtures.bob


@dataclass
class RoutedPlatform:
    api: Api
    router: NginxRouter
    started: list[Backend]

    def serve(self, app_id: str) -> Backend:
        """A backend answering as the app's web replica (its name is the app's)."""
        backend = Backend.start(app_id)
        self.started.append(backend)
        self.router.set_peers(app_id, [backend.address])
        return backend

    def who_answers(self, host: str) -> str:
        """The backend name that answers http://HOST/ through the router (or the status)."""
        port = self.router.config.http_port
        result = curl(f"http://127.0.0.1:{port}/", "-H", f"Host: {host}")
        if result.status != 200:
            return str(result.status)
        return str(result.json()["backend"])


@pytest.fixture
def routed(database_url: str, tmp_path: Path) -> Iterator[RoutedPlatform]:
    reason = missing_nginx()
    if reason:
        pytest.fail(f"{reason}: run scripts/install.sh")
    settings = from_env(
        {},
        state_dir=tmp_path / "state",
        database_url=database_url,
        builder_key="test-builder-key",
        **{**LIGHT, "router": "nginx"},
        router_port=free_port(),
        router_https_port=free_port(),
        logs="none",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    app = build_app(settings)
    started: list[Backend] = []
    with TestClient(app) as client:
        router = app.state.context.router
        assert isinstance(router, NginxRouter)
        try:
            yield RoutedPlatform(Api(client, settings.state_dir), router, started)
        finally:
            for backend in started:
                backend.stop()
    app.state.context.store.close()


@pytest.fixture
def users(routed: RoutedPlatform) -> Callable[[str], User]:
    routed.api.register("admin")  # the first user is an administrator
    return routed.api.register
