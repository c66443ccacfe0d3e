"""What a user does in the dashboard, in Debian's chromium: sign in, the apps list, an
app's pages, config changes that make releases, scale, roll back, logs followed live."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.dashboard.conftest import ApiUser, Server, screenshot, sign_in


def test_sign_in_shows_my_apps_with_their_state(page: Any, server: Server, alice: ApiUser) -> None:
    alice.app("shop")
    alice.app("blank", image=False)
    alice.call("POST", "/v2/apps/shop/config/", {"values": {"MODE": "live"}})
    alice.call("POST", "/v2/apps/shop/scale/", {"web": 2})
    sign_in(page, "alice")

    table = page.get_by_role("table")
    shop = table.get_by_role("row").filter(has=page.get_by_role("link", name="shop", exact=True))
    expect(shop).to_contain_text("v3")
    expect(shop).to_contain_text("web=2 worker=0")
    expect(shop).to_contain_text("by alice")
    expect(shop).to_contain_text("shop.localhost")
    # The runtime here runs nothing, so the live row keeps the records' word.
    expect(shop.locator(".state")).to_have_text("released")
    blank = table.get_by_role("row").filter(has=page.get_by_role("link", name="blank"))
    expect(blank.locator(".state")).to_have_text("new")
    screenshot(page, "apps")

    cookie = next(c for c in page.context.cookies() if c["name"] == "deis_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # plain http here; Secure when the request is https

    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    expect(page.get_by_role("link", name="shop", exact=True)).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the list is {width} px wide at 375 px"
    screenshot(page, "apps-375px")


def test_wrong_password_is_refused(page: Any, alice: ApiUser) -> None:
    page.goto("/signin")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    assert "deis_session" not in {c["name"] for c in page.context.cookies()}


def test_keyboard_alone_signs_in_and_opens_an_app(page: Any, alice: ApiUser) -> None:
    alice.app("kbd")
    page.goto("/signin")
    # the username field has the focus (autofocus); under load it comes a moment after
    # the load event, and keys typed before it are lost
    expect(page.locator("#username")).to_be_focused()
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type("s3cret-pw")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/$"))
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.get_by_role("link", name="kbd", exact=True).focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/apps/kbd$"))
    expect(page.get_by_role("heading", name="kbd")).to_be_visible()


def test_config_change_is_confirmed_and_makes_a_release(
    page: Any, server: Server, alice: ApiUser
) -> None:
    alice.app("shop")
    alice.call("POST", "/v2/apps/shop/config/", {"values": {"SECRET": "hunter2"}})
    sign_in(page, "alice")
    page.get_by_role("link", name="shop", exact=True).click()
    page.wait_for_url(re.compile(r"/apps/shop$"))
    screenshot(page, "app-overview")
    page.get_by_role("navigation", name="shop").get_by_role("link", name="Config").click()
    page.wait_for_url(re.compile(r"/apps/shop/config$"))

    # Values are not in the page until revealed.
    assert "hunter2" not in page.content()
    page.get_by_role("link", name="Reveal the value of SECRET").click()
    expect(page.locator("code.revealed")).to_have_text("hunter2")
    screenshot(page, "config")

    page.get_by_label("Name", exact=True).fill("GREETING")
    page.get_by_label("Value", exact=True).fill("hello world")
    page.get_by_role("button", name="Review the change").click()
    expect(page.get_by_role("heading", name="Set GREETING?")).to_be_visible()
    expect(page.locator(".confirm")).to_contain_text("makes a new release of shop, v4")
    screenshot(page, "config-confirm")
    assert len(alice.releases("shop")) == 3  # nothing changed before the confirmation
    page.get_by_role("button", name="Make release v4").click()
    expect(page.get_by_role("status")).to_have_text("Set GREETING: made release v4.")
    latest = alice.releases("shop")[0]
    assert latest["version"] == 4 and latest["summary"] == "alice added GREETING"

    page.get_by_role("link", name="Releases").click()
    v4 = page.locator("#v4")
    expect(v4).to_contain_text("alice added GREETING")
    expect(v4.locator(".added")).to_have_text("added GREETING")
    expect(page.locator("#v2")).to_contain_text("image example/app:1")
    screenshot(page, "releases")

    # Remove, confirmed too.
    page.get_by_role("link", name="Config").click()
    page.get_by_role("button", name="Remove SECRET").click()
    expect(page.get_by_role("heading", name="Remove SECRET?")).to_be_visible()
    page.get_by_role("button", name="Make release v5").click()
    expect(page.get_by_role("status")).to_have_text("Unset SECRET: made release v5.")
    assert alice.releases("shop")[0]["summary"] == "alice removed SECRET"


def test_scale_changes_the_formation(page: Any, server: Server, alice: ApiUser) -> None:
    alice.app("shop")
    sign_in(page, "alice")
    page.goto("/apps/shop")
    page.get_by_label("web").fill("3")
    page.get_by_label("worker").fill("1")
    page.get_by_role("button", name="Scale").click()
    expect(page.get_by_role("status")).to_have_text("Scaled to web=3 worker=1")
    assert alice.call("GET", "/v2/apps/shop/").json()["structure"] == {"web": 3, "worker": 1}
    desired = json.loads((server.state_dir / "runtime/desired/shop.json").read_text())
    assert desired["structure"] == {"web": 3, "worker": 1}
    # The record runtime runs no replicas and says so instead of a restart button.
    expect(page.locator("#pods")).to_contain_text("runs no processes")

    page.get_by_label("web").fill("-1")  # the browser refuses to send it
    page.get_by_role("button", name="Scale").click()
    expect(page.locator("#count-web:invalid")).to_have_count(1)
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    refused = page.request.post("/apps/shop/scale", form={"csrf": csrf, "count.web": "-1"})
    assert refused.ok  # back on the app's page, with the reason
    assert "must be" in refused.text().lower() or "invalid" in refused.text().lower()
    assert alice.call("GET", "/v2/apps/shop/").json()["structure"] == {"web": 3, "worker": 1}


def test_roll_back_after_a_confirmation(page: Any, alice: ApiUser) -> None:
    alice.app("shop")
    alice.call("POST", "/v2/apps/shop/config/", {"values": {"A": "1"}})
    sign_in(page, "alice")
    page.goto("/apps/shop/releases")
    expect(page.get_by_role("link", name="Roll back to v1")).to_have_count(0)  # the initial one
    page.get_by_role("link", name="Roll back to v2").click()
    expect(page.get_by_role("heading", name="Roll back shop to v2?")).to_be_visible()
    screenshot(page, "rollback-confirm")
    assert len(alice.releases("shop")) == 3
    page.get_by_role("button", name="Roll back: make v4").click()
    expect(page.get_by_role("status")).to_have_text("Rolled back to v2: made release v4.")
    expect(page.locator("#v4")).to_contain_text("alice rolled back to v2")
    expect(page.locator("#v4 .removed")).to_have_text("removed A")
    assert alice.releases("shop")[0]["summary"] == "alice rolled back to v2"


def test_logs_follow_while_the_app_writes(page: Any, server: Server, alice: ApiUser) -> None:
    alice.app("shop")
    logs = server.context.logs
    sign_in(page, "alice")
    page.goto("/apps/shop/logs")
    expect(page.get_by_role("status")).to_have_text("Following new lines live.")
    log = page.locator("pre.log")
    expect(log).to_contain_text("alice deployed example/app:1")

    for number in range(3):
        logs.append("shop", [f"2026-11-27T12:00:0{number}Z shop[web.1]: GET /{number} 200"])  # type: ignore[attr-defined]
        expect(log).to_contain_text(f"GET /{number} 200")
    alice.call("POST", "/v2/apps/shop/config/", {"values": {"B": "2"}})
    expect(log).to_contain_text("alice added B")
    screenshot(page, "logs")


def test_admin_sees_users_and_every_app(page: Any, admin: ApiUser, alice: ApiUser) -> None:
    alice.app("shop")
    sign_in(page, "admin")
    page.get_by_role("link", name="Admin").click()
    users = page.get_by_role("table")
    expect(users).to_contain_text("alice@example.com")
    screenshot(page, "admin-users")
    page.get_by_role("button", name="Make administrator for alice").click()
    expect(page.get_by_role("status")).to_have_text("alice is now an administrator.")
    page.get_by_role("link", name="Administrators").click()
    expect(page.get_by_role("table")).to_contain_text("alice")
    page.get_by_role("link", name="Every app").click()
    expect(page.get_by_role("link", name="shop", exact=True)).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("(alice)")


def test_a_user_cannot_reach_the_admin_pages(page: Any, alice: ApiUser) -> None:
    sign_in(page, "alice")
    assert page.get_by_role("link", name="Admin").count() == 0
    response = page.goto("/admin/users")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_sign_out_ends_the_session_everywhere(page: Any, server: Server, alice: ApiUser) -> None:
    sign_in(page, "alice")
    copied = next(c for c in page.context.cookies() if c["name"] == "deis_session")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/signin$"))
    with server.api() as client:
        client.cookies.set("deis_session", copied["value"])
        again = client.get("/")
    assert again.status_code == 303 and again.headers["location"] == "/signin"


def test_builds_page_without_kept_output(page: Any, alice: ApiUser) -> None:
    alice.app("shop")
    sign_in(page, "alice")
    page.goto("/apps/shop/builds")
    expect(page.get_by_role("table")).to_contain_text("image example/app:1")
    if page.get_by_role("heading", name="Pushes").count() == 0:
        expect(page.locator(".note")).to_contain_text("Build output is not kept")


def test_build_output_when_the_platform_keeps_it(page: Any, server: Server, alice: ApiUser) -> None:
    """With the logs extension (build attempts kept in files), each push's output."""
    attempts = pytest.importorskip("deis.domain.attempts")
    outputs = getattr(server.context, "build_outputs", None)
    if outputs is None:
        pytest.skip("this platform keeps no build output")
    alice.app("shop")
    started = datetime.now(UTC)
    attempt = attempts.BuildAttempt(
        uuid="1a2b3c4d-0000-4000-8000-000000000000", app="shop", owner="alice",
        started=started, sha="060da68c0ffee",
    )  # fmt: skip
    outputs.start(attempt)
    outputs.write("shop", attempt.uuid, "-----> Python app detected\n<script>alert(1)</script>\n")
    outputs.finish(attempt.failed(datetime.now(UTC), "compile failed"))
    sign_in(page, "alice")
    page.goto("/apps/shop/builds")
    expect(page.get_by_role("heading", name="Pushes")).to_be_visible()
    page.get_by_role("link", name="Output of build 1a2b3c4d").click()
    expect(page.locator("pre.log")).to_contain_text("-----> Python app detected")
    expect(page.locator("pre.log")).to_contain_text("<script>alert(1)</script>")
    expect(page.get_by_role("main")).to_contain_text("failed: compile failed")
    screenshot(page, "build-output")


