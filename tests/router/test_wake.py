"""A request to an app that may sleep and has no replica is held while the platform wakes
the app (the router asks through its admin socket's long poll, GET /wakes), and answered
once a replica serves; concurrent ones wait with it; past the wake timeout, or beyond the
queue's bound, 503 with Retry-After. Real nginx; the "platform" here is the test, which
starts a backend when asked."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from deis.domain.routing import AppRoute
from deis.router.nginx import NginxRouter
from tests.router.conftest import make_router
from tests.router.helpers import Backend, curl, missing_nginx

WAKE_TIMEOUT = 3
QUEUE = 8


class Waker:
    """The platform's side: told of each wake, starts the app's replica after `delay`."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.delay = 0.3
        self.router: NginxRouter | None = None
        self.started: list[Backend] = []
        self.refuse: set[str] = set()

    def __call__(self, app: str) -> None:
        self.asked.append(app)
        if app in self.refuse:
            return
        threading.Thread(target=self._start, args=(app,), daemon=True).start()

    def _start(self, app: str) -> None:
        time.sleep(self.delay)
        backend = Backend.start(app)
        self.started.append(backend)
        assert self.router is not None
        self.router.set_peers(app, [backend.address])

    def stop(self) -> None:
        for backend in self.started:
            backend.stop()


@pytest.fixture(scope="module")
def waker() -> Iterator[Waker]:
    w = Waker()
    yield w
    w.stop()


@pytest.fixture(scope="module")
def router(controller: Backend, waker: Waker) -> Iterator[NginxRouter]:
    reason = missing_nginx()
    if reason:
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix=f"deis-test-wake-{uuid.uuid4().hex[:8]}-"))
    r = make_router(root / "state", controller, wake_timeout=WAKE_TIMEOUT, wake_queue=QUEUE)
    r.on_wake = waker
    waker.router = r
    r.start()
    try:
        yield r
    finally:
        r.stop()
        shutil.rmtree(root, ignore_errors=True)


def url(router: NginxRouter, host: str) -> str:
    return f"http://127.0.0.1:{router.config.http_port}/"


def get(router: NginxRouter, host: str) -> tuple[int, str, dict[str, str], float]:
    began = time.monotonic()
    got = curl(url(router, host), "-H", f"Host: {host}", timeout=WAKE_TIMEOUT + 10)
    return got.status, got.body, got.headers, time.monotonic() - began


def test_a_held_request_gets_the_woken_apps_answer(router: NginxRouter, waker: Waker) -> None:
    router.apply(AppRoute("sleepy", ("sleepy.localhost",), wakes=True))
    status, body, _, took = get(router, "sleepy.localhost")
    assert status == 200, body
    assert '"backend": "sleepy"' in body
    assert waker.asked.count("sleepy") == 1
    assert 0.3 <= took < WAKE_TIMEOUT
    status, _, _, _ = get(router, "sleepy.localhost")  # awake: straight through
    assert status == 200 and waker.asked.count("sleepy") == 1


def test_concurrent_requests_at_a_wake_all_succeed_with_one_wake(
    router: NginxRouter, waker: Waker
) -> None:
    router.apply(AppRoute("crowd", ("crowd.localhost",), wakes=True))
    with ThreadPoolExecutor(QUEUE) as pool:
        results = list(pool.map(lambda _: get(router, "crowd.localhost"), range(QUEUE)))
    assert [r[0] for r in results] == [200] * QUEUE, [r[1] for r in results]
    assert waker.asked.count("crowd") == 1


def test_past_the_timeout_503_with_retry_after_and_beyond_the_queue_at_once(
    router: NginxRouter, waker: Waker
) -> None:
    waker.refuse.add("stuck")
    router.apply(AppRoute("stuck", ("stuck.localhost",), wakes=True))
    with ThreadPoolExecutor(QUEUE + 2) as pool:
        results = list(pool.map(lambda _: get(router, "stuck.localhost"), range(QUEUE + 2)))
    statuses = sorted(r[0] for r in results)
    assert statuses == [503] * (QUEUE + 2)
    assert all(r[2].get("retry-after") == "5" for r in results)
    assert all("waking up" in r[1] for r in results)
    quick = [r for r in results if r[3] < WAKE_TIMEOUT - 1]
    held = [r for r in results if r[3] >= WAKE_TIMEOUT - 0.5]
    assert len(quick) >= 2 and len(held) >= 1  # beyond the queue: at once; the rest: held
    assert all(r[3] < WAKE_TIMEOUT + 3 for r in results)  # never a hang


def test_an_app_that_does_not_sleep_gets_503_at_once(router: NginxRouter, waker: Waker) -> None:
    router.apply(AppRoute("plain", ("plain.localhost",)))
    status, body, headers, took = get(router, "plain.localhost")
    assert status == 503 and "no web process ready" in body
    assert headers.get("retry-after") == "60" and took < 2
    assert "plain" not in waker.asked


def test_the_wake_is_asked_again_after_the_app_slept_again(
    router: NginxRouter, waker: Waker
) -> None:
    router.apply(AppRoute("again", ("again.localhost",), wakes=True))
    assert get(router, "again.localhost")[0] == 200
    router.set_peers("again", [])  # asleep again
    assert get(router, "again.localhost")[0] == 200
    assert waker.asked.count("again") == 2


def test_a_wake_that_failed_releases_the_held_requests_at_once(
    router: NginxRouter, waker: Waker
) -> None:
    waker.refuse.add("broken")
    router.apply(AppRoute("broken", ("broken.localhost",), wakes=True))
    with ThreadPoolExecutor(3) as pool:
        held = [pool.submit(get, router, "broken.localhost") for _ in range(3)]
        time.sleep(0.5)
        router.wake_failed("broken", 2)
        results = [f.result() for f in held]
    assert [r[0] for r in results] == [503] * 3
    assert all(r[3] < WAKE_TIMEOUT - 1 for r in results)  # not at the timeout
    assert get(router, "broken.localhost")[3] < 1  # for a while, new ones are not held
    time.sleep(2.5)
    asked = waker.asked.count("broken")
    get(router, "broken.localhost")  # then a request asks again
    assert waker.asked.count("broken") == asked + 1
