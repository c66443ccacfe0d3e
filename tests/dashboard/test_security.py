"""What the dashboard must refuse: strangers, hostile values, changes without the CSRF
token, and a dashboard that changes the REST API."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.dashboard.conftest import PASSWORD, ApiUser, Server, screenshot, sign_in

HOSTILE = "<script>alert('xss')</script><img src=x onerror=alert(1)>"


def test_a_stranger_cannot_see_someone_elses_app(
    page: Any, server: Server, alice: ApiUser, bob: ApiUser
) -> None:
    alice.app("private")
    alice.call("POST", "/v2/apps/private/config/", {"values": {"TOKEN": "alices-secret"}})
    sign_in(page, "bob")
    expect(page.get_by_role("main")).to_contain_text("No apps yet")
    for path in ("/apps/private", "/apps/private/config", "/apps/private/releases",
                 "/apps/private/logs", "/apps/private/row",
                 "/apps/private/config/value?key=TOKEN"):  # fmt: skip
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        assert "alices-secret" not in page.content()
    expect(page.get_by_role("alert")).to_have_text("App private not found.")
    screenshot(page, "stranger-404")

    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    refused = page.request.post(
        "/apps/private/scale", form={"csrf": csrf, "count.web": "5"}, max_redirects=0
    )
    assert refused.status == 404
    refused = page.request.post(
        "/apps/private/config", form={"csrf": csrf, "key": "X", "value": "1"}, max_redirects=0
    )
    assert refused.status == 404
    assert len(alice.releases("private")) == 3


def test_a_collaborator_sees_a_shared_app(page: Any, alice: ApiUser, bob: ApiUser) -> None:
    alice.app("shared")
    assert alice.call("POST", "/v2/apps/shared/perms/", {"username": "bob"}).status_code == 201
    sign_in(page, "bob")
    page.get_by_role("link", name="shared", exact=True).click()
    expect(page.locator(".facts")).to_contain_text("Shared with")


def test_hostile_values_show_as_text(page: Any, server: Server, admin: ApiUser) -> None:
    server.user("mallory", first_name=HOSTILE[:150])
    admin.app("target")
    admin.call("POST", "/v2/apps/target/config/", {"values": {"EVIL": HOSTILE}})
    server.context.logs.append("target", [f"2026-11-27T12:00:00Z target[web.1]: {HOSTILE}"])  # type: ignore[attr-defined]
    sign_in(page, "admin")

    page.goto("/apps/target/config")
    page.get_by_role("link", name="Reveal the value of EVIL").click()
    expect(page.locator("code.revealed")).to_have_text(HOSTILE)
    page.goto("/apps/target/config?reveal=EVIL")  # the same without JavaScript
    expect(page.locator("code.revealed")).to_have_text(HOSTILE)
    screenshot(page, "xss-config")

    page.get_by_label("Name", exact=True).fill("MORE")
    page.get_by_label("Value", exact=True).fill(HOSTILE)
    page.get_by_role("button", name="Review the change").click()
    expect(page.locator("input[name=value]")).to_have_value(HOSTILE)
    page.get_by_role("button", name="Make release v4").click()
    expect(page.get_by_role("status")).to_contain_text("made release v4")

    page.goto("/apps/target/logs")
    expect(page.get_by_role("status")).to_have_text("Following new lines live.")
    expect(page.locator("pre.log")).to_contain_text(HOSTILE)
    server.context.logs.append("target", [f"2026-11-27T12:00:01Z target[web.1]: live {HOSTILE}"])  # type: ignore[attr-defined]
    expect(page.locator("pre.log")).to_contain_text(f"live {HOSTILE}")
    screenshot(page, "xss-logs")

    page.goto("/admin/users")
    expect(page.get_by_role("table")).to_contain_text(HOSTILE[:150])

    # Nothing hostile became an element anywhere (the page fixture also fails on dialogs).
    for path in ("/apps/target/config?reveal=EVIL", "/apps/target/logs", "/admin/users"):
        page.goto(path)
        assert page.locator("img[src=x]").count() == 0
        scripts = page.locator("script").evaluate_all("s => s.map(e => e.src || e.text)")
        assert all("/static/" in src for src in scripts), scripts


def test_changes_without_the_csrf_token_are_refused(
    page: Any, server: Server, alice: ApiUser
) -> None:
    alice.app("shop")
    sign_in(page, "alice")  # the browser holds a valid session cookie
    for form in ({}, {"csrf": "forged"}):
        refused = page.request.post(
            "/apps/shop/config", form={**form, "key": "X", "value": "1"}, max_redirects=0
        )
        assert refused.status == 403
        assert "security token" in refused.text()
    refused = page.request.post("/apps/shop/releases/rollback", form={"version": "1"})
    assert refused.status == 403
    refused = page.request.post("/signout", form={}, max_redirects=0)
    assert refused.status == 403
    assert len(alice.releases("shop")) == 2

    # The sign-in form carries its own token (double submit), so a page elsewhere cannot
    # sign a browser into an account.
    with server.api() as client:
        refused_signin = client.post(
            "/signin", data={"username": "alice", "password": PASSWORD, "csrf": "x"}
        )
    assert refused_signin.status_code == 403
    assert "deis_session" not in refused_signin.cookies


def test_the_rest_api_is_unchanged(server: Server, alice: ApiUser) -> None:
    with server.api() as client:
        root = client.get("/v2/")
        assert root.status_code == 401
        assert root.json() == {"detail": "Authentication credentials were not provided."}
        assert root.headers["deis_api_version"] == "2.3"
        assert client.get("/healthz").text == "OK"
        assert client.get("/readiness").text == "OK"
        missing = client.get("/v2/nothing-here")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/json")
        paths = client.get("/openapi.json").json()["paths"]
        # besides /v2: health, and ACME's well-known path (a cluster's router sends apps'
        # challenges to the controller)
        known = ("/v2", "/healthz", "/readiness", "/.well-known/acme-challenge/")
        assert all(path.startswith(known) for path in paths), [
            p for p in paths if not p.startswith("/v2")
        ]
        page = client.get("/")
        assert page.status_code == 303 and page.headers["location"] == "/signin"
        signin = client.get("/signin")
        assert "script-src 'self'" in signin.headers["content-security-policy"]
        assert signin.headers["x-frame-options"] == "DENY"
    assert alice.call("GET", "/v2/apps/").status_code == 200


def test_the_session_cookie_is_secure_over_tls(server: Server, alice: ApiUser) -> None:
    """Behind the router's TLS (X-Forwarded-Proto from 127.0.0.1, which uvicorn trusts)."""
    with server.api() as client:
        tls = {"X-Forwarded-Proto": "https"}
        form = client.get("/signin", headers=tls)
        assert "secure" in form.headers["set-cookie"].lower()
        nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert nonce is not None
        signed = client.post(
            "/signin",
            data={"username": "alice", "password": PASSWORD, "csrf": nonce.group(1)},
            headers={**tls, "Cookie": f"deis_signin={nonce.group(1)}"},
        )
    assert signed.status_code == 303
    cookie = next(
        v for k, v in signed.headers.multi_items() if k == "set-cookie" and "deis_session" in v
    )
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= attributes


def test_redirects_stay_on_this_site(page: Any, alice: ApiUser) -> None:
    page.goto("/signin?next=//evil.example/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/$"))
