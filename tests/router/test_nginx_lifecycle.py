"""The nginx process under the adapter: checked configurations, supervision, adoption,
and no request lost while apps change."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deis.domain.routing import AppRoute, TLSCertificate
from deis.router.nginx import NginxRouter, RouterConfigError
from deis.router.process import NginxError, alive
from tests.router.conftest import make_router
from tests.router.helpers import Backend, curl, make_cert, missing_nginx
from tests.router.test_nginx_e2e import Start

pytestmark = pytest.mark.e2e


@pytest.fixture
def fresh(state_dir: Path, controller: Backend) -> Iterator[list[NginxRouter]]:
    """Routers a test makes (in its own state dir); each one stopped at the end."""
    reason = missing_nginx()
    if reason:
        pytest.skip(reason)
    made: list[NginxRouter] = []
    yield made
    for r in made:
        pid, workers = r.process.pid(), r.process.workers()
        r.stop()
        assert pid is None or not alive(pid)
        assert not any(alive(w) for w in workers)


def _state(state_dir: Path, name: str) -> Path:
    return state_dir.parent / name


def test_a_configuration_failing_nginx_t_is_never_applied(
    fresh: list[NginxRouter],
    state_dir: Path,
    controller: Backend,
    caplog: pytest.LogCaptureFixture,
) -> None:
    state = _state(state_dir, "checked")
    good = make_router(state, controller)
    fresh.append(good)
    good.start()
    good.detach()  # nginx keeps serving, as when the platform restarts
    pid = good.pid
    conf_before = good.conf_path.read_text()
    # the same state dir, a controller nginx cannot resolve: `nginx -t` fails
    bad = NginxRouter(
        state,
        http_port=good.config.http_port,
        https_port=good.config.https_port,
        controller_address="no-such-host.invalid:80",
    )
    with caplog.at_level(logging.ERROR), pytest.raises(RouterConfigError, match="host not found"):
        bad.start()
    assert "failed `nginx -t`" in caplog.text and "no-such-host.invalid" in caplog.text
    assert good.conf_path.read_text() == conf_before
    assert good.pid == pid  # still the same nginx, never reloaded with it
    assert curl(f"http://deis.localhost:{good.config.http_port}/").status == 200


def test_a_dead_nginx_is_started_again_with_the_whole_table(
    fresh: list[NginxRouter], state_dir: Path, controller: Backend
) -> None:
    web = Backend.start("web")
    try:
        r = make_router(_state(state_dir, "supervised"), controller)
        fresh.append(r)
        r.start()
        r.apply(AppRoute("phoenix", ("phoenix.localhost",)))
        r.set_peers("phoenix", [web.address])
        url = f"http://phoenix.localhost:{r.config.http_port}/"
        assert curl(url).status == 200
        old = r.pid
        assert old is not None
        os.kill(old, signal.SIGKILL)  # the master dies; its workers are orphans
        deadline = time.monotonic() + 10
        while (r.pid in (None, old) or r.restarts == 0) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert r.pid not in (None, old)
        assert r.restarts == 1
        assert curl(url).status == 200
    finally:
        web.stop()


def test_a_restarted_platform_adopts_the_running_nginx(
    fresh: list[NginxRouter], state_dir: Path, controller: Backend
) -> None:
    web = Backend.start("web")
    try:
        state = _state(state_dir, "adopted")
        first = make_router(state, controller)
        fresh.append(first)
        first.start()
        first.apply(AppRoute("stay", ("stay.localhost",)))
        first.set_peers("stay", [web.address])
        first.detach()
        pid = first.pid
        second = NginxRouter(
            state,
            http_port=first.config.http_port,
            https_port=first.config.https_port,
            controller_address=controller.address,
        )
        fresh.append(second)
        second.start()  # same configuration: adopted, not restarted nor reloaded
        assert second.pid == pid
        assert "stay" in second._routes  # from table.json
        assert curl(f"http://stay.localhost:{second.config.http_port}/").status == 200
    finally:
        web.stop()


def test_the_access_log_is_rotated_without_losing_counts(
    fresh: list[NginxRouter], state_dir: Path, controller: Backend
) -> None:
    web = Backend.start("web")
    try:
        r = make_router(_state(state_dir, "rotated"), controller, max_log_bytes=2000)
        fresh.append(r)
        r.start()
        r.apply(AppRoute("busy", ("busy.localhost",)))
        r.set_peers("busy", [web.address])
        for _ in range(30):  # about 300 bytes of log each
            assert curl(f"http://busy.localhost:{r.config.http_port}/").status == 200
        deadline = time.monotonic() + 10
        while r.metrics("busy")["requests"] < 30 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (r.dir / "access.log.1").exists()
        assert r.metrics("busy")["requests"] == 30
    finally:
        web.stop()


def test_no_request_lost_while_everything_changes(router: NginxRouter, backends: Start) -> None:
    pool = [backends(f"b{i}") for i in range(4)]
    pem, key = make_cert("load.example.com")
    router.apply(AppRoute("load", ("load.localhost",)))
    router.apply(AppRoute("other", ("other.localhost",)))
    router.set_peers("load", [pool[0].address, pool[1].address])
    stop = threading.Event()
    counts = {"ok": 0, "failed": 0}
    failures: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(trust_env=False, timeout=10) as c:
            while not stop.is_set():
                try:
                    resp = c.get(
                        f"http://127.0.0.1:{router.config.http_port}/",
                        headers={"Host": "load.localhost"},
                    )
                    good = resp.status_code == 200
                    why = f"status {resp.status_code}"
                except httpx.HTTPError as exc:
                    good, why = False, repr(exc)
                with lock:
                    counts["ok" if good else "failed"] += 1
                    if not good:
                        failures.append(why)

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        for i in range(20):
            router.set_peers("load", [pool[i % 4].address, pool[(i + 1) % 4].address])
            hosts: tuple[str, ...] = ("load.localhost",)
            certs: tuple[TLSCertificate, ...] = ()
            if i % 2:
                hosts += ("load.example.com",)
                certs = (TLSCertificate("c", ("load.example.com",), pem, key),)
            router.apply(AppRoute("load", hosts, certificates=certs))
            router.apply(AppRoute("other", ("other.localhost",), maintenance=i % 2 == 0))
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)
    assert counts["failed"] == 0, failures[:5]
    assert counts["ok"] > 200


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_ports_80_and_443_when_asked(
    fresh: list[NginxRouter], state_dir: Path, controller: Backend
) -> None:
    if os.geteuid() != 0:
        pytest.skip("binding ports 80 and 443 needs root")
    if not (_port_free(80) and _port_free(443)):
        pytest.skip("ports 80 or 443 are taken on this machine")
    web = Backend.start("web")
    try:
        r = NginxRouter(
            _state(state_dir, "privileged"),
            http_port=80,
            https_port=443,
            controller_address=controller.address,
        )
        fresh.append(r)
        r.start()
        r.apply(AppRoute("std", ("std.localhost",), https_enforced=True))
        r.set_peers("std", [web.address])
        redirect = curl("http://std.localhost/a")
        assert redirect.status == 301
        assert redirect.headers["location"] == "https://std.localhost/a"  # no port: 443
        assert curl("https://std.localhost/a", "-k").status == 200
        assert r.process.workers()
        assert all(Path(f"/proc/{w}").stat().st_uid != 0 for w in r.process.workers())
    finally:
        web.stop()


def test_a_port_in_use_is_reported_with_nginx_s_reason(
    fresh: list[NginxRouter], state_dir: Path, controller: Backend
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        r = NginxRouter(
            _state(state_dir, "busy-port"),
            http_port=taken.getsockname()[1],
            https_port=make_router(state_dir, controller).config.https_port,
            controller_address=controller.address,
            start_timeout=10,
        )
        fresh.append(r)
        with pytest.raises(NginxError, match="Address already in use"):
            r.start()
        assert r.process.pid() is None


def test_a_changed_configuration_is_checked_then_reloaded_into_the_running_nginx(
    fresh: list[NginxRouter], state_dir: Path, controller: Backend, tmp_path: Path
) -> None:
    web = Backend.start("web")
    try:
        state = _state(state_dir, "reconfigured")
        first = make_router(state, controller, client_max_body_size="1k")
        fresh.append(first)
        first.start()
        first.apply(AppRoute("body", ("body.localhost",)))
        first.set_peers("body", [web.address])
        url = f"http://body.localhost:{first.config.http_port}/"
        payload = tmp_path / "payload"
        payload.write_bytes(b"x" * 4096)
        assert curl(url, "--data-binary", f"@{payload}").status == 413
        first.detach()
        pid, workers = first.pid, first.process.workers()
        second = NginxRouter(
            state,
            http_port=first.config.http_port,
            https_port=first.config.https_port,
            controller_address=controller.address,
            client_max_body_size="8k",
        )
        fresh.append(second)
        second.start()
        assert second.pid == pid  # the same master, reloaded: new workers
        deadline = time.monotonic() + 10
        while set(second.process.workers()) & set(workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not set(second.process.workers()) & set(workers)
        assert "client_max_body_size 8k;" in second.conf_path.read_text()
        assert curl(url, "--data-binary", f"@{payload}").status == 200
    finally:
        web.stop()