def test_app_pages_fit_a_375px_screen(page: Any, alice: ApiUser) -> None:
    alice.app("a-rather-long-app-name")
    alice.call(
        "POST",
        "/v2/apps/a-rather-long-app-name/config/",
        {"values": {"A_VERY_LONG_CONFIGURATION_KEY_NAME": "x" * 300}},
    )
    sign_in(page, "alice")
    page.set_viewport_size({"width": 375, "height": 800})
    for tab in ("", "/releases", "/config?reveal=A_VERY_LONG_CONFIGURATION_KEY_NAME",
                "/domains", "/builds", "/logs"):  # fmt: skip
        page.goto(f"/apps/a-rather-long-app-name{tab}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{tab or 'overview'} is {width} px wide at 375 px"
    page.goto("/apps/a-rather-long-app-name")
    screenshot(page, "app-overview-375px")


def test_reloading_a_confirmation_goes_back_to_its_page(page: Any, alice: ApiUser) -> None:
    alice.app("shop")
    sign_in(page, "alice")
    page.goto("/apps/shop/config")
    page.get_by_label("Name", exact=True).fill("K")
    page.get_by_label("Value", exact=True).fill("v")
    page.get_by_role("button", name="Review the change").click()
    expect(page.get_by_role("heading", name="Set K?")).to_be_visible()
    page.reload()  # htmx showed the POST's URL; a reload asks for it with GET
    page.wait_for_url(re.compile(r"/apps/shop/config$"))
    assert len(alice.releases("shop")) == 2  # nothing was changed


def test_the_cron_tab_shows_jobs_and_a_failed_run(page: Any, alice: ApiUser) -> None:
    alice.app("jobs")
    added = alice.call(
        "POST", "/v2/apps/jobs/cron/", {"name": "backup", "schedule": "0 3 * * *", "command": "x"}
    )
    assert added.status_code == 201, added.text
    alice.call(
        "POST", "/v2/apps/jobs/cron/", {"name": "idle", "schedule": "@daily", "command": "y"}
    )
    alice.call("POST", "/v2/apps/jobs/cron/idle/suspend")
    # The record runtime runs nothing: the run ends at once, as one that could not start.
    assert alice.call("POST", "/v2/apps/jobs/cron/backup/run").status_code == 202
    for _ in range(50):
        last = alice.call("GET", "/v2/apps/jobs/cron/backup/").json()["last_run"]
        if last and last["exit_code"] is not None:
            break
        page.wait_for_timeout(100)
    sign_in(page, "alice")
    page.goto("/apps/jobs/cron")
    expect(page.get_by_role("link", name="Cron")).to_have_attribute("aria-current", "page")
    backup = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="backup"))
    expect(backup).to_contain_text("0 3 * * *")
    expect(backup.locator("td[data-label='Last run']")).to_contain_text("could not start")
    idle = page.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=re.compile("idle"))
    )
    expect(idle).to_contain_text("(suspended)")
    expect(idle.locator("td[data-label='Next run']")).to_have_text("-")
    screenshot(page, "cron")


