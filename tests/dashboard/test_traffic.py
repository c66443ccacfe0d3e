"""Requests per second and the 5xx share from the real router (nginx): requests to an
app with no replicas are answered 502/503 by nginx and counted as errors."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.api.conftest import free_port
from tests.dashboard.conftest import Server, screenshot, serve, sign_in


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """This module's controller runs the real router (the page fixture browses it)."""
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.fail("nginx is missing: run scripts/install.sh")
    port = free_port()
    with serve(tmp_path, router="nginx", router_port=port, router_https_port=free_port()) as s:
        s.router_port = port  # type: ignore[attr-defined]
        yield s


def test_traffic_from_the_router(page: Any, server: Server) -> None:
    owner = server.user("alice")
    owner.app("shop")
    port = server.router_port  # type: ignore[attr-defined]
    with httpx.Client(timeout=10) as client:
        answers = [
            client.get(f"http://127.0.0.1:{port}/", headers={"Host": "shop.localhost"})
            for _ in range(20)
        ]
    assert all(a.status_code >= 500 for a in answers)  # no replica runs: nginx says so

    # The router writes its access log within a second.
    deadline = time.monotonic() + 30
    while owner.call("GET", "/v2/apps/shop/metrics/").json()["requests"] < 20:
        assert time.monotonic() < deadline, "the router did not count the requests"
        time.sleep(0.2)

    sign_in(page, "alice")
    row = page.locator("#app-shop")  # its live part loads when it is seen
    expect(row.locator("td[data-label='5xx']")).to_have_text("100.0%")
    expect(row.locator("td[data-label='Req/s']")).to_have_text(re.compile(r"^\d+\.\d\d"))
    screenshot(page, "apps-traffic")

    page.goto("/apps/shop")
    expect(page.locator(".facts")).to_contain_text("100.0% 5xx")
    expect(page.locator(".facts")).to_contain_text("20 requests counted")
