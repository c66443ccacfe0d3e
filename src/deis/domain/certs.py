"""TLS certificates: reading a PEM certificate and its key, names, domain coverage."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from deis.domain._checks import require_str
from deis.domain.errors import Invalid

MAX_NAME = 63
_NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@dataclass(frozen=True)
class CertInfo:
    common_name: str
    san: list[str]
    fingerprint: str  # SHA-256, upper-case hex pairs joined by colons
    expires: datetime  # aware, UTC
    starts: datetime  # aware, UTC
    issuer: str  # RFC 4514
    subject: str  # RFC 4514


def validate_cert_name(value: object) -> str:
    """A certificate name: 1-63 of lowercase letters, digits and inner hyphens."""
    name = require_str(value, "name", "Certificate name")
    if not name or len(name) > MAX_NAME or not _NAME_RE.fullmatch(name):
        raise Invalid(
            f"Certificate name must be 1 to {MAX_NAME} lowercase letters, digits and "
            "hyphens, starting and ending with a letter or digit.",
            field="name",
        )
    return name


def _load_certificate(certificate: object) -> x509.Certificate:
    text = require_str(certificate, "certificate", "The certificate")
    if "PRIVATE KEY-----" in text and "CERTIFICATE-----" not in text:
        raise Invalid(
            "That is a private key; give it as the key and the certificate as the certificate.",
            field="certificate",
        )
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise Invalid(
            "The certificate must be in PEM format (-----BEGIN CERTIFICATE-----).",
            field="certificate",
        )
    try:
        chain = x509.load_pem_x509_certificates(text.encode("utf-8"))
    except ValueError:
        raise Invalid(
            "The certificate could not be read: give a PEM certificate.", field="certificate"
        ) from None
    return chain[0]


_Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def _load_key(key: object) -> _Key:
    text = require_str(key, "key", "The key")
    if "PRIVATE KEY-----" not in text:
        raise Invalid(
            "The key must be a private key in PEM format (-----BEGIN PRIVATE KEY-----).",
            field="key",
        )
    try:
        private = serialization.load_pem_private_key(text.encode("utf-8"), password=None)
    except TypeError:
        raise Invalid(
            "The key is protected by a passphrase; give it without one "
            "(openssl pkey -in key.pem -out plain.pem).",
            field="key",
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise Invalid(
            "The key could not be read: give an unencrypted PEM private key.", field="key"
        ) from None
    if not isinstance(private, _Key):
        raise Invalid("The key must be an RSA, EC or Ed25519 key.", field="key")
    return private


_DER = serialization.Encoding.DER
_SPKI = serialization.PublicFormat.SubjectPublicKeyInfo


def _hex_colons(data: bytes) -> str:
    return ":".join(f"{byte:02X}" for byte in data)


def parse_certificate(certificate: str, key: str) -> CertInfo:
    """Read a PEM certificate (the first of a chain) and check its unencrypted key fits."""
    cert = _load_certificate(certificate)
    private = _load_key(key)
    try:
        cert_public = cert.public_key().public_bytes(_DER, _SPKI)
    except (ValueError, UnsupportedAlgorithm):
        raise Invalid(
            "The certificate's public key is of an unsupported type.", field="certificate"
        ) from None
    if private.public_key().public_bytes(_DER, _SPKI) != cert_public:
        raise Invalid("The key does not match the certificate.", field="key")
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    common_name = str(names[0].value) if names else ""
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        san = extension.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        san = []
    return CertInfo(
        common_name=common_name,
        san=list(san),
        fingerprint=_hex_colons(cert.fingerprint(hashes.SHA256())),
        expires=cert.not_valid_after_utc,
        starts=cert.not_valid_before_utc,
        issuer=cert.issuer.rfc4514_string(),
        subject=cert.subject.rfc4514_string(),
    )


def _matches(pattern: str, domain: str) -> bool:
    pattern = pattern.lower().rstrip(".")
    if pattern == domain:
        return True
    if pattern.startswith("*.") and not domain.startswith("*."):
        head, dot, rest = domain.partition(".")
        return bool(head) and bool(dot) and rest == pattern[2:]
    return False


def cert_covers(cert_common_name: str, san: list[str], domain: str) -> bool:
    """Whether a certificate for `cert_common_name` and `san` serves `domain`.

    A name matches exactly (case-insensitively) or as a wildcard "*.example.com", which
    covers one label deep ("www.example.com", not "example.com" or "a.b.example.com").
    """
    wanted = domain.lower().rstrip(".")
    if not wanted:
        return False
    names = [*san, cert_common_name] if cert_common_name else list(san)
    return any(_matches(name, wanted) for name in names if name)
