"""The ACME adapter against a real pebble, its HTTP-01 challenges answered by the real
nginx router (pebble resolves the test domains to 127.0.0.1 through the test's DNS)."""

from __future__ import annotations

import base64
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509

from deis.acme.client import AcmeClient
from deis.domain.acme import AcmeError
from deis.domain.routing import AppRoute, TLSCertificate
from deis.router.nginx import NginxRouter
from tests.acme.pebble import DNS, Pebble


def curl_https(router: NginxRouter, host: str, ca: Path) -> tuple[int, int]:
    """(HTTP status, curl's ssl_verify_result) of https://HOST:PORT/ through the router."""
    port = router.config.https_port
    out = subprocess.run(  # noqa: S603 - an argument list, never a shell
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result}",
         "--cacert", str(ca), "--resolve", f"{host}:{port}:127.0.0.1",
         f"https://{host}:{port}/"],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    code, verify = out.stdout.split()
    return int(code), int(verify)


def test_a_certificate_through_the_router_while_the_app_is_closed(
    workdir: Path, router: NginxRouter, pebble: Pebble
) -> None:
    # the app is in maintenance and has routing off: the challenge is answered anyway
    route = AppRoute("shop", ("shop.test", "www.shop.test"), maintenance=True, routable=False)
    router.apply(route)
    acme = AcmeClient(
        workdir / "state", pebble.directory, "ops@shop.test", ca_bundle=str(pebble.ca)
    )

    issued = acme.issue(["shop.test", "www.shop.test"], router)

    mode = stat.S_IMODE(acme.account_key_path.stat().st_mode)
    assert mode == 0o600
    leaf = x509.load_pem_x509_certificates(issued.chain.encode())[0]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == {"shop.test", "www.shop.test"}
    assert router._challenges == {}  # removed once the order is done

    root = workdir / "pebble-root.pem"
    root.write_text(pebble.root())
    router.apply(
        AppRoute(
            "shop", ("shop.test", "www.shop.test"),
            certificates=(TLSCertificate("acme", ("shop.test", "www.shop.test"), issued.chain, issued.key),),
            maintenance=True,
        )
    )  # fmt: skip
    assert curl_https(router, "www.shop.test", root) == (503, 0)  # maintenance, verified chain


def test_the_same_account_key_orders_again(
    workdir: Path, router: NginxRouter, pebble: Pebble
) -> None:
    router.apply(AppRoute("again", ("again.test",)))
    acme = AcmeClient(workdir / "state", pebble.directory, None, ca_bundle=str(pebble.ca))
    before = acme.account_key_path.read_bytes() if acme.account_key_path.exists() else None
    acme.issue(["again.test"], router)
    if before is not None:
        assert acme.account_key_path.read_bytes() == before


def test_a_host_the_router_does_not_answer_for_fails_with_what_the_ca_said(
    workdir: Path, router: NginxRouter, pebble: Pebble
) -> None:
    class Silent:  # publishes nothing: pebble gets the router's 404
        def set_challenge(self, host: str, token: str, key_authorization: str) -> None:
            pass

        def remove_challenge(self, token: str) -> None:
            pass

    acme = AcmeClient(workdir / "state", pebble.directory, None, ca_bundle=str(pebble.ca))
    with pytest.raises(AcmeError) as caught:
        acme.issue(["nobody.test"], Silent())
    assert "nobody.test" in caught.value.message
    assert "404" in caught.value.message or "unauthorized" in caught.value.message


def test_a_ca_that_does_not_answer(workdir: Path) -> None:
    acme = AcmeClient(workdir / "state", "https://127.0.0.1:1/dir", None)
    with pytest.raises(AcmeError, match="cannot reach the CA"):
        acme.issue(["x.test"], object())  # type: ignore[arg-type]


