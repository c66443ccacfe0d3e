"""The routes marked `@any_process` are answered by an extra API process (a worker),
whose context has no runtime, router, log or build output store: each of them must
answer there from the database alone, and a config change asks the primary to carry out
its release. Every other request is handed to the primary (here there is none, so it
answers 503 without running anything)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from deis.api.placement import is_any_process
from deis.domain.releases import Released
from deis.platform.forwarding import PRIMARY_DOWN
from deis.platform.primary import NOT_CARRIED_OUT
from deis.platform.wiring import build_worker_app
from deis.settings import from_env
from deis.store.engine import is_sqlite
from tests.api.conftest import Api, User
from tests.api.test_keys_perms_hooks import ed25519_public
from tests.domain.factories import make_cert

EXPECTED = {
    "/v2",
    "/v2/platform",
    "/v2/auth/whoami",
    "/v2/users",
    "/v2/admin/perms",
    "/v2/apps",
    "/v2/apps/{app_id}",
    "/v2/apps/{app_id}/perms",
    "/v2/apps/{app_id}/builds",
    "/v2/apps/{app_id}/builds/{build_uuid}",
    "/v2/apps/{app_id}/config",
    "/v2/apps/{app_id}/releases",
    "/v2/apps/{app_id}/releases/v{version}",
    "/v2/apps/{app_id}/domains",
    "/v2/apps/{app_id}/settings",
    "/v2/apps/{app_id}/whitelist",
    "/v2/apps/{app_id}/tls",
    "/v2/apps/{app_id}/tls/auto",
    "/v2/apps/{app_id}/cron",
    "/v2/apps/{app_id}/cron/{name}",
    "/v2/apps/{app_id}/sleep",
    "/v2/certs",
    "/v2/certs/{name}",
    "/v2/keys",
    "/v2/keys/{key_id}",
}


# The only route marked @any_process that writes: its follow-up goes to the primary.
WRITES = {("POST", "/v2/apps/{app_id}/config")}


def any_process_paths(routes: list[BaseRoute]) -> set[str]:
    marked = [r for r in routes if is_any_process(r)]
    writes = {
        (method, getattr(r, "path", "").rstrip("/"))
        for r in marked
        for method in getattr(r, "methods", set()) - {"GET", "HEAD"}
    }
    assert writes == WRITES
    return {getattr(r, "path", "").rstrip("/") for r in marked}


def worker_client(api: Api, database_url: str, tmp_path: Path) -> TestClient:
    settings = from_env(
        {},
        state_dir=api.state_dir,
        database_url=database_url,
        builder_key="test-builder-key",
        router_port=8080,
        runtime="record",
        router="none",
        builder="none",
        logs="none",
    )
    return TestClient(build_worker_app(settings, tmp_path / "no-primary.sock"))


def test_every_any_process_route_answers_in_a_worker_from_the_database(
    api: Api, admin: User, alice: User, database_url: str, tmp_path: Path
) -> None:
    alice.create_app("anywhere")
    build = alice.post("/v2/apps/anywhere/builds/", {"image": "x/y:1"}).json()
    admin.post("/v2/keys/", {"id": "laptop", "public": ed25519_public()})
    pair = make_cert(
        ec.generate_private_key(ec.SECP256R1()), "any.example.com", ["any.example.com"]
    )
    alice.post("/v2/certs/", {"name": "anycert", "certificate": pair.certificate, "key": pair.key})
    job = {"name": "anycert", "schedule": "@daily", "command": "true"}  # {name} of both
    assert alice.post("/v2/apps/anywhere/cron/", job).status_code == 201
    values = {
        "app_id": "anywhere",
        "build_uuid": build["uuid"],
        "version": "2",
        "name": "anycert",
        "key_id": "laptop",
    }
    with worker_client(api, database_url, tmp_path) as worker:
        templates = any_process_paths(worker.app.api.router.routes)  # type: ignore[attr-defined]
        assert templates == EXPECTED
        for template in sorted(templates):
            path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
            answer = worker.get(path + "/", headers=admin.headers)  # admins see everything
            assert answer.status_code == 200, (path, answer.text)
        assert worker.get("/v2/apps/", headers=alice.headers).json()["count"] == 1


def test_a_worker_hands_on_what_acts_or_needs_the_primary(
    api: Api, alice: User, database_url: str, tmp_path: Path
) -> None:
    alice.create_app("handed")
    with worker_client(api, database_url, tmp_path) as worker:
        for method, path in [
            ("GET", "/v2/apps/handed/pods/"),
            ("GET", "/v2/apps/handed/logs"),
            ("POST", "/v2/apps/handed/releases/rollback/"),
            ("GET", "/v2/addons/postgres-calm-1234/backups/schedule"),
            ("PUT", "/v2/addons/postgres-calm-1234/backups/schedule"),
            ("GET", "/healthz"),
            ("GET", "/dashboard/"),
        ]:
            answer = worker.request(method, path, headers=alice.headers, json={"values": {}})
            assert answer.status_code == 503 and answer.json() == {"detail": PRIMARY_DOWN}


class RecordingPrimary:
    def __init__(self) -> None:
        self.released: list[Released] = []

    def follow_up(self, released: Released) -> None:
        self.released.append(released)


def test_a_worker_makes_the_release_of_a_config_change_and_hands_on_its_follow_up(
    api: Api, alice: User, database_url: str, tmp_path: Path
) -> None:
    """On PostgreSQL; on SQLite (one writer at a time) the worker hands the change on."""
    alice.create_app("changed")
    with worker_client(api, database_url, tmp_path) as worker:
        answer = worker.post(
            "/v2/apps/changed/config/", json={"values": {"A": "1"}}, headers=alice.headers
        )
        assert answer.status_code == 503
        if is_sqlite(database_url):  # handed on to the primary, which is not there
            assert answer.json() == {"detail": PRIMARY_DOWN}
            assert alice.get("/v2/apps/changed/releases/").json()["count"] == 1
            return
        assert answer.json()["detail"].startswith(NOT_CARRIED_OUT)  # saved, not carried out
        primary = RecordingPrimary()
        context = worker.app.state.context  # type: ignore[attr-defined]
        worker.app.state.context = replace(context, primary=primary)  # type: ignore[attr-defined]
        answer = worker.post(
            "/v2/apps/changed/config/",
            json={"values": {"DEIS_ROUTER_BODY_SIZE": "5m"}},
            headers=alice.headers,
        )
        assert answer.status_code == 201
        assert answer.json()["values"] == {"A": "1", "DEIS_ROUTER_BODY_SIZE": "5m"}
        unchanged = worker.post(
            "/v2/apps/changed/config/", json={"values": {"A": "1"}}, headers=alice.headers
        )
        assert unchanged.status_code == 201  # nothing changed: no release, no follow-up
    assert primary.released == [
        Released("changed", "alice added DEIS_ROUTER_BODY_SIZE", publish=True, deploy=False)
    ]
    versions = [r["version"] for r in alice.get("/v2/apps/changed/releases/").json()["results"]]
    assert versions == [3, 2, 1]


def test_the_follow_up_route_refuses_a_client(api: Api, alice: User) -> None:
    alice.create_app("guarded")
    body = {"app_id": "guarded", "summary": "forged"}
    assert alice.post("/internal/follow-up", body).status_code == 404
    assert "forged" not in alice.get("/v2/apps/guarded/logs").text
