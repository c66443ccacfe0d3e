"""The routes marked `@any_process` are answered by an extra API process (a worker),
whose context has no runtime, router, log or build output store: each of them must
answer there from the database alone. Every other request is handed to the primary
(here there is none, so it answers 503 without running anything)."""

from __future__ import annotations

import re
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from deis.api.placement import is_any_process
from deis.platform.forwarding import PRIMARY_DOWN
from deis.platform.wiring import build_worker_app
from deis.settings import from_env
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
    "/v2/certs",
    "/v2/certs/{name}",
    "/v2/keys",
    "/v2/keys/{key_id}",
}


def any_process_paths(routes: list[BaseRoute]) -> set[str]:
    marked = [r for r in routes if is_any_process(r)]
    assert all(getattr(r, "methods", set()) <= {"GET", "HEAD"} for r in marked)
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
            ("POST", "/v2/apps/handed/config/"),
            ("GET", "/healthz"),
            ("GET", "/dashboard/"),
        ]:
            answer = worker.request(method, path, headers=alice.headers, json={"values": {}})
            assert answer.status_code == 503 and answer.json() == {"detail": PRIMARY_DOWN}