def _get(router: NginxRouter, host: str, path: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{router.config.http_port}{path}"
    out = subprocess.run(  # noqa: S603 - an argument list, never a shell
        ["curl", "-s", "-w", "\n%{http_code}", "-H", f"Host: {host}", url],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    body, _, code = out.stdout.rpartition("\n")
    return int(code), body


def test_the_router_answers_a_challenge_only_for_its_host_and_until_it_is_removed(
    router: NginxRouter,
) -> None:
    router.apply(AppRoute("closed", ("closed.test",), maintenance=True, routable=False))
    path = "/.well-known/acme-challenge/tok-EN_1"
    router.set_challenge("Closed.Test", "tok-EN_1", "tok-EN_1.thumb_print")
    assert _get(router, "closed.test:80", path) == (200, "tok-EN_1.thumb_print")
    assert _get(router, "other.test", path)[0] == 404
    assert _get(router, "closed.test", "/.well-known/acme-challenge/other")[0] == 404
    router.remove_challenge("tok-EN_1")
    assert _get(router, "closed.test", path)[0] == 404
    with pytest.raises(ValueError):
        router.set_challenge("closed.test", "bad token", "x.y")


def test_a_pending_challenge_is_given_again_to_a_restarted_nginx(router: NginxRouter) -> None:
    router.apply(AppRoute("kept", ("kept.test",)))
    router.set_challenge("kept.test", "tok-kept", "tok-kept.thumb")
    path = "/.well-known/acme-challenge/tok-kept"
    pid = router.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # the nginx this module's router started
    deadline = time.monotonic() + 30
    while router.pid in (None, pid) or _get(router, "kept.test", path)[0] != 200:
        assert time.monotonic() < deadline, "nginx was not started again with the challenge"
        time.sleep(0.2)
    assert _get(router, "kept.test", path) == (200, "tok-kept.thumb")
    router.remove_challenge("tok-kept")


def test_the_controllers_name_answers_challenges_and_still_reaches_the_controller(
    router: NginxRouter,
) -> None:
    path = "/.well-known/acme-challenge/tok-platform"
    assert _get(router, "deis.apps.test", path)[0] == 404
    router.set_challenge("deis.apps.test", "tok-platform", "tok-platform.thumb")
    assert _get(router, "deis.apps.test", path) == (200, "tok-platform.thumb")
    router.remove_challenge("tok-platform")
    assert _get(router, "deis.apps.test", path)[0] == 404
    assert "controller" in _get(router, "deis.apps.test", "/")[1]


def test_a_certificate_for_the_controllers_name(
    workdir: Path, router: NginxRouter, pebble: Pebble
) -> None:
    acme = AcmeClient(workdir / "state", pebble.directory, None, ca_bundle=str(pebble.ca))
    issued = acme.issue(["deis.apps.test"], router)
    assert "BEGIN CERTIFICATE" in issued.chain


def test_a_ca_that_requires_an_external_account_binding(
    workdir: Path, router: NginxRouter, dns: DNS
) -> None:
    hmac_key = base64.urlsafe_b64encode(b"k" * 32).decode().rstrip("=")
    ca = Pebble(workdir / "pebble-eab", http_port=router.config.http_port, dns_port=dns.port,
                eab_keys={"kid-1": hmac_key})  # fmt: skip
    ca.start()
    try:
        router.apply(AppRoute("bound", ("bound.test",)))
        unbound = AcmeClient(workdir / "eab-0", ca.directory, "ops@shop.test", ca_bundle=str(ca.ca))
        with pytest.raises(AcmeError, match="externalAccountRequired|external account"):
            unbound.issue(["bound.test"], router)
        wrong = AcmeClient(workdir / "eab-1", ca.directory, "ops@shop.test",
                           ca_bundle=str(ca.ca), eab=("kid-2", hmac_key))  # fmt: skip
        with pytest.raises(AcmeError):
            wrong.issue(["bound.test"], router)
        bound = AcmeClient(workdir / "eab-2", ca.directory, "ops@shop.test",
                           ca_bundle=str(ca.ca), eab=("kid-1", hmac_key))  # fmt: skip
        assert "BEGIN CERTIFICATE" in bound.issue(["bound.test"], router).chain
    finally:
        ca.stop()
