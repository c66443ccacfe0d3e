"""Certificates and keys made in memory for the domain tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

NOW = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class CertPair:
    certificate: str
    key: str
    cert: x509.Certificate
    private: PrivateKey


def key_pem(private: Any, password: bytes | None = None) -> str:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    data: bytes = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    return data.decode()


def make_cert(
    private: PrivateKey,
    common_name: str | None = "example.com",
    san: list[str] | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    issuer_cn: str | None = None,
) -> CertPair:
    subject_attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Org")]
    if common_name is not None:
        subject_attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    subject = x509.Name(subject_attrs)
    issuer = (
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]) if issuer_cn else subject
    )
    start = not_before or NOW - dt.timedelta(days=1)
    end = not_after or NOW + dt.timedelta(days=90)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in san]), critical=False
        )
    algorithm = None if isinstance(private, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    cert = builder.sign(private, algorithm)
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return CertPair(certificate=pem, key=key_pem(private), cert=cert, private=private)


def openssh_public(private: Any, comment: str = "") -> str:
    data: bytes = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    line = data.decode()
    return f"{line} {comment}" if comment else line
