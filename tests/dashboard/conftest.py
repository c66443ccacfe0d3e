"""Dashboard tests: the controller served by a real uvicorn on a free port (SQLite, the
record runtime, file logs), users made through the REST API, and Debian's chromium
driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from deis.platform.wiring import build_app
from deis.services.context import Context
from deis.settings import from_env
from tests.api.conftest import LIGHT, free_port
from tests.databases import fresh_database

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "s3cret-pw"
SCREENSHOTS = Path(os.environ.get("DEIS_SCREENSHOT_DIR") or Path(__file__).parent / "screenshots")


@dataclass
class Server:
    url: str
    app: Any
    state_dir: Path

    @property
    def context(self) -> Context:
        ctx: Context = self.app.state.context
        return ctx

    def api(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"token {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def user(self, username: str, **extra: str) -> ApiUser:
        with self.api() as client:
            body = {"username": username, "password": PASSWORD, "email": f"{username}@example.com"}
            made = client.post("/v2/auth/register/", json={**body, **extra})
            assert made.status_code == 201, made.text
            login = client.post(
                "/v2/auth/login/", json={"username": username, "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
        return ApiUser(self, username, login.json()["token"])


@dataclass
class ApiUser:
    server: Server
    username: str
    token: str

    def call(self, method: str, path: str, json: object = None) -> httpx.Response:
        with self.server.api(self.token) as client:
            return client.request(method, path, json=json)

    def app(self, app_id: str, *, image: bool = True) -> str:
        """An app with a build from an image (web and worker process types)."""
        made = self.call("POST", "/v2/apps/", {"id": app_id})
        assert made.status_code == 201, made.text
        if image:
            built = self.call(
                "POST",
                f"/v2/apps/{app_id}/builds/",
                {"image": "example/app:1", "procfile": {"web": "serve", "worker": "work"}},
            )
            assert built.status_code == 201, built.text
        return app_id

    def releases(self, app_id: str) -> list[dict[str, Any]]:
        found = self.call("GET", f"/v2/apps/{app_id}/releases/")
        assert found.status_code == 200, found.text
        results: list[dict[str, Any]] = found.json()["results"]
        return results


@contextmanager
def serve(tmp_path: Path, **overrides: Any) -> Iterator[Server]:
    """The controller (dashboard included) on a free port, stopped at the end."""
    port = free_port()
    with fresh_database("sqlite", tmp_path) as url:
        settings = from_env(
            {},
            state_dir=tmp_path / "state",
            database_url=url,
            api_port=port,
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            **{**LIGHT, "logs": "file", **overrides},
        )  # fmt: skip
        app = build_app(settings)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        running = uvicorn.Server(config)
        thread = threading.Thread(target=running.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not running.started:
            assert thread.is_alive(), "the controller did not start"
            assert time.monotonic() < deadline, "the controller did not start"
            time.sleep(0.02)
        try:
            yield Server(f"http://127.0.0.1:{port}", app, settings.state_dir)
        finally:
            running.should_exit = True
            thread.join(timeout=30)
            app.state.context.store.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with serve(tmp_path) as running:
        yield running


@pytest.fixture
def admin(server: Server) -> ApiUser:
    return server.user("admin")  # the first user is an administrator


@pytest.fixture
def alice(server: Server, admin: ApiUser) -> ApiUser:
    return server.user("alice")


@pytest.fixture
def bob(server: Server, admin: ApiUser) -> ApiUser:
    return server.user("bob")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install.sh (Debian's chromium package)")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    """A fresh browser context (no cookies) whose dialogs fail the test."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(30_000)
    opened = context.new_page()
    dialogs: list[str] = []
    opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    yield opened
    context.close()
    assert dialogs == [], f"a dialog fired: {dialogs}"


def sign_in(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/")
    page.wait_for_url(re.compile(r"/signin"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))


def screenshot(page: Any, name: str) -> None:
    """For a reviewer to look at: written to tests/dashboard/screenshots/ (gitignored) or
    $DEIS_SCREENSHOT_DIR."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
