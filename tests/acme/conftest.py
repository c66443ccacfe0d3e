"""Fixtures of the automatic TLS tests: a DNS server and pebble per module, an nginx
router whose HTTP port is pebble's `httpPort`. All stopped by what started them."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from deis.router.nginx import NginxRouter
from tests.acme.pebble import DNS, Pebble, missing_pebble
from tests.router.helpers import Backend, free_port, missing_nginx


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix=f"deis-test-acme-{uuid.uuid4().hex[:8]}-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def dns() -> Iterator[DNS]:
    server = DNS().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def router(workdir: Path) -> Iterator[NginxRouter]:
    reason = missing_nginx() or missing_pebble()
    if reason:
        pytest.skip(reason)
    controller = Backend.start("controller")
    r = NginxRouter(
        workdir / "state",
        http_port=free_port(),
        https_port=free_port(),
        platform_domain="apps.test",
        controller_address=controller.address,
        supervise_interval=0.2,
    )
    r.start()
    try:
        yield r
    finally:
        r.stop()
        controller.stop()


@pytest.fixture(scope="module")
def pebble(workdir: Path, router: NginxRouter, dns: DNS) -> Iterator[Pebble]:
    server = Pebble(workdir / "pebble", http_port=router.config.http_port, dns_port=dns.port)
    server.start()
    yield server
    server.stop()
