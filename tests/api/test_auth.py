"""Registration, login, tokens, passwords, cancelling, users and administrators."""

from __future__ import annotations

import hashlib

from tests.api.conftest import Api, User


def test_first_user_is_admin_and_later_ones_are_not(api: Api, admin: User, alice: User) -> None:
    assert admin.get("/v2/auth/whoami/").json()["is_superuser"] is True
    me = alice.get("/v2/auth/whoami/").json()
    assert me["username"] == "alice" and me["is_superuser"] is False
    assert me["email"] == "alice@example.com"
    assert set(me) == {
        "id", "username", "email", "first_name", "last_name", "is_superuser",
        "is_staff", "is_active", "date_joined", "last_login",
    }  # fmt: skip


def test_register_refuses_duplicates_and_bad_fields(api: Api, alice: User) -> None:
    again = api.client.post(
        "/v2/auth/register/", json={"username": "alice", "password": "x", "email": "a@b.c"}
    )
    assert again.status_code == 400
    assert again.json() == {"username": ["A user with that username already exists."]}
    bad = api.client.post(
        "/v2/auth/register/", json={"username": "no spaces", "password": "x", "email": "a@b.c"}
    )
    assert bad.status_code == 400 and "username" in bad.json()
    no_email = api.client.post("/v2/auth/register/", json={"username": "zed", "password": "x"})
    assert no_email.status_code == 400 and "email" in no_email.json()


def test_login_with_wrong_password_is_refused(api: Api, alice: User) -> None:
    response = api.client.post("/v2/auth/login/", json={"username": "alice", "password": "bad"})
    assert response.status_code == 401
    assert response.json()["detail"] == "Unable to log in with provided credentials."


def test_tokens_are_stored_only_as_digests(database_url: str, alice: User) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        digests = [row[0] for row in conn.execute(text("SELECT digest FROM tokens"))]
    engine.dispose()
    assert hashlib.sha256(alice.token.encode()).hexdigest() in digests
    assert alice.token not in digests


def test_failed_logins_are_rate_limited(api: Api, alice: User) -> None:
    for _ in range(10):
        bad = {"username": "alice", "password": "wrong"}
        assert api.client.post("/v2/auth/login/", json=bad).status_code == 401
    good = {"username": "alice", "password": "s3cret-pw"}
    response = api.client.post("/v2/auth/login/", json=good)
    assert response.status_code == 429
    assert "Too many" in response.json()["detail"]


def test_passwd_changes_the_password_and_keeps_the_session_as_deis_does(
    api: Api, alice: User
) -> None:
    wrong = alice.post("/v2/auth/passwd/", {"password": "nope", "new_password": "new-pw"})
    assert wrong.status_code == 400 and "password" in wrong.json()
    ok = alice.post("/v2/auth/passwd/", {"password": "s3cret-pw", "new_password": "new-pw"})
    assert ok.status_code == 200
    assert alice.get("/v2/auth/whoami/").status_code == 200
    login = api.client.post("/v2/auth/login/", json={"username": "alice", "password": "new-pw"})
    assert login.status_code == 200
    old = api.client.post("/v2/auth/login/", json={"username": "alice", "password": "s3cret-pw"})
    assert old.status_code == 401


def test_admin_sets_another_users_password_but_users_cannot(
    api: Api, admin: User, alice: User, bob: User
) -> None:
    denied = alice.post("/v2/auth/passwd/", {"new_password": "x", "username": "bob"})
    assert denied.status_code == 403
    ok = admin.post("/v2/auth/passwd/", {"new_password": "bobs-new", "username": "bob"})
    assert ok.status_code == 200
    assert bob.get("/v2/auth/whoami/").status_code == 401  # signed out everywhere
    login = api.client.post("/v2/auth/login/", json={"username": "bob", "password": "bobs-new"})
    assert login.status_code == 200


def test_regenerate_token(api: Api, alice: User) -> None:
    response = alice.post("/v2/auth/tokens/", {})
    assert response.status_code == 200
    new = response.json()["token"]
    assert alice.get("/v2/auth/whoami/").status_code == 401
    assert (
        api.client.get("/v2/auth/whoami/", headers={"Authorization": f"token {new}"}).json()[
            "username"
        ]
        == "alice"
    )


def test_admin_regenerates_all_tokens(api: Api, admin: User, alice: User) -> None:
    assert alice.post("/v2/auth/tokens/", {"all": True}).status_code == 403
    assert admin.post("/v2/auth/tokens/", {"all": True}).status_code == 200
    assert alice.get("/v2/auth/whoami/").status_code == 401


def test_cancel_is_refused_while_the_user_owns_apps(api: Api, alice: User) -> None:
    alice.create_app("keeper")
    refused = alice.delete("/v2/auth/cancel/")
    assert refused.status_code == 409
    assert "keeper" in refused.json()["detail"]
    assert alice.delete("/v2/apps/keeper/").status_code == 204
    assert alice.delete("/v2/auth/cancel/").status_code == 204
    assert alice.get("/v2/auth/whoami/").status_code == 401


def test_admin_cancels_another_user(api: Api, admin: User, alice: User, bob: User) -> None:
    assert alice.delete("/v2/auth/cancel/", {"username": "bob"}).status_code == 403
    assert admin.delete("/v2/auth/cancel/", {"username": "bob"}).status_code == 204
    assert admin.delete("/v2/auth/cancel/", {"username": "bob"}).status_code == 404


def test_users_list_is_for_admins(api: Api, admin: User, alice: User) -> None:
    assert alice.get("/v2/users/").status_code == 403
    listed = admin.get("/v2/users/").json()
    assert listed["count"] == 2
    assert {u["username"] for u in listed["results"]} == {"admin", "alice"}


def test_admin_perms_grant_list_and_revoke(api: Api, admin: User, alice: User) -> None:
    assert alice.get("/v2/admin/perms/").status_code == 403
    assert admin.post("/v2/admin/perms/", {"username": "alice"}).status_code == 201
    listed = admin.get("/v2/admin/perms/").json()
    assert {"username": "alice", "is_superuser": True} in listed["results"]
    assert alice.get("/v2/users/").status_code == 200
    assert admin.delete("/v2/admin/perms/alice/").status_code == 204
    assert alice.get("/v2/users/").status_code == 403
    assert admin.post("/v2/admin/perms/", {"username": "ghost"}).status_code == 404


def _with_mode(api: Api, mode: str) -> None:
    from dataclasses import replace

    app = api.client.app
    app.state.context = replace(app.state.context, registration_mode=mode)  # type: ignore[attr-defined]


def test_registration_modes(api: Api, admin: User) -> None:
    body = {"username": "carol", "password": "pw", "email": "c@example.com"}
    _with_mode(api, "disabled")
    refused = api.client.post("/v2/auth/register/", json=body)
    assert refused.status_code == 403 and "disabled" in refused.json()["detail"]
    _with_mode(api, "admin_only")
    assert api.client.post("/v2/auth/register/", json=body).status_code == 403
    created = api.client.post("/v2/auth/register/", json=body, headers=admin.headers)
    assert created.status_code == 201