def test_the_domains_tab_shows_automatic_tls_and_the_cas_error(
    page: Any, server: Server, alice: ApiUser
) -> None:
    from dataclasses import dataclass

    from deis.domain.acme import AcmeError
    from deis.services import acme

    @dataclass
    class RefusingCA:
        directory: str = "https://ca.test/dir"
        delegated: bool = False

        def check(self) -> None:
            pass

        def issue(self, hosts: list[str], responder: Any) -> Any:
            raise AcmeError("too many certificates (rateLimited)", rate_limited=True)

    ctx = server.context
    object.__setattr__(ctx, "acme", RefusingCA())  # the composition root's choice, for this test
    alice.app("shop", image=False)
    assert (
        alice.call("POST", "/v2/apps/shop/domains/", {"domain": "www.shop.test"}).status_code == 201
    )
    assert alice.call("POST", "/v2/apps/shop/tls/auto/").status_code == 200
    acme.renew_due(ctx)
    sign_in(page, "alice")
    page.goto("/apps/shop/domains")
    expect(page.locator(".tls-auto")).to_contain_text(
        "Automatic TLS: on (certificates from https://ca.test/dir)"
    )
    www = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="www.shop.test"))
    expect(www).to_contain_text(
        "The CA did not issue a certificate: too many certificates (rateLimited). Next attempt"
    )
    screenshot(page, "domains-tls-auto")


