"""Fixtures of the router tests: one nginx per test module (it is fast to give it a new
table, slow-ish to start), backends per test, all stopped by what started them."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deis.router.nginx import NginxRouter
from deis.router.process import alive
from tests.router.helpers import Backend, free_port, missing_nginx


@pytest.fixture(scope="module")
def state_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix=f"deis-test-router-{uuid.uuid4().hex[:8]}-"))
    try:
        yield root / "state"
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def controller() -> Iterator[Backend]:
    backend = Backend.start("controller")
    yield backend
    backend.stop()


def make_router(state: Path, controller: Backend, **kwargs: object) -> NginxRouter:
    return NginxRouter(
        state,
        http_port=free_port(),
        https_port=free_port(),
        platform_domain="localhost",
        controller_address=controller.address,
        supervise_interval=0.2,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def router(state_dir: Path, controller: Backend) -> Iterator[NginxRouter]:
    reason = missing_nginx()
    if reason:
        pytest.skip(reason)
    r = make_router(
        state_dir,
        controller,
        proxy_read_timeout=2,
        client_max_body_size="64k",
        max_body_size="256k",
    )
    r.start()
    pid = r.pid
    try:
        yield r
    finally:
        workers = r.process.workers()
        r.stop()
        assert r.process.pid() is None
        assert pid is not None and not alive(pid)
        assert not any(alive(w) for w in workers)


@pytest.fixture
def backends() -> Iterator[Callable[[str], Backend]]:
    started: list[Backend] = []

    def start(name: str) -> Backend:
        b = Backend.start(name)
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()
