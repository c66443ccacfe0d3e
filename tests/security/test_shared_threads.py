"""Issue 17, item 5: no request that can wait on a deploy holds one of the API's few
shared threads. A settings change with `autoscale` deploys; while its deploy waits,
another user's quick request (POST /tls, as in the report) is answered at once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.api.conftest import Api, User

STALL = 10.0  # seconds the deploy waits unless released


def test_a_deploy_does_not_stall_another_users_request(
    api: Api, alice: User, bob: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice.create_app("slow")
    bob.create_app("other")
    built = alice.post("/v2/apps/slow/builds/", {"image": "x/y:1", "procfile": {"web": "./w"}})
    assert built.status_code == 201, built.text
    runtime = api.client.app.state.context.runtime  # type: ignore[attr-defined]
    entered, release = threading.Event(), threading.Event()
    real_deploy = runtime.deploy

    def slow_deploy(desired: Any) -> None:
        entered.set()
        release.wait(STALL)
        real_deploy(desired)

    monkeypatch.setattr(runtime, "deploy", slow_deploy)
    autoscale = {"autoscale": {"web": {"min": 1, "max": 3, "cpu_percent": 50}}}
    with ThreadPoolExecutor(1) as pool:
        changing = pool.submit(alice.post, "/v2/apps/slow/settings/", autoscale)
        assert entered.wait(10), "the settings change did not deploy"
        start = time.monotonic()
        other = bob.post("/v2/apps/other/tls/", {"https_enforced": True})
        waited = time.monotonic() - start
        release.set()
        assert other.status_code == 201, other.text
        assert waited < STALL / 2, f"another user's request waited {waited:.1f} s for a deploy"
        assert changing.result(timeout=30).status_code == 201
