"""Every app route with each of the four roles: owner and admins may do everything,
collaborators all but destroy, transfer and managing perms (403), strangers get 404."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.api.conftest import Api, User

READ, MANAGE = "read", "manage"


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    body: object
    ok: int  # the status when allowed
    level: str = READ


A = "/v2/apps/target"
CASES = [
    Case("GET", A, None, 200),
    Case("GET", f"{A}/builds", None, 200),
    Case("POST", f"{A}/builds", {"image": "example/web:2", "procfile": {"web": "serve"}}, 201),
    Case("GET", f"{A}/config", None, 200),
    Case("POST", f"{A}/config", {"values": {"ROLE_CHECK": "1"}}, 201),
    Case("GET", f"{A}/releases", None, 200),
    Case("GET", f"{A}/releases/v1", None, 200),
    Case("POST", f"{A}/releases/rollback", {}, 201),
    Case("GET", f"{A}/pods", None, 503),
    Case("GET", f"{A}/pods/web", None, 503),
    Case("POST", f"{A}/pods/restart", None, 503),
    Case("POST", f"{A}/pods/web/restart", None, 503),
    Case("POST", f"{A}/scale", {"web": 2}, 204),
    Case("POST", f"{A}/run", {"command": "true"}, 503),
    Case("GET", f"{A}/logs", None, 503),
    Case("GET", f"{A}/domains", None, 200),
    Case("POST", f"{A}/domains", {"domain": "role.example.com"}, 201),
    Case("DELETE", f"{A}/domains/role.example.com", None, 204),
    Case("GET", f"{A}/settings", None, 200),
    Case("POST", f"{A}/settings", {"maintenance": True}, 201),
    Case("GET", f"{A}/whitelist", None, 200),
    Case("POST", f"{A}/whitelist", {"addresses": ["10.1.0.0/16"]}, 201),
    Case("DELETE", f"{A}/whitelist", {"addresses": ["10.1.0.0/16"]}, 204),
    Case("GET", f"{A}/tls", None, 200),
    Case("POST", f"{A}/tls", {"https_enforced": True}, 201),
    Case("GET", f"{A}/perms", None, 200),
    Case("POST", f"{A}/perms", {"username": "carol"}, 201, MANAGE),
    Case("DELETE", f"{A}/perms/carol", None, 204, MANAGE),
    Case("POST", A, {"owner": "owner"}, 200, MANAGE),
    Case("DELETE", A, None, 204, MANAGE),  # last: it removes the app
]


def expected(case: Case, role: str) -> int:
    if role in ("owner", "admin"):
        return case.ok
    if role == "stranger":
        return 404
    return 403 if case.level == MANAGE else case.ok


@pytest.fixture
def people(api: Api) -> dict[str, User]:
    admin = api.register("admin")
    people = {name: api.register(name) for name in ("owner", "collaborator", "stranger", "carol")}
    people["admin"] = admin
    owner = people["owner"]
    owner.create_app("target")
    assert owner.post(f"{A}/perms", {"username": "collaborator"}).status_code == 201
    assert (
        owner.post(
            f"{A}/builds", {"image": "example/web:1", "procfile": {"web": "serve"}}
        ).status_code
        == 201
    )
    return people


@pytest.mark.parametrize("role", ["owner", "collaborator", "admin", "stranger"])
def test_every_app_route_with_each_role(people: dict[str, User], role: str) -> None:
    user = people[role]
    failures = []
    for case in CASES:
        response = user.client.request(case.method, case.path, json=case.body, headers=user.headers)
        want = expected(case, role)
        if response.status_code != want:
            failures.append(
                f"{case.method} {case.path}: {response.status_code} != {want}: {response.text}"
            )
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ["owner", "collaborator", "stranger"])
def test_admin_only_routes_refuse_other_users(people: dict[str, User], role: str) -> None:
    user = people[role]
    for method, path, body in (
        ("GET", "/v2/users", None),
        ("GET", "/v2/admin/perms", None),
        ("POST", "/v2/admin/perms", {"username": "carol"}),
        ("DELETE", "/v2/admin/perms/admin", None),
    ):
        response = user.client.request(method, path, json=body, headers=user.headers)
        assert response.status_code == 403, (method, path, response.text)


def test_admin_only_routes_work_for_admins(people: dict[str, User]) -> None:
    admin = people["admin"]
    assert admin.get("/v2/users").status_code == 200
    assert admin.post("/v2/admin/perms", {"username": "carol"}).status_code == 201
    assert admin.delete("/v2/admin/perms/carol").status_code == 204


def test_unauthenticated_requests_are_401_everywhere(api: Api, people: dict[str, User]) -> None:
    for case in CASES:
        response = api.client.request(case.method, case.path, json=case.body)
        assert response.status_code == 401, (case.method, case.path)
