"""Apps: create (v1, config, default domain), list, show, transfer, destroy."""

from __future__ import annotations

import re

from tests.api.conftest import Api, User


def test_create_makes_v1_and_the_default_domain(alice: User) -> None:
    app = alice.create_app("myapp")
    assert app["id"] == "myapp" and app["owner"] == "alice"
    assert app["structure"] == {}
    assert app["url"] == "myapp.localhost:8080"
    assert set(app) == {"uuid", "id", "owner", "structure", "url", "created", "updated"}
    releases = alice.get("/v2/apps/myapp/releases/").json()
    assert releases["count"] == 1
    v1 = releases["results"][0]
    assert v1["version"] == 1 and v1["build"] is None
    assert v1["summary"] == "alice created initial release"
    domains = alice.get("/v2/apps/myapp/domains/").json()["results"]
    assert [d["domain"] for d in domains] == ["myapp"]


def test_create_without_an_id_generates_a_valid_name(alice: User) -> None:
    response = alice.post("/v2/apps/", {})
    assert response.status_code == 201
    assert re.fullmatch(r"[a-z][a-z0-9-]{0,62}", response.json()["id"])


def test_create_refuses_duplicates_invalid_and_reserved_names(alice: User, bob: User) -> None:
    alice.create_app("taken")
    dup = bob.post("/v2/apps/", {"id": "taken"})
    assert dup.status_code == 400
    assert dup.json() == {"id": ["Application with this id already exists."]}
    for bad in ("Upper", "1starts-with-digit", "under_score", "a" * 64, "deis", "ends-"):
        response = alice.post("/v2/apps/", {"id": bad})
        assert response.status_code == 400, bad
        assert "id" in response.json(), bad


def test_list_shows_own_and_shared_apps_and_admins_see_all(
    admin: User, alice: User, bob: User
) -> None:
    alice.create_app("alices")
    bob.create_app("bobs")
    bob.create_app("shared")
    assert bob.post("/v2/apps/shared/perms/", {"username": "alice"}).status_code == 201
    assert [a["id"] for a in alice.get("/v2/apps/").json()["results"]] == ["alices", "shared"]
    assert [a["id"] for a in bob.get("/v2/apps/").json()["results"]] == ["bobs", "shared"]
    assert admin.get("/v2/apps/").json()["count"] == 3


def test_strangers_get_404_not_403(alice: User, bob: User) -> None:
    alice.create_app("private")
    for response in (
        bob.get("/v2/apps/private/"),
        bob.delete("/v2/apps/private/"),
        bob.post("/v2/apps/private/config/", {"values": {"A": "1"}}),
    ):
        assert response.status_code == 404
    assert bob.get("/v2/apps/nonexistent/").status_code == 404


def test_transfer_changes_the_owner(alice: User, bob: User) -> None:
    alice.create_app("moving")
    response = alice.post("/v2/apps/moving/", {"owner": "bob"})
    assert response.status_code == 200
    assert response.json()["owner"] == "bob"
    assert alice.get("/v2/apps/moving/").status_code == 404
    assert bob.get("/v2/apps/moving/").json()["owner"] == "bob"


def test_transfer_to_an_unknown_user_names_the_field(alice: User) -> None:
    alice.create_app("stay")
    response = alice.post("/v2/apps/stay/", {"owner": "ghost"})
    assert response.status_code == 400
    assert "owner" in response.json()


def test_destroy_removes_the_app_and_everything_it_had(api: Api, alice: User) -> None:
    alice.create_app("doomed")
    alice.post("/v2/apps/doomed/config/", {"values": {"A": "1"}})
    alice.post("/v2/apps/doomed/domains/", {"domain": "doomed.example.com"})
    alice.post("/v2/apps/doomed/builds/", {"image": "example/img:1"})
    desired = api.state_dir / "runtime" / "desired" / "doomed.json"
    assert desired.exists()
    assert alice.delete("/v2/apps/doomed/").status_code == 204
    assert alice.get("/v2/apps/doomed/").status_code == 404
    assert not desired.exists()
    again = alice.create_app("doomed")
    assert again["id"] == "doomed"
    assert alice.get("/v2/apps/doomed/releases/").json()["count"] == 1
    domain = alice.post("/v2/apps/doomed/domains/", {"domain": "doomed.example.com"})
    assert domain.status_code == 201
