"""The platform's own certificate (deisctl certs:set): the controller at
https://deis.PLATFORM_DOMAIN, and a wildcard for *.PLATFORM_DOMAIN as the default
certificate, through the real nginx, taken while it runs, without a reload."""

from __future__ import annotations

import socket
import ssl
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509

from deis.domain.routing import AppRoute, TLSCertificate
from deis.router.certs import check_pair, install_platform, remove_platform
from deis.router.nginx import NginxRouter
from tests.router.helpers import Backend, curl, free_port, make_cert, missing_nginx

pytestmark = pytest.mark.e2e

DOMAIN = "apps.test"


@pytest.fixture(scope="module")
def tls_router(state_dir: Path, controller: Backend) -> Iterator[NginxRouter]:
    reason = missing_nginx()
    if reason:
        pytest.skip(reason)
    r = NginxRouter(
        state_dir,
        http_port=free_port(),
        https_port=free_port(),
        platform_domain=DOMAIN,
        controller_address=controller.address,
        supervise_interval=0.2,
    )
    r.start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def no_platform_cert(tls_router: NginxRouter) -> Iterator[None]:
    yield
    remove_platform(tls_router.dir.parent)
    wait_for(lambda: "certificate none" in tls_router.admin.describe_platform())


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.1)


def served(router: NginxRouter, name: str) -> x509.Certificate:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", router.config.https_port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def cn(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def https(router: NginxRouter, host: str, ca: Path, path: str = "/") -> list[str]:
    port = router.config.https_port
    return [
        f"https://{host}:{port}{path}",
        "--cacert",
        str(ca),
        "--resolve",
        f"{host}:{port}:127.0.0.1",
    ]


def set_platform_cert(router: NginxRouter, tmp_path: Path, *names: str) -> Path:
    """Install a new certificate for `names` as deisctl does; answers its CA file once
    nginx serves it."""
    pem, key = make_cert(*names)
    install_platform(router.dir.parent, check_pair(pem.encode(), key.encode(), f"deis.{DOMAIN}"))
    ca = tmp_path / f"{names[0].replace('*', 'star')}.pem"
    ca.write_text(pem)
    wait_for(lambda: cn(served(router, f"deis.{DOMAIN}")) == f"CN={names[0]}")
    return ca


def test_the_controller_is_served_with_the_platform_certificate(
    tls_router: NginxRouter,
    backends: Callable[[str], Backend],
    tmp_path: Path,
    no_platform_cert: None,
) -> None:
    web = backends("web")
    tls_router.apply(AppRoute("myapp", (f"myapp.{DOMAIN}",)))
    tls_router.set_peers("myapp", [web.address])
    assert cn(served(tls_router, f"deis.{DOMAIN}")) == f"CN={DOMAIN}"  # the self-signed one
    pid, workers = tls_router.pid, tls_router.process.workers()

    ca = set_platform_cert(tls_router, tmp_path, f"deis.{DOMAIN}")
    r = curl(*https(tls_router, f"deis.{DOMAIN}", ca, "/v2/"))
    assert r.status == 200, r.stderr
    assert r.json()["backend"] == "controller"
    assert r.json()["headers"]["x-forwarded-proto"] == "https"  # type: ignore[index]
    # the certificate covers only deis.DOMAIN: apps keep the self-signed default
    assert cn(served(tls_router, f"myapp.{DOMAIN}")) == f"CN={DOMAIN}"
    assert curl(*https(tls_router, f"myapp.{DOMAIN}", ca)).returncode != 0
    # the key is the owner's only and in no log
    key_file = tls_router.dir / "platform.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secret = key_file.read_text().splitlines()[1]
    for name in ("error.log", "access.log"):
        assert secret not in (tls_router.dir / name).read_text()
    assert "PRIVATE" not in tls_router.admin.describe_platform()
    # taken while nginx runs: no reload
    assert (tls_router.pid, tls_router.process.workers()) == (pid, workers)


