"""Replicas in the dashboard with the real podman runtime (busybox containers, as in the
runtime's tests): their state, and the restart button replacing one."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import expect

from deis import dashboard
from deis.api.app import create_app
from deis.logs.files import FileLogs
from deis.router.recording import RecordingRouter
from deis.services.context import Context
from deis.store.sqlalchemy_store import SqlStore
from tests.api.conftest import free_port
from tests.dashboard.conftest import Server, screenshot, sign_in
from tests.databases import fresh_database
from tests.runtime import conftest as runtime_tests
from tests.runtime.conftest import WEB

# The runtime tests' fixtures: a PodmanRuntime of its own instance, with a busybox image.
instance_id = runtime_tests.instance_id
state_dir = runtime_tests.state_dir
peer_log = runtime_tests.peer_log
event_log = runtime_tests.event_log
runtime = runtime_tests.runtime


@pytest.fixture
def server(tmp_path: Path, runtime: Any) -> Iterator[Server]:
    """The controller's API and dashboard over the podman runtime of the runtime tests."""
    port = free_port()
    with fresh_database("sqlite", tmp_path) as url:
        store = SqlStore(url)
        context = Context(
            store=store,
            runtime=runtime,
            logs=FileLogs(tmp_path / "logs"),
            router=RecordingRouter(),
        )
        app = create_app(context, builder_key="test-builder-key", platform={})
        dashboard.install(app, dashboard.new_key())
        running = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=running.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not running.started:
            assert time.monotonic() < deadline, "the controller did not start"
            time.sleep(0.02)
        try:
            yield Server(f"http://127.0.0.1:{port}", app, tmp_path)
        finally:
            running.should_exit = True
            thread.join(timeout=30)
            store.close()


def test_replicas_and_restart(page: Any, server: Server, runtime: Any, instance_id: str) -> None:
    owner = server.user("alice")
    app_id = f"dash-{instance_id[-4:]}"  # unique per run: podman is shared by every test
    made = owner.call("POST", "/v2/apps/", {"id": app_id})
    assert made.status_code == 201, made.text
    built = owner.call(
        "POST",
        f"/v2/apps/{app_id}/builds/",
        {"image": runtime.test_image, "procfile": {"web": WEB}},
    )
    assert built.status_code == 201, built.text
    try:
        sign_in(page, "alice")
        page.goto(f"/apps/{app_id}")
        pods = page.locator("#pods table")
        expect(pods).to_contain_text("up", timeout=60_000)
        expect(page.locator(".facts")).to_contain_text("running")
        first = pods.locator("tbody th").first.inner_text()
        screenshot(page, "replicas")

        page.get_by_role("button", name=f"Restart {first}").click()
        expect(page.get_by_role("status")).to_have_text(
            re.compile(r"Restarted 1 replica"), timeout=90_000
        )
        pods = page.locator("#pods table")
        expect(pods.locator("tbody th")).not_to_have_text([first])
        expect(pods).to_contain_text("up")
    finally:
        runtime.remove(app_id)
