"""Probes' bookkeeping, host-side probe checks and the machine-wide address allocation."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deis.runtime.plan import crash_event
from deis.runtime.podman.health import HealthBook, check, look
from deis.runtime.podman.netns import Ipam
from deis.runtime.probes import HTTP, TCP, Probe, Probes, default_readiness

READY = Probe(kind=TCP, port=1, period=2, success_threshold=2, failure_threshold=2)
LIVE = Probe(kind=TCP, port=1, period=5, failure_threshold=3, initial_delay=10)


def test_readiness_needs_success_threshold_and_is_lost_after_failure_threshold() -> None:
    book, probes = HealthBook(), Probes(readiness=READY)
    assert book.due("a", 100.0, probes, 100.0) == (True, False)
    book.readiness("a", 100.0, probes, True, 100.0)
    assert not book.ready("a", 100.0, probes, 100.0)
    assert book.due("a", 100.0, probes, 101.0) == (False, False)  # period 2
    book.readiness("a", 100.0, probes, True, 102.0)
    assert book.ready("a", 100.0, probes, 102.0)
    book.readiness("a", 100.0, probes, False, 104.0)
    assert book.ready("a", 100.0, probes, 104.0)  # one failure is not enough
    book.readiness("a", 100.0, probes, False, 106.0)
    assert not book.ready("a", 100.0, probes, 106.0)


def test_the_default_readiness_check_probes_often_until_ready() -> None:
    """A starting replica is connected to every 20 ms (a woken app's first request waits
    for it), then every 0.2 s once ready; a lost readiness goes back to the short period."""
    book, probes = HealthBook(), Probes(readiness=default_readiness(5000))
    book.readiness("a", 100.0, probes, False, 100.0)
    assert book.due("a", 100.0, probes, 100.02) == (True, False)
    book.readiness("a", 100.0, probes, True, 100.02)
    assert book.ready("a", 100.0, probes, 100.02)
    assert book.due("a", 100.0, probes, 100.1) == (False, False)
    assert book.due("a", 100.0, probes, 100.22) == (True, False)
    book.readiness("a", 100.0, probes, False, 100.22)  # failure_threshold 1
    assert book.due("a", 100.0, probes, 100.24) == (True, False)


def test_a_new_start_forgets_readiness() -> None:
    book, probes = HealthBook(), Probes(readiness=Probe(kind=TCP, port=1))
    book.readiness("a", 100.0, probes, True, 100.0)
    assert book.ready("a", 100.0, probes, 100.0)
    assert not book.ready("a", 200.0, probes, 200.0)


def test_liveness_waits_initial_delay_and_restarts_after_threshold() -> None:
    book, probes = HealthBook(), Probes(liveness=LIVE)
    assert book.due("a", 100.0, probes, 105.0) == (False, False)
    assert book.due("a", 100.0, probes, 110.0) == (False, True)
    assert not book.liveness("a", 100.0, probes, False, 110.0)
    assert not book.liveness("a", 100.0, probes, False, 115.0)
    assert book.liveness("a", 100.0, probes, False, 120.0)


def test_without_readiness_probe_ready_after_running_a_while() -> None:
    book, probes = HealthBook(), Probes(min_running=1.0)
    assert not book.ready("a", 100.0, probes, 100.5)
    assert book.ready("a", 100.0, probes, 101.0)
    assert not book.ready("a", None, probes, 101.0)


@pytest.fixture
def server() -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/ok" else 500)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


def test_tcp_and_http_checks(server: int) -> None:
    podman: Any = None
    assert check(Probe(kind=TCP, port=server), "127.0.0.1", "x", podman)
    assert check(Probe(kind=HTTP, port=server, path="/ok"), "127.0.0.1", "x", podman)
    assert not check(Probe(kind=HTTP, port=server, path="/bad"), "127.0.0.1", "x", podman)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = unused.getsockname()[1]
    assert not check(Probe(kind=TCP, port=closed), "127.0.0.1", "x", podman)


def test_ipam_allocates_distinct_subnets_across_instances(tmp_path: Path) -> None:
    ipam = Ipam(tmp_path / "ipam")
    a = ipam.allocate("one", tmp_path, "app-web-1")
    b = ipam.allocate("two", tmp_path, "app-web-1")
    assert a.network != b.network
    assert (a.host_address, a.address) == ("10.199.0.1", "10.199.0.2")
    assert b.address == "10.199.0.6"
    assert [x.container for x in ipam.of_instance("one")] == ["app-web-1"]
    assert len(a.veth) <= 15 and a.veth != b.veth and a.netns != b.netns
    ipam.release(b)
    assert ipam.of_instance("two") == []
    ipam.release(a.__class__(**{**a.__dict__, "instance": "two"}))  # not its owner: kept
    assert ipam.of_instance("one") == [a]
    assert ipam.allocate("two", tmp_path, "x").network == b.network  # freed: reused


def test_ipam_concurrent_allocations_never_collide(tmp_path: Path) -> None:
    ipam = Ipam(tmp_path / "ipam")
    found: list[str] = []
    lock = threading.Lock()

    def allocate(i: int) -> None:
        allocation = Ipam(tmp_path / "ipam").allocate(f"i{i % 3}", tmp_path, f"c{i}")
        with lock:
            found.append(allocation.network)

    threads = [threading.Thread(target=allocate, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 30
    assert len(ipam.all()) == 30


def test_a_probe_says_what_it_saw(server: int) -> None:
    podman: Any = None
    bad = look(Probe(kind=HTTP, port=server, path="/bad"), "127.0.0.1", "x", podman)
    assert not bad.ok and bad.what == f"HTTP GET /bad on port {server} answered 500"
    assert look(Probe(kind=HTTP, port=server, path="/ok"), "127.0.0.1", "x", podman).ok
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed = unused.getsockname()[1]
    refused = look(Probe(kind=TCP, port=closed), "127.0.0.1", "x", podman)
    assert not refused.ok
    assert refused.what == f"a connection to port {closed} failed: Connection refused"


def test_a_replica_killed_by_its_liveness_probe_is_not_said_to_have_crashed() -> None:
    killed = "for failing its liveness probe 3 times (last: HTTP GET / on port 5000 answered 500)"
    event = crash_event("web.0003123456-abcde", 137, 1, 1.0, killed=killed)
    assert event == (
        "web.0003123456-abcde was killed for failing its liveness probe 3 times (last: HTTP GET /"
        " on port 5000 answered 500); restart 1, if it crashes again it waits 1 s"
    )
    assert "memory" not in event