def test_a_wildcard_platform_certificate_is_the_default_one(
    tls_router: NginxRouter,
    backends: Callable[[str], Backend],
    tmp_path: Path,
    no_platform_cert: None,
) -> None:
    web = backends("web")
    own_pem, own_key = make_cert(f"own.{DOMAIN}")
    tls_router.apply(AppRoute("plain", (f"plain.{DOMAIN}", "www.shop.test")))
    tls_router.apply(
        AppRoute(
            "own",
            (f"own.{DOMAIN}",),
            certificates=(TLSCertificate("own", (f"own.{DOMAIN}",), own_pem, own_key),),
        )
    )
    # an app that names the controller's host and brings a certificate for it
    thief_pem, thief_key = make_cert(f"deis.{DOMAIN}")
    tls_router.apply(
        AppRoute(
            "thief",
            (f"deis.{DOMAIN}",),
            certificates=(TLSCertificate("t", (f"deis.{DOMAIN}",), thief_pem, thief_key),),
        )
    )
    for app in ("plain", "own", "thief"):
        tls_router.set_peers(app, [web.address])

    ca = set_platform_cert(tls_router, tmp_path, f"*.{DOMAIN}", DOMAIN)
    assert "default 1" in tls_router.admin.describe_platform()
    # every app without its own certificate, verified by curl against the wildcard
    r = curl(*https(tls_router, f"plain.{DOMAIN}", ca))
    assert r.status == 200, r.stderr
    assert r.json()["backend"] == "web"
    assert curl(*https(tls_router, f"deis.{DOMAIN}", ca, "/v2/")).json()["backend"] == "controller"
    # the default for names it does not cover too (better than a self-signed one)
    assert cn(served(tls_router, "www.shop.test")) == f"CN=*.{DOMAIN}"
    # an app's own certificate still wins for its names; the controller's name is never an app's
    assert cn(served(tls_router, f"own.{DOMAIN}")) == f"CN=own.{DOMAIN}"
    assert cn(served(tls_router, f"deis.{DOMAIN}")) == f"CN=*.{DOMAIN}"

    # removed while nginx runs: back to the self-signed default
    remove_platform(tls_router.dir.parent)
    wait_for(lambda: cn(served(tls_router, f"plain.{DOMAIN}")) == f"CN={DOMAIN}")


def test_a_fresh_nginx_gets_the_platform_certificate_again(
    tls_router: NginxRouter, tmp_path: Path, no_platform_cert: None
) -> None:
    ca = set_platform_cert(tls_router, tmp_path, f"deis.{DOMAIN}")
    restarts = tls_router.restarts
    tls_router.process.stop(grace=5)  # nginx dies; the supervisor starts it again
    wait_for(lambda: tls_router.restarts > restarts)
    wait_for(lambda: curl(*https(tls_router, f"deis.{DOMAIN}", ca, "/v2/")).status == 200)


def test_tls_enforced_redirects_plain_http_to_the_controller_with_308(
    tmp_path: Path, controller: Backend, backends: Callable[[str], Backend]
) -> None:
    router = NginxRouter(
        tmp_path / "state",
        http_port=free_port(),
        https_port=free_port(),
        platform_domain=DOMAIN,
        controller_address=controller.address,
        controller_tls_enforce=True,
        supervise_interval=0.2,
    )
    router.start()
    try:
        host, port = f"deis.{DOMAIN}", router.config.http_port
        plain = [f"http://{host}:{port}/v2/apps?page=2", "--resolve", f"{host}:{port}:127.0.0.1"]
        # no certificate yet: nothing a client would trust, so plain HTTP still answers
        r = curl(*plain, "-X", "POST", "-d", "x=1")
        assert r.status == 200 and r.json()["method"] == "POST"
        ca = set_platform_cert(router, tmp_path, host)
        r = curl(*plain, "-X", "POST", "-d", "x=1")
        assert r.status == 308
        https_port = router.config.https_port
        assert r.headers["location"] == f"https://{host}:{https_port}/v2/apps?page=2"
        # a client that follows it keeps the method and the body
        r = curl(
            *plain,
            "-d",
            "x=1",
            "-L",
            *https(router, host, ca)[1:],
            "--resolve",
            f"{host}:{https_port}:127.0.0.1",
        )
        assert r.status == 200, r.stderr
        assert r.json()["method"] == "POST"
        assert r.json()["headers"]["x-forwarded-proto"] == "https"  # type: ignore[index]
        # apps are not concerned (their own `tls:enable` does that)
        web = backends("web")
        router.apply(AppRoute("myapp", (f"myapp.{DOMAIN}",)))
        router.set_peers("myapp", [web.address])
        r = curl(f"http://myapp.{DOMAIN}:{port}/", "--resolve", f"myapp.{DOMAIN}:{port}:127.0.0.1")
        assert r.status == 200
        # the certificate removed: plain HTTP answers again, without a reload
        pid = router.pid
        remove_platform(router.dir.parent)
        wait_for(lambda: curl(*plain).status == 200)
        assert router.pid == pid
    finally:
        router.stop()


def test_without_tls_enforced_plain_http_to_the_controller_answers(
    tls_router: NginxRouter, tmp_path: Path, no_platform_cert: None
) -> None:
    host, port = f"deis.{DOMAIN}", tls_router.config.http_port
    set_platform_cert(tls_router, tmp_path, host)
    r = curl(f"http://{host}:{port}/v2/", "--resolve", f"{host}:{port}:127.0.0.1")
    assert r.status == 200 and r.json()["backend"] == "controller"
