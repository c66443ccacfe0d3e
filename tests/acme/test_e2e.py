"""Automatic TLS end to end, as a user and an operator do it: `deisctl up --acme-email
--acme-directory` against a real pebble whose HTTP-01 validation reaches the platform's
real nginx router, `deis domains:add`, `deis tls:auto:enable`, then curl verifies the
pebble-issued chain; certificates of 60 s are renewed at two thirds of their life; with
pebble stopped, the last certificate is still served and the error is in `deis tls:info`
and `deis logs`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509

from tests.acme.pebble import DNS, Pebble, missing_pebble
from tests.cli.conftest import VENV_BIN, Deis, base_env, read_pid
from tests.router.helpers import free_port, missing_nginx

pytestmark = pytest.mark.e2e

DOMAIN = "apps.test"
HOST = "www.shop.test"
VALIDITY = 60  # seconds: renewed after 40


def wait_for(what: str, condition: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not in {timeout}s: {what}")
        time.sleep(0.5)


class Site:
    def __init__(self, root: Path, https_port: int) -> None:
        self.root = root
        self.https_port = https_port

    def served(self, host: str = HOST) -> x509.Certificate:
        """The certificate the router serves for the host, verified against pebble's root."""
        context = ssl.create_default_context(cafile=str(self.root))
        with socket.create_connection(("127.0.0.1", self.https_port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                der = tls.getpeercert(binary_form=True)
        assert der is not None
        return x509.load_der_x509_certificate(der)

    def curl(self) -> str:
        out = subprocess.run(  # noqa: S603 - an argument list, never a shell
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result}",
             "--cacert", str(self.root), "--resolve", f"{HOST}:{self.https_port}:127.0.0.1",
             f"https://{HOST}:{self.https_port}/"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        return out.stdout


@pytest.fixture
def platform(workdir: Path, dns: DNS) -> Iterator[tuple[Deis, Pebble, Site, Path]]:
    reason = missing_nginx() or missing_pebble()
    if reason:
        pytest.skip(reason)
    root = workdir / "e2e"
    home = root / "home"
    home.mkdir(parents=True)
    router_port, https_port, api_port = free_port(), free_port(), free_port()
    pebble = Pebble(root / "pebble", http_port=router_port, dns_port=dns.port, validity=VALIDITY)
    pebble.start()
    state = root / "state"
    env = {**base_env(home), "DEIS_ACME_INTERVAL": "1"}
    deisctl = str(VENV_BIN / "deisctl")
    try:
        up = subprocess.run(  # noqa: S603 - an argument list, never a shell
            [deisctl, "up", "--state-dir", str(state), "--api-port", str(api_port),
             "--ssh-port", str(free_port()), "--registry-port", str(free_port()),
             "--router-port", str(router_port), "--router-https-port", str(https_port),
             "--runtime", "record", "--router", "nginx", "--builder", "none",
             "--domain", DOMAIN, "--acme-email", "ops@shop.test",
             "--acme-directory", pebble.directory, "--acme-ca-bundle", str(pebble.ca),
             "--acme-platform"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert up.returncode == 0, up.stdout + up.stderr
        pem = root / "pebble-root.pem"
        pem.write_text(pebble.root())
        deis = Deis(home, "acme", home)
        deis("register", f"http://127.0.0.1:{api_port}", "--username", "admin",
             "--password", "admin-pass-1", "--email", "admin@shop.test")  # fmt: skip
        yield deis, pebble, Site(pem, https_port), state
    finally:
        pid = read_pid(state)
        subprocess.run(  # noqa: S603 - an argument list, never a shell
            [deisctl, "down", "--state-dir", str(state)],
            env=env, capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        pebble.stop()


def test_tls_auto_issues_renews_and_keeps_serving_when_the_ca_is_down(
    platform: tuple[Deis, Pebble, Site, Path],
) -> None:
    deis, pebble, site, state = platform
    deis("create", "shop", "--no-remote")

    # --acme-platform: the controller's own name, deis.DOMAIN
    def controller_verified() -> bool:
        try:
            return site.served(f"deis.{DOMAIN}").subject.rfc4514_string() == f"CN=deis.{DOMAIN}"
        except ssl.SSLError:  # still the self-signed one
            return False

    wait_for("the controller's certificate", controller_verified)
    info = subprocess.run(  # noqa: S603 - an argument list, never a shell
        [str(VENV_BIN / "deisctl"), "certs:info", "--state-dir", str(state)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert f"deis.{DOMAIN}: deis.{DOMAIN}, valid until " in info.stdout, info.stdout + info.stderr
    assert f"Automatic (ACME): on; certificate from {pebble.directory}" in info.stdout

    deis("domains:add", HOST, "-a", "shop")
    enabled = deis("tls:auto:enable", "-a", "shop")
    assert "Enabling automatic TLS for shop... done" in enabled.out

    wait_for(
        "a certificate", lambda: "acme-www-shop-test (auto)" in deis("tls:info", "-a", "shop").out
    )
    info = deis("tls:info", "-a", "shop").out
    assert f"Automatic TLS: enabled ({pebble.directory})" in info
    assert "Pebble Intermediate CA" in info
    assert site.curl() == "503 0"  # verified by pebble's root; no web process (runtime: record)
    first = site.served()
    assert first.subject.rfc4514_string() == f"CN={HOST}"
    assert "acme-www-shop-test (auto)" in deis("certs").out

    # renewed at two thirds of its 60 s, served without a reload
    wait_for("a renewal", lambda: site.served().serial_number != first.serial_number)
    renewed = site.served()
    assert "certificate for www.shop.test from CN=Pebble" in deis("logs", "-a", "shop").out

    # the CA stops: the error is reported, the certificate in hand is still served
    pebble.stop()
    failed = f"no certificate for {HOST} from {pebble.directory}: cannot reach the CA"
    wait_for("the error in the app's log", lambda: failed in deis("logs", "-a", "shop").out)
    assert site.served().serial_number == renewed.serial_number
    assert site.curl() == "503 0"
    row = [line for line in deis("tls:info", "-a", "shop").out.splitlines() if HOST in line]
    assert "cannot reach the CA" in row[0] and "next attempt" in row[0]

    # a removed domain is no longer renewed: its state is gone with it
    deis("domains:remove", HOST, "-a", "shop")
    assert HOST not in deis("tls:info", "-a", "shop").out
    deis("tls:auto:disable", "-a", "shop")
    assert "Automatic TLS: disabled" in deis("tls:info", "-a", "shop").out
    assert (state / "acme" / "account.key").stat().st_mode & 0o777 == 0o600
