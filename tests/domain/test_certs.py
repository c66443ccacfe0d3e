from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from deis.domain.certs import CertInfo, cert_covers, parse_certificate, validate_cert_name
from deis.domain.errors import Invalid

from .factories import NOW, CertPair

CertFactory = Callable[..., CertPair]
PemKey = Callable[..., str]


def test_parse_rsa_certificate(cert_pair: CertPair) -> None:
    info = parse_certificate(cert_pair.certificate, cert_pair.key)
    assert isinstance(info, CertInfo)
    assert info.common_name == "example.com"
    assert info.san == ["example.com", "www.example.com"]
    assert info.subject == "CN=example.com,O=Example Org"
    assert info.issuer == info.subject


def test_fingerprint_is_sha256_upper_hex_with_colons(cert_pair: CertPair) -> None:
    info = parse_certificate(cert_pair.certificate, cert_pair.key)
    expected = cert_pair.cert.fingerprint(hashes.SHA256()).hex().upper()
    assert info.fingerprint.replace(":", "") == expected
    parts = info.fingerprint.split(":")
    assert len(parts) == 32 and all(len(p) == 2 for p in parts)
    assert info.fingerprint == info.fingerprint.upper()


def test_dates_are_aware_utc(cert_pair: CertPair) -> None:
    info = parse_certificate(cert_pair.certificate, cert_pair.key)
    assert info.starts == NOW - dt.timedelta(days=1)
    assert info.expires == NOW + dt.timedelta(days=90)
    assert info.expires.utcoffset() == dt.timedelta(0)
    assert info.starts.tzinfo is not None


def test_expired_certificate_is_read(cert_factory: CertFactory, rsa_key: Any) -> None:
    pair = cert_factory(
        rsa_key,
        "old.example.com",
        not_before=NOW - dt.timedelta(days=400),
        not_after=NOW - dt.timedelta(days=35),
    )
    info = parse_certificate(pair.certificate, pair.key)
    assert info.expires < NOW
    assert info.common_name == "old.example.com"
    assert info.san == []


def test_issuer_differs_from_subject(cert_factory: CertFactory, rsa_key: Any) -> None:
    pair = cert_factory(rsa_key, "app.example.com", issuer_cn="Test CA")
    info = parse_certificate(pair.certificate, pair.key)
    assert info.issuer == "CN=Test CA"
    assert info.subject == "CN=app.example.com,O=Example Org"


def test_no_common_name(cert_factory: CertFactory, rsa_key: Any) -> None:
    pair = cert_factory(rsa_key, None, san=["a.example.com"])
    info = parse_certificate(pair.certificate, pair.key)
    assert info.common_name == ""
    assert info.san == ["a.example.com"]


def test_wildcard_san(cert_factory: CertFactory, ec_key: Any) -> None:
    pair = cert_factory(ec_key, "*.example.com", san=["*.example.com", "example.com"])
    info = parse_certificate(pair.certificate, pair.key)
    assert info.san == ["*.example.com", "example.com"]


@pytest.mark.parametrize("key_name", ["ec_key", "ed_key"])
def test_ec_and_ed25519_keys(
    cert_factory: CertFactory, key_name: str, request: pytest.FixtureRequest
) -> None:
    private = request.getfixturevalue(key_name)
    pair = cert_factory(private, "k.example.com", san=["k.example.com"])
    assert parse_certificate(pair.certificate, pair.key).common_name == "k.example.com"


def test_traditional_rsa_key_format(cert_pair: CertPair) -> None:
    from cryptography.hazmat.primitives import serialization

    assert isinstance(cert_pair.private, rsa.RSAPrivateKey)
    traditional = cert_pair.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    assert "BEGIN RSA PRIVATE KEY" in traditional
    assert parse_certificate(cert_pair.certificate, traditional).common_name == "example.com"


def test_chain_uses_the_first_certificate(
    cert_factory: CertFactory, cert_pair: CertPair, other_rsa_key: Any
) -> None:
    ca = cert_factory(other_rsa_key, "Some CA")
    info = parse_certificate(cert_pair.certificate + ca.certificate, cert_pair.key)
    assert info.common_name == "example.com"


def test_surrounding_whitespace_is_fine(cert_pair: CertPair) -> None:
    info = parse_certificate("\n\n" + cert_pair.certificate + "\n", "  " + cert_pair.key)
    assert info.common_name == "example.com"


@pytest.mark.parametrize(
    "certificate",
    [
        "",
        "not a certificate",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
    ],
)
def test_not_a_certificate(certificate: str, cert_pair: CertPair) -> None:
    with pytest.raises(Invalid) as info:
        parse_certificate(certificate, cert_pair.key)
    assert info.value.field == "certificate"


def test_certificate_must_be_a_string(cert_pair: CertPair) -> None:
    with pytest.raises(Invalid) as info:
        parse_certificate(None, cert_pair.key)  # type: ignore[arg-type]
    assert info.value.field == "certificate"


def test_der_certificate_is_refused(cert_pair: CertPair) -> None:
    from cryptography.hazmat.primitives import serialization

    der = cert_pair.cert.public_bytes(serialization.Encoding.DER)
    with pytest.raises(Invalid, match="PEM") as info:
        parse_certificate(der.hex(), cert_pair.key)
    assert info.value.field == "certificate"


