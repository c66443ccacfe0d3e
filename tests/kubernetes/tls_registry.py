"""Debian's docker-registry serving HTTPS on a free loopback port, with a certificate for
127.0.0.1 signed by a CA made for the test (as a registry with a private CA is)."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import ssl
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ..e2e.registries import free_port, serving


@dataclass(frozen=True)
class TlsRegistry:
    address: str  # 127.0.0.1:PORT
    ca: Path  # the CA's certificate (PEM)

    def get(self, path: str) -> object:
        context = ssl.create_default_context(cafile=str(self.ca))
        with urllib.request.urlopen(
            f"https://{self.address}{path}", timeout=10, context=context
        ) as r:
            return json.load(r)


def _certificate(subject: str, issuer: x509.Name | None, key: ec.EllipticCurvePrivateKey,
                 signer: ec.EllipticCurvePrivateKey, ca: bool) -> x509.Certificate:  # fmt: skip
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
        builder = builder.add_extension(san, critical=False)
    return builder.sign(signer, hashes.SHA256())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@contextlib.contextmanager
def tls_registry(directory: Path) -> Iterator[TlsRegistry]:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("deis test CA", None, ca_key, ca_key, ca=True)
    cert = _certificate("127.0.0.1", ca.subject, key, ca_key, ca=False)
    (directory / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(_pem_key(key))
    port = free_port()
    config = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(directory / "data")}},
        "http": {
            "addr": f"127.0.0.1:{port}",
            "tls": {
                "certificate": str(directory / "server.crt"),
                "key": str(directory / "server.key"),
            },
        },
    }
    registry = TlsRegistry(f"127.0.0.1:{port}", directory / "ca.crt")
    with serving(directory, config, lambda: registry.get("/v2/") == {}):
        yield registry
