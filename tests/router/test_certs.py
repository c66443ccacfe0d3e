"""Checks of the platform's certificate before anything is installed (pure)."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from deis.router.certs import (
    CertificateError,
    check_pair,
    install_platform,
    platform_paths,
    read_platform,
    remove_platform,
)
from tests.router.helpers import make_cert


def pair(*names: str, days: int = 30) -> tuple[bytes, bytes]:
    pem, key = make_cert(*names, days=days)
    return pem.encode(), key.encode()


def test_a_good_pair_is_normalised_and_names_its_hosts() -> None:
    pem, key = pair("*.apps.example.com", "apps.example.com")
    cert = check_pair(pem, key, "deis.apps.example.com")
    assert cert.names == ("*.apps.example.com", "apps.example.com")
    assert cert.covers("deis.apps.example.com") and cert.covers("APPS.example.com")
    assert not cert.covers("a.b.apps.example.com")  # a wildcard covers one label
    assert cert.is_default_for("apps.example.com")
    assert "BEGIN PRIVATE KEY" in cert.key
    assert "PRIVATE" not in repr(cert) and key.decode().splitlines()[1] not in repr(cert)


def test_an_rsa_key_in_the_traditional_format_is_accepted() -> None:
    pem, _ = pair("deis.example.com")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = x509.load_pem_x509_certificate(pem)
    # re-sign a certificate for the RSA key
    builder = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(rsa_key.public_key())
        .serial_number(1)
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
        .add_extension(cert.extensions[0].value, False)
    )
    rsa_pem = builder.sign(rsa_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    traditional = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert check_pair(rsa_pem, traditional, "deis.example.com").names == ("deis.example.com",)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: (b"not a certificate", pair("d.x")[1]), "holds no PEM certificate"),
        (lambda: (pair("deis.x")[0], b"garbage"), "holds no PEM private key"),
        (lambda: (pair("deis.x")[0], pair("deis.x")[1]), "does not belong to the certificate"),
        (lambda: (pair("deis.x")[1], pair("deis.x")[1]), "holds no PEM certificate"),
        (lambda: pair("other.example.com"), "not for deis.x"),
        (lambda: pair("*.a.x"), "not for deis.x"),
    ],
)
def test_bad_pairs_are_refused_with_what_is_wrong(make: object, message: str) -> None:
    cert_pem, key_pem = make()  # type: ignore[operator]
    with pytest.raises(CertificateError, match=message) as info:
        check_pair(cert_pem, key_pem, "deis.x")
    assert "PRIVATE" not in str(info.value)


def test_an_encrypted_key_and_an_expired_certificate_are_refused() -> None:
    pem, key = pair("deis.x")
    loaded = serialization.load_pem_private_key(key, None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    locked = loaded.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    with pytest.raises(CertificateError, match="passphrase"):
        check_pair(pem, locked, "deis.x")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    with pytest.raises(CertificateError, match="expired on"):
        check_pair(pem, key, "deis.x", now=later)


def test_install_read_and_remove(tmp_path: Path) -> None:
    pem, key = pair("deis.x")
    assert read_platform(tmp_path) is None
    install_platform(tmp_path, check_pair(pem, key, "deis.x"))
    cert_path, key_path = platform_paths(tmp_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cert_path.stat().st_mode) == 0o644
    assert stat.S_IMODE(cert_path.parent.stat().st_mode) == 0o700
    got = read_platform(tmp_path)
    assert got is not None and got.names == ("deis.x",)
    assert remove_platform(tmp_path) and not cert_path.exists() and not key_path.exists()
    assert not remove_platform(tmp_path)