def test_the_addons_tab_shows_the_apps_addons(page: Any, alice: ApiUser) -> None:
    alice.app("shop")
    made = alice.call("POST", "/v2/apps/shop/addons/", {"service": "postgres", "as": "main"})
    assert made.status_code == 201, made.text
    name = made.json()["name"]
    sign_in(page, "alice")
    page.goto("/apps/shop/addons")
    expect(page.get_by_role("link", name="Add-ons")).to_have_attribute("aria-current", "page")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name))
    expect(row).to_contain_text("PostgreSQL 15")
    expect(row.locator("td[data-label='State']")).to_have_text("available")
    expect(row.locator("td[data-label='Attached to']")).to_have_text("shop (MAIN_URL)")


def test_an_asleep_app_says_since_when_and_what_wakes_it(
    page: Any, server: Server, alice: ApiUser
) -> None:
    from datetime import UTC, datetime

    from deis.domain.sleep import SleepState

    alice.app("shop")
    with server.context.store.transaction(write=True) as uow:
        uow.sleep.save(
            SleepState("shop", asleep=True, since=datetime(2026, 12, 6, 18, 5, tzinfo=UTC))
        )
    sign_in(page, "alice")
    page.goto("/apps/shop")
    expect(page.locator("#pods")).to_contain_text("asleep since 2026-12-06T18:05:00Z")
    expect(page.locator("#pods")).to_contain_text("The next request wakes it")
    with server.context.store.transaction(write=True) as uow:
        uow.sleep.save(
            SleepState("shop", asleep=False, since=datetime(2026, 12, 6, 18, 9, tzinfo=UTC))
        )
    page.goto("/apps/shop")
    expect(page.locator("#pods")).to_contain_text("runs no processes")
    expect(page.locator("#pods")).not_to_contain_text("asleep since")
