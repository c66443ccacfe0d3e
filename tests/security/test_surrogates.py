"""Issue 17, item 6: a lone UTF-16 surrogate in a JSON string ("\\ud800") is a 400 on the
field that holds it, on every route that takes a body (it was a 500 on 11 routes, and a
config value holding one was stored and then broke every GET config and deploy)."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api, User

LONE = "\\ud800"  # as a client sends it, escaped in the JSON text

ROUTES = [
    ("POST", "/v2/auth/login/", '{"username": "alice", "password": "x%s"}', "password"),
    (
        "POST",
        "/v2/auth/register/",
        '{"username": "zed", "password": "p%s", "email": "z@example.com"}',
        "password",
    ),
    (
        "POST",
        "/v2/auth/passwd/",
        '{"password": "s3cret-pw", "new_password": "n%s"}',
        "new_password",
    ),
    ("POST", "/v2/auth/tokens/", '{"username": "a%s"}', "username"),
    ("DELETE", "/v2/auth/cancel/", '{"username": "a%s"}', "username"),
    ("POST", "/v2/apps/", '{"id": "a%s"}', "id"),
    ("POST", "/v2/apps/web/", '{"owner": "b%s"}', "owner"),
    ("POST", "/v2/apps/web/config/", '{"values": {"FOO": "bar%s"}}', "values"),
    ("POST", "/v2/apps/web/config/", '{"values": {"F%s": "bar"}}', "values"),
    ("POST", "/v2/apps/web/builds/", '{"image": "x/y:%s"}', "image"),
    ("POST", "/v2/apps/web/run/", '{"command": "echo %s"}', "command"),
    ("POST", "/v2/apps/web/perms/", '{"username": "b%s"}', "username"),
    ("POST", "/v2/admin/perms/", '{"username": "b%s"}', "username"),
    ("POST", "/v2/apps/web/domains/", '{"domain": "a%s.example.com"}', "domain"),
    ("POST", "/v2/apps/web/settings/", '{"label": {"team": "x%s"}}', "label"),
    ("POST", "/v2/apps/web/whitelist/", '{"addresses": ["1.2.3.4%s"]}', "addresses"),
    ("POST", "/v2/apps/web/scale/", '{"web%s": 1}', None),
    ("POST", "/v2/keys/", '{"id": "k%s", "public": "ssh-ed25519 AAAA"}', "id"),
    ("POST", "/v2/certs/", '{"name": "c%s", "certificate": "x", "key": "y"}', "name"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), ROUTES)
def test_a_lone_surrogate_is_a_field_error(
    api: Api, admin: User, alice: User, method: str, path: str, body: str, field: str | None
) -> None:
    alice.create_app("web")
    response = api.client.request(
        method,
        path,
        content=(body % LONE).encode(),
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    if field is not None:
        assert field in response.json(), response.text


def test_a_config_value_with_a_lone_surrogate_is_never_stored(api: Api, alice: User) -> None:
    alice.create_app("cfg")
    refused = api.client.post(
        "/v2/apps/cfg/config/",
        content=b'{"values": {"FOO": "\\ud800"}}',
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert refused.status_code == 400, refused.text
    assert refused.json() == {
        "values": ["Text must be valid Unicode: it holds a lone UTF-16 surrogate (like \\ud800)."]
    }
    shown = alice.get("/v2/apps/cfg/config/")
    assert shown.status_code == 200 and shown.json()["values"] == {}
    # a proper pair (an emoji) is text like any other
    ok = api.client.post(
        "/v2/apps/cfg/config/",
        content=b'{"values": {"FOO": "\\ud83d\\ude00"}}',
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert ok.status_code == 201, ok.text
    assert alice.get("/v2/apps/cfg/config/").json()["values"] == {"FOO": "\U0001f600"}