def test_key_given_as_certificate(cert_pair: CertPair) -> None:
    with pytest.raises(Invalid, match="private key") as info:
        parse_certificate(cert_pair.key, cert_pair.key)
    assert info.value.field == "certificate"


@pytest.mark.parametrize(
    "key",
    [
        "",
        "not a key",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    ],
)
def test_not_a_key(key: str, cert_pair: CertPair) -> None:
    with pytest.raises(Invalid) as info:
        parse_certificate(cert_pair.certificate, key)
    assert info.value.field == "key"


def test_certificate_given_as_key(cert_pair: CertPair) -> None:
    with pytest.raises(Invalid) as info:
        parse_certificate(cert_pair.certificate, cert_pair.certificate)
    assert info.value.field == "key"


def test_key_must_be_a_string(cert_pair: CertPair) -> None:
    with pytest.raises(Invalid) as info:
        parse_certificate(cert_pair.certificate, 42)  # type: ignore[arg-type]
    assert info.value.field == "key"


def test_encrypted_key_is_refused(cert_pair: CertPair, pem_key: PemKey) -> None:
    encrypted = pem_key(cert_pair.private, password=b"secret")
    assert "ENCRYPTED" in encrypted
    with pytest.raises(Invalid, match="passphrase") as info:
        parse_certificate(cert_pair.certificate, encrypted)
    assert info.value.field == "key"


def test_mismatched_key_is_refused(
    cert_pair: CertPair, other_rsa_key: Any, pem_key: PemKey
) -> None:
    with pytest.raises(Invalid, match="does not match") as info:
        parse_certificate(cert_pair.certificate, pem_key(other_rsa_key))
    assert info.value.errors == {"key": ["The key does not match the certificate."]}


def test_key_of_another_type_does_not_match(
    cert_pair: CertPair, ec_key: Any, pem_key: PemKey
) -> None:
    with pytest.raises(Invalid, match="does not match"):
        parse_certificate(cert_pair.certificate, pem_key(ec_key))


@pytest.mark.parametrize(
    "private",
    [
        lambda: dsa.generate_private_key(key_size=1024),
        lambda: ed448.Ed448PrivateKey.generate(),
    ],
)
def test_unsupported_key_types(
    private: Callable[[], Any], cert_pair: CertPair, pem_key: PemKey
) -> None:
    with pytest.raises(Invalid, match="RSA, EC or Ed25519") as info:
        parse_certificate(cert_pair.certificate, pem_key(private()))
    assert info.value.field == "key"


def test_ec_p384(cert_factory: CertFactory) -> None:
    pair = cert_factory(ec.generate_private_key(ec.SECP384R1()), "p384.example.com")
    assert parse_certificate(pair.certificate, pair.key).common_name == "p384.example.com"


def test_ed25519_matching_is_by_public_key(cert_factory: CertFactory, pem_key: PemKey) -> None:
    pair = cert_factory(ed25519.Ed25519PrivateKey.generate(), "e.example.com")
    with pytest.raises(Invalid, match="does not match"):
        parse_certificate(pair.certificate, pem_key(ed25519.Ed25519PrivateKey.generate()))


# names


@pytest.mark.parametrize("name", ["a", "www-example-com", "cert1", "1", "x" * 63])
def test_valid_cert_names(name: str) -> None:
    assert validate_cert_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "-a", "a-", "A", "a.b", "a_b", "a b", "x" * 64, None, 5, "wwẃ"]
)
def test_invalid_cert_names(name: object) -> None:
    with pytest.raises(Invalid) as info:
        validate_cert_name(name)
    assert info.value.field == "name"


# coverage


@pytest.mark.parametrize(
    ("cn", "san", "domain", "covered"),
    [
        ("example.com", [], "example.com", True),
        ("example.com", [], "EXAMPLE.com", True),
        ("example.com", [], "example.com.", True),
        ("example.com", [], "www.example.com", False),
        ("example.com", ["www.example.com"], "www.example.com", True),
        ("example.com", ["www.example.com"], "example.com", True),
        ("", ["a.example.com", "b.example.com"], "b.example.com", True),
        ("", ["a.example.com"], "c.example.com", False),
        ("*.example.com", [], "www.example.com", True),
        ("*.example.com", [], "WWW.Example.COM", True),
        ("*.example.com", [], "example.com", False),
        ("*.example.com", [], "a.b.example.com", False),
        ("*.example.com", [], ".example.com", False),
        ("*.example.com", [], "*.example.com", True),
        ("www.example.com", [], "*.example.com", False),
        ("*.example.com", [], "*.b.example.com", False),
        ("x.test", ["*.Example.com"], "api.example.com", True),
        ("example.com", [], "", False),
        ("example.com", [], "notexample.com", False),
        ("*.example.com", [], "wwwexample.com", False),
    ],
)
def test_cert_covers(cn: str, san: list[str], domain: str, covered: bool) -> None:
    assert cert_covers(cn, san, domain) is covered
