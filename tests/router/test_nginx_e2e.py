"""The nginx router end to end: real nginx, real Lua, backends on 127.0.0.1.

curl resolves *.localhost itself; custom domains go through `curl --resolve`.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import ssl
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509

from deis.domain.routing import AppRoute, RouteLimits, TLSCertificate
from deis.router.nginx import NginxRouter
from tests.router.helpers import Backend, curl, make_cert

pytestmark = pytest.mark.e2e

Start = Callable[[str], Backend]


def wait_until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.1)


def http_url(router: NginxRouter, host: str, path: str = "/") -> str:
    return f"http://{host}:{router.config.http_port}{path}"


def https_url(router: NginxRouter, host: str, path: str = "/") -> str:
    return f"https://{host}:{router.config.https_port}{path}"


def resolve(router: NginxRouter, host: str) -> list[str]:
    return [
        "--resolve",
        f"{host}:{router.config.http_port}:127.0.0.1",
        "--resolve",
        f"{host}:{router.config.https_port}:127.0.0.1",
    ]


def test_app_host_round_robin_over_ready_replicas(router: NginxRouter, backends: Start) -> None:
    a, b = backends("a"), backends("b")
    router.apply(AppRoute("rr", ("rr.localhost",)))
    router.set_peers("rr", [a.address, b.address])
    seen = [curl(http_url(router, "rr.localhost")).json()["backend"] for _ in range(6)]
    assert seen.count("a") == 3 and seen.count("b") == 3


def test_upstream_connections_are_kept_alive(router: NginxRouter, backends: Start) -> None:
    web = backends("kept")
    router.apply(AppRoute("kept", ("kept.localhost",)))
    router.set_peers("kept", [web.address])
    for _ in range(20):
        assert curl(http_url(router, "kept.localhost")).status == 200
    # one connection per nginx worker at most, not one per request
    assert len(web.server.client_ports) <= len(router.process.workers())


def test_custom_domains_exact_and_wildcard(router: NginxRouter, backends: Start) -> None:
    web = backends("web")
    router.apply(AppRoute("shop", ("shop.localhost", "shop.example.com", "*.example.org")))
    router.set_peers("shop", [web.address])
    for host in ("shop.example.com", "www.example.org", "a.b.example.org"):
        r = curl(http_url(router, host), *resolve(router, host))
        assert r.status == 200, host
        assert r.json()["headers"]["host"] == f"{host}:{router.config.http_port}"  # type: ignore[index]
    # a name the wildcard does not cover
    r = curl(http_url(router, "example.org"), *resolve(router, "example.org"))
    assert r.status == 404


def test_unknown_host_gets_the_platform_404_not_another_app(
    router: NginxRouter, backends: Start
) -> None:
    web = backends("web")
    router.apply(AppRoute("known", ("known.localhost",)))
    router.set_peers("known", [web.address])
    hits = web.server.hits
    for host in ("nobody.localhost", "known.localhost.evil.com"):
        r = curl(http_url(router, host), *resolve(router, host))
        assert r.status == 404
        assert "No app is served at this address" in r.body
    r = curl(f"http://127.0.0.1:{router.config.http_port}/", "-H", "Host: unknown.example")
    assert r.status == 404
    assert web.server.hits == hits


def test_forwarded_headers_request_id_and_start(router: NginxRouter, backends: Start) -> None:
    web = backends("web")
    router.apply(AppRoute("hdr", ("hdr.localhost",)))
    router.set_peers("hdr", [web.address])
    before = time.time()
    headers = curl(http_url(router, "hdr.localhost", "/x?y=1")).json()["headers"]
    assert isinstance(headers, dict)
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-port"] == str(router.config.http_port)
    start = float(headers["x-request-start"].removeprefix("t="))
    assert before - 1 < start < time.time() + 1
    # made by the router: 32 hex digits, a new one for every request, in the access log
    ids = [headers["x-request-id"]] + [
        curl(http_url(router, "hdr.localhost")).json()["headers"]["x-request-id"]  # type: ignore[index]
        for _ in range(3)
    ]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids), ids
    assert len(set(ids)) == 4
    wait_until(lambda: ids[-1] in router.access_log.read_text())
    # a client's own request id is kept; over https the proto and port say so
    rid = "client-chosen-request-id-0001"
    headers = curl(https_url(router, "hdr.localhost"), "-k", "-H", f"X-Request-Id: {rid}").json()[
        "headers"
    ]
    assert isinstance(headers, dict)
    assert headers["x-request-id"] == rid
    assert headers["x-forwarded-proto"] == "https"
    assert headers["x-forwarded-port"] == str(router.config.https_port)


def test_a_failing_replica_is_skipped(router: NginxRouter, backends: Start) -> None:
    live = backends("live")
    dead = backends("dead")
    dead_address = dead.address
    dead.stop()  # the port now refuses connections
    router.apply(AppRoute("flaky", ("flaky.localhost",)))
    router.set_peers("flaky", [dead_address, live.address])
    results = [curl(http_url(router, "flaky.localhost")) for _ in range(8)]
    assert [r.status for r in results] == [200] * 8
    assert {r.json()["backend"] for r in results} == {"live"}
    # the failure was noticed, so later requests skip the dead one without retrying
    assert "failed; skipped" in (router.dir / "error.log").read_text()
    # two of three failing: a request tries each at most once and reaches the live one
    dead_too = backends("dead2")
    dead2_address = dead_too.address
    dead_too.stop()
    router.apply(AppRoute("flaky3", ("flaky3.localhost",)))
    router.set_peers("flaky3", [dead2_address, dead_address, live.address])
    results = [curl(http_url(router, "flaky3.localhost")) for _ in range(6)]
    assert [r.status for r in results] == [200] * 6
    assert {r.json()["backend"] for r in results} == {"live"}


def test_websocket_upgrade_passes_through(router: NginxRouter, backends: Start) -> None:
    web = backends("ws")
    router.apply(AppRoute("ws", ("ws.localhost",)))
    router.set_peers("ws", [web.address])
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", router.config.http_port), timeout=5) as sock:
        sock.sendall(
            (
                "GET /chat HTTP/1.1\r\nHost: ws.localhost\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 101")
        assert b"sec-websocket-accept" in head.lower()
        frame = (
            b"\x81\x85"
            + b"\x01\x02\x03\x04"
            + bytes(c ^ m for c, m in zip(b"hello", b"\x01\x02\x03\x04\x01", strict=True))
        )
        sock.sendall(frame)
        echoed = b""
        while len(echoed) < len(frame):
            echoed += sock.recv(4096)
        assert echoed == frame


def test_body_size_and_timeouts(router: NginxRouter, backends: Start, tmp_path: Path) -> None:
    web = backends("web")
    router.apply(AppRoute("limits", ("limits.localhost",)))
    router.set_peers("limits", [web.address])
    small = tmp_path / "small"
    small.write_bytes(b"x" * 60_000)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 70_000)  # the fixture's router allows 64k
    r = curl(http_url(router, "limits.localhost"), "--data-binary", f"@{small}")
    assert r.status == 200 and r.json()["received"] == 60_000
    assert curl(http_url(router, "limits.localhost"), "--data-binary", f"@{big}").status == 413
    # proxy_read_timeout=2: a replica slower than that gets 504
    assert curl(http_url(router, "limits.localhost", "/sleep/0.2")).status == 200
    assert curl(http_url(router, "limits.localhost", "/sleep/3")).status == 504


def _post(router: NginxRouter, host: str, body: Path, *extra: str) -> int:
    return curl(http_url(router, host), "--data-binary", f"@{body}", *extra).status


CHUNKED = ("-H", "Transfer-Encoding: chunked")


def test_an_apps_own_body_size_without_a_reload(
    router: NginxRouter, backends: Start, tmp_path: Path
) -> None:
    web = backends("web")
    host = "uploads.localhost"
    router.apply(AppRoute("uploads", (host,)))
    router.set_peers("uploads", [web.address])
    sizes = {"70k": 70_000, "120k": 120_000, "300k": 300_000}
    files = {}
    for name, size in sizes.items():
        files[name] = tmp_path / name
        files[name].write_bytes(b"x" * size)
    pid, workers = router.pid, router.process.workers()
    # the platform's default (64k), for bodies of known and of unknown length
    assert _post(router, host, files["70k"]) == 413
    assert _post(router, host, files["70k"], *CHUNKED) == 413
    # DEIS_ROUTER_BODY_SIZE=100k
    router.apply(AppRoute("uploads", (host,), limits=RouteLimits(body_size=100 * 1024)))
    r = curl(http_url(router, host), "--data-binary", f"@{files['70k']}")
    assert r.status == 200 and r.json()["received"] == 70_000
    r = curl(http_url(router, host), "--data-binary", f"@{files['70k']}", *CHUNKED)
    assert r.status == 200, r.body
    r = curl(http_url(router, host), "--data-binary", f"@{files['120k']}")
    assert r.status == 413 and "larger than this app accepts" in r.body
    assert _post(router, host, files["120k"], *CHUNKED) == 413
    # HTTP/2, with and without a length
    h2 = (https_url(router, host), "-k", "--http2", "--data-binary")
    assert curl(*h2, f"@{files['70k']}").status == 200
    assert curl(*h2, f"@{files['120k']}").status == 413
    assert curl(*h2, f"@{files['120k']}", *CHUNKED).status == 413
    # never above the router's ceiling (256k), whatever the app says
    router.apply(AppRoute("uploads", (host,), limits=RouteLimits(body_size=10 * 1024**2)))
    assert _post(router, host, files["120k"]) == 200
    assert _post(router, host, files["300k"]) == 413
    assert _post(router, host, files["300k"], *CHUNKED) == 413
    # another app keeps the default; nothing was reloaded
    router.apply(AppRoute("plain", ("plain.localhost",)))
    router.set_peers("plain", [web.address])
    assert _post(router, "plain.localhost", files["70k"]) == 413
    assert (router.pid, router.process.workers()) == (pid, workers)


def test_an_apps_own_timeouts_without_a_reload(router: NginxRouter, backends: Start) -> None:
    web = backends("web")
    host = "slow.localhost"
    router.apply(AppRoute("slow", (host,)))
    router.set_peers("slow", [web.address])
    pid, workers = router.pid, router.process.workers()
    assert curl(http_url(router, host, "/sleep/1.2")).status == 200  # default: 2 s
    # DEIS_ROUTER_READ_TIMEOUT=1
    router.apply(AppRoute("slow", (host,), limits=RouteLimits(read_timeout=1)))
    assert curl(http_url(router, host, "/sleep/1.5")).status == 504
    assert curl(http_url(router, host, "/sleep/0.1")).status == 200
    # DEIS_ROUTER_READ_TIMEOUT=5: longer than the platform's default
    router.apply(AppRoute("slow", (host,), limits=RouteLimits(read_timeout=5, send_timeout=5)))
    assert curl(http_url(router, host, "/sleep/3")).status == 200
    assert "read_timeout 5" in router.describe("slow")
    assert (router.pid, router.process.workers()) == (pid, workers)


def _served_cert(router: NginxRouter, name: str) -> x509.Certificate:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", router.config.https_port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def _cn(cert: x509.Certificate) -> str:
    return str(cert.subject.rfc4514_string())


def test_tls_with_sni_from_attached_certificates(
    router: NginxRouter, backends: Start, tmp_path: Path
) -> None:
    web = backends("web")
    exact_pem, exact_key = make_cert("secure.example.com")
    wild_pem, wild_key = make_cert("*.example.net")
    router.apply(
        AppRoute(
            "secure",
            ("secure.localhost", "secure.example.com", "*.example.net"),
            certificates=(
                TLSCertificate("exact", ("secure.example.com",), exact_pem, exact_key),
                TLSCertificate("wild", ("*.example.net",), wild_pem, wild_key),
            ),
        )
    )
    router.set_peers("secure", [web.address])
    (tmp_path / "exact.pem").write_text(exact_pem)
    (tmp_path / "wild.pem").write_text(wild_pem)
    host = "secure.example.com"
    r = curl(
        https_url(router, host), "--cacert", str(tmp_path / "exact.pem"), *resolve(router, host)
    )
    assert r.status == 200, r.stderr
    assert r.json()["headers"]["x-forwarded-proto"] == "https"  # type: ignore[index]
    host = "api.example.net"
    r = curl(
        https_url(router, host), "--cacert", str(tmp_path / "wild.pem"), *resolve(router, host)
    )
    assert r.status == 200, r.stderr
    # a name without a certificate gets the platform's default one
    assert _cn(_served_cert(router, "secure.localhost")) == "CN=localhost"
    assert _cn(_served_cert(router, "secure.example.com")) == "CN=secure.example.com"
    # detaching the certificate takes it away, without a reload
    pid, workers = router.pid, router.process.workers()
    router.apply(AppRoute("secure", ("secure.localhost", "secure.example.com")))
    assert _cn(_served_cert(router, "secure.example.com")) == "CN=localhost"
    assert (router.pid, router.process.workers()) == (pid, workers)


def test_private_keys_are_0600_and_never_logged(
    router: NginxRouter, backends: Start, caplog: pytest.LogCaptureFixture
) -> None:
    pem, key = make_cert("keys.example.com")
    router.apply(
        AppRoute(
            "keys",
            ("keys.example.com",),
            certificates=(TLSCertificate("k", ("keys.example.com",), pem, key),),
        )
    )
    for name in ("table.json", "default.key"):
        assert stat.S_IMODE((router.dir / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(router.dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(router.admin_socket.parent.stat().st_mode) == 0o700
    secret = key.splitlines()[1]
    assert secret in (router.dir / "table.json").read_text()
    for log_file in ("error.log", "access.log"):
        assert secret not in (router.dir / log_file).read_text()
    assert secret not in caplog.text
    assert "PRIVATE" not in router.describe("keys")
    assert secret not in repr(router._routes["keys"])


def test_https_enforced_redirects_with_301(router: NginxRouter, backends: Start) -> None:
    web = backends("web")
    router.apply(AppRoute("tls", ("tls.localhost",), https_enforced=True))
    router.set_peers("tls", [web.address])
    r = curl(http_url(router, "tls.localhost", "/path?q=1"))
    assert r.status == 301
    assert r.headers["location"] == https_url(router, "tls.localhost", "/path?q=1")
    assert curl(https_url(router, "tls.localhost"), "-k").status == 200


def test_allow_list_answers_403_to_other_addresses(router: NginxRouter, backends: Start) -> None:
    web = backends("web")
    router.set_peers("allow", [web.address])
    router.apply(AppRoute("allow", ("allow.localhost",), whitelist=("10.0.0.0/8", "::1")))
    r = curl(http_url(router, "allow.localhost"))
    assert r.status == 403 and "403 Forbidden" in r.body
    router.apply(AppRoute("allow", ("allow.localhost",), whitelist=("10.0.0.0/8", "127.0.0.1")))
    assert curl(http_url(router, "allow.localhost")).status == 200
    router.apply(AppRoute("allow", ("allow.localhost",), whitelist=("127.0.0.0/30",)))
    assert curl(http_url(router, "allow.localhost")).status == 200
    # entries that are not networks never open the app to everyone
    router.apply(AppRoute("allow", ("allow.localhost",), whitelist=("not-an-address",)))
    assert curl(http_url(router, "allow.localhost")).status == 403


def test_maintenance_answers_503(router: NginxRouter, backends: Start) -> None:
    web = backends("web")
    router.set_peers("maint", [web.address])
    router.apply(AppRoute("maint", ("maint.localhost",), maintenance=True))
    r = curl(http_url(router, "maint.localhost"))
    assert r.status == 503 and "maintenance" in r.body
    router.apply(AppRoute("maint", ("maint.localhost",)))
    assert curl(http_url(router, "maint.localhost")).status == 200


def test_routable_false_takes_the_app_out(router: NginxRouter, backends: Start) -> None:
    web = backends("web")
    router.set_peers("hidden", [web.address])
    router.apply(AppRoute("hidden", ("hidden.localhost",), routable=False))
    assert curl(http_url(router, "hidden.localhost")).status == 404
    router.apply(AppRoute("hidden", ("hidden.localhost",)))
    assert curl(http_url(router, "hidden.localhost")).status == 200


def test_no_ready_replica_answers_503(router: NginxRouter) -> None:
    router.apply(AppRoute("empty", ("empty.localhost",)))
    router.set_peers("empty", [])
    r = curl(http_url(router, "empty.localhost"))
    assert r.status == 503 and "no web process" in r.body


def test_removed_app_is_gone(router: NginxRouter, backends: Start) -> None:
    web = backends("web")
    router.apply(AppRoute("gone", ("gone.localhost", "gone.example.com")))
    router.set_peers("gone", [web.address])
    assert curl(http_url(router, "gone.localhost")).status == 200
    router.remove("gone")
    assert curl(http_url(router, "gone.localhost")).status == 404
    assert "gone" not in router._routes


def test_the_controller_is_served_at_deis_domain(router: NginxRouter) -> None:
    r = curl(http_url(router, "deis.localhost", "/v2/"))
    assert r.status == 200
    assert r.json()["backend"] == "controller"
    assert r.json()["headers"]["x-forwarded-for"] == "127.0.0.1"  # type: ignore[index]
    assert re.fullmatch(r"[0-9a-f]{32}", r.json()["headers"]["x-request-id"])  # type: ignore[index]
    # an app cannot take the controller's host
    router.apply(AppRoute("thief", ("deis.localhost",)))
    assert curl(http_url(router, "deis.localhost")).json()["backend"] == "controller"


def test_no_change_reloads_nginx(router: NginxRouter, backends: Start) -> None:
    web, other = backends("web"), backends("other")
    pid, workers = router.pid, router.process.workers()
    assert pid is not None and workers
    router.apply(AppRoute("steady", ("steady.localhost",)))
    router.set_peers("steady", [web.address])
    router.set_peers("steady", [other.address])
    router.apply(AppRoute("steady", ("steady.localhost", "steady.example.com"), maintenance=True))
    router.apply(AppRoute("steady", ("steady.localhost",)))
    assert curl(http_url(router, "steady.localhost")).json()["backend"] == "other"
    assert router.pid == pid
    assert router.process.workers() == workers  # a reload would have new workers


def test_metrics_per_app_from_the_access_log(router: NginxRouter, backends: Start) -> None:
    web = backends("web")
    router.apply(AppRoute("counted", ("counted.localhost",)))
    router.set_peers("counted", [web.address])
    for _ in range(5):
        assert curl(http_url(router, "counted.localhost")).status == 200
    assert curl(http_url(router, "counted.localhost", "/sleep/0.3")).status == 200
    router.apply(AppRoute("counted", ("counted.localhost",), maintenance=True))
    assert curl(http_url(router, "counted.localhost")).status == 503
    deadline = time.monotonic() + 5  # nginx flushes its log buffer every second
    m = router.metrics("counted")
    while m["requests"] < 7 and time.monotonic() < deadline:
        time.sleep(0.2)
        m = router.metrics("counted")
    assert m["requests"] == 7
    assert m["statuses"] == {"1xx": 0, "2xx": 6, "3xx": 0, "4xx": 0, "5xx": 1}
    assert 250 <= m["latency_ms"]["max"] <= 1000
    assert m["latency_ms"]["p50"] < 100
    assert router.metrics("never-seen")["requests"] == 0


def test_peers_by_name_are_resolved_and_bad_ones_skipped(
    router: NginxRouter, backends: Start
) -> None:
    web = backends("named")
    port = web.address.rpartition(":")[2]
    router.apply(AppRoute("named", ("named.localhost",)))
    router.set_peers("named", [f"localhost:{port}", "no-such-host.invalid:80", "garbage"])
    assert "peer 127.0.0.1:" + port in router.describe("named")
    assert router.describe("named").count("peer ") == 1
    assert curl(http_url(router, "named.localhost")).json()["backend"] == "named"
