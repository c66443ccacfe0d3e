"""`deisctl up --tls-cert/--tls-key` and `deisctl certs:set`: the controller at
https://deis.DOMAIN through the real nginx, with certificates made here."""

from __future__ import annotations

import socket
import ssl
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509

from tests.router.helpers import curl, make_cert, missing_nginx

from .conftest import Instance, free_port

pytestmark = pytest.mark.e2e

DOMAIN = "apps.test"


def write_pair(directory: Path, *names: str) -> tuple[Path, Path]:
    pem, key = make_cert(*names)
    stem = names[0].replace("*", "star")
    cert_file, key_file = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_file.write_text(pem)
    key_file.write_text(key)
    return cert_file, key_file


def served_cn(port: int, name: str) -> str:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).subject.rfc4514_string()


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.1)


@pytest.fixture
def platform(make_instance: Callable[[], Instance]) -> Instance:
    reason = missing_nginx()
    if reason:
        pytest.skip(reason)
    return make_instance()


def router_flags(https_port: int) -> list[str]:
    return [
        "--router",
        "nginx",
        "--router-port",
        str(free_port()),
        "--router-https-port",
        str(https_port),
        "--domain",
        DOMAIN,
    ]


def test_up_with_a_certificate_serves_the_controller_over_https(
    platform: Instance, tmp_path: Path
) -> None:
    https_port = free_port()
    cert_file, key_file = write_pair(tmp_path, f"deis.{DOMAIN}")
    result = platform.up(
        *router_flags(https_port), "--tls-cert", str(cert_file), "--tls-key", str(key_file)
    )
    assert result.returncode == 0, result.stderr
    url = f"https://deis.{DOMAIN}:{https_port}"
    assert f"The router serves the certificate for deis.{DOMAIN}: {url}" in result.stdout
    r = curl(
        f"{url}/healthz",
        "--cacert",
        str(cert_file),
        "--resolve",
        f"deis.{DOMAIN}:{https_port}:127.0.0.1",
    )
    assert r.status == 200, r.stderr
    key_copy = platform.state_dir / "router" / "platform.key"
    assert stat.S_IMODE(key_copy.stat().st_mode) == 0o600
    secret = key_file.read_text().splitlines()[1]
    for log_file in (platform.state_dir / "logs").rglob("*"):
        if log_file.is_file():
            assert secret not in log_file.read_text(errors="replace"), log_file
    assert secret not in result.stdout + result.stderr

    # a wildcard for *.DOMAIN, while the platform runs: also every app's default
    wild_cert, wild_key = write_pair(tmp_path, f"*.{DOMAIN}", DOMAIN)
    result = platform.deisctl("certs:set", str(wild_cert), str(wild_key))
    assert result.returncode == 0, result.stderr
    assert f"The router serves the certificate for *.{DOMAIN}, {DOMAIN}: {url}" in result.stdout
    assert served_cn(https_port, f"myapp.{DOMAIN}") == f"CN=*.{DOMAIN}"
    result = platform.deisctl("certs:info")
    assert f"deis.{DOMAIN}: *.{DOMAIN}, {DOMAIN}, valid until " in result.stdout
    assert "(also the default certificate)" in result.stdout

    result = platform.deisctl("certs:unset")
    assert result.returncode == 0 and "self-signed" in result.stdout
    wait_for(lambda: served_cn(https_port, f"deis.{DOMAIN}") == f"CN={DOMAIN}")


def test_a_wrong_pair_is_refused_before_anything_changes(
    platform: Instance, tmp_path: Path
) -> None:
    cert_file, _ = write_pair(tmp_path, f"deis.{DOMAIN}")
    _, other_key = write_pair(tmp_path, f"other.{DOMAIN}")
    result = platform.up(
        *router_flags(free_port()), "--tls-cert", str(cert_file), "--tls-key", str(other_key)
    )
    assert result.returncode == 1
    assert "the key does not belong to the certificate" in result.stderr
    assert "nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr and "PRIVATE" not in result.stderr
    assert not (platform.state_dir / "settings.json").exists()
    assert not (platform.state_dir / "router" / "platform.crt").exists()

    wrong_name, wrong_key = write_pair(tmp_path, "www.example.com")
    result = platform.up(
        *router_flags(free_port()), "--tls-cert", str(wrong_name), "--tls-key", str(wrong_key)
    )
    assert result.returncode == 1
    assert f"not for deis.{DOMAIN} (the controller's name)" in result.stderr

    result = platform.up("--tls-cert", str(cert_file))
    assert result.returncode == 2 and "--tls-cert and --tls-key go together" in result.stderr
    result = platform.deisctl("certs:set", str(cert_file), str(tmp_path / "missing.key"))
    assert result.returncode == 1 and "cannot read the key" in result.stderr
    assert not (platform.state_dir / "router" / "platform.crt").exists()


def test_a_failed_up_leaves_the_previous_certificate(platform: Instance, tmp_path: Path) -> None:
    first_cert, first_key = write_pair(tmp_path, f"deis.{DOMAIN}")
    state = platform.state_dir
    assert platform.up(*router_flags(free_port()), "--timeout", "60").returncode == 0
    assert platform.deisctl("down").returncode == 0
    # installed while the platform is down
    result = platform.deisctl("certs:set", str(first_cert), str(first_key))
    assert result.returncode == 0, result.stderr
    assert "The router serves it from the next `deisctl up`." in result.stdout
    installed = (state / "router" / "platform.crt").read_bytes()

    (tmp_path / "second").mkdir()
    second_cert, second_key = write_pair(tmp_path / "second", f"deis.{DOMAIN}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", platform.api_port))
        taken.listen()
        result = platform.up("--tls-cert", str(second_cert), "--tls-key", str(second_key))
    assert result.returncode == 1 and "already in use" in result.stderr
    assert (state / "router" / "platform.crt").read_bytes() == installed


def test_up_with_tls_enforce_redirects_plain_http_to_the_controller(
    platform: Instance, tmp_path: Path
) -> None:
    http_port, https_port = free_port(), free_port()
    flags = ["--router", "nginx", "--router-port", str(http_port)]
    flags += ["--router-https-port", str(https_port), "--domain", DOMAIN]
    result = platform.up(*flags, "--tls-enforce")
    assert result.returncode == 0, result.stderr
    assert (
        f"TLS is enforced once the platform has a certificate (deisctl certs:set); until then deis.{DOMAIN} answers plain HTTP."
        in result.stdout
    )
    host = f"deis.{DOMAIN}"
    plain = [f"http://{host}:{http_port}/healthz", "--resolve", f"{host}:{http_port}:127.0.0.1"]
    assert curl(*plain).status == 200
    assert platform.deisctl("down").returncode == 0

    cert_file, key_file = write_pair(tmp_path, host)
    # the setting is saved: the next `up` keeps it
    result = platform.up(*flags, "--tls-cert", str(cert_file), "--tls-key", str(key_file))
    assert result.returncode == 0, result.stderr
    assert f"Plain HTTP to {host} is redirected to https (308)." in result.stdout
    r = curl(*plain)
    assert r.status == 308
    assert r.headers["location"] == f"https://{host}:{https_port}/healthz"
    https = [f"https://{host}:{https_port}/healthz", "--cacert", str(cert_file)]
    assert curl(*https, "--resolve", f"{host}:{https_port}:127.0.0.1").status == 200
    assert platform.deisctl("down").returncode == 0

    # turned off again: plain HTTP answers
    assert platform.up(*flags, "--no-tls-enforce").returncode == 0
    assert curl(*plain).status == 200
