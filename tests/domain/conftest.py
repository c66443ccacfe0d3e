"""Shared fixtures for the domain tests: certificates, keys and records made in memory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from deis.domain.records import Build, Config

from .factories import NOW, CertPair, key_pem, make_cert, openssh_public


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="session")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(scope="session")
def cert_pair(rsa_key: rsa.RSAPrivateKey) -> CertPair:
    return make_cert(rsa_key, "example.com", san=["example.com", "www.example.com"])


@pytest.fixture(scope="session")
def ssh_ed25519() -> str:
    return openssh_public(ed25519.Ed25519PrivateKey.generate(), "alice@laptop")


@pytest.fixture(scope="session")
def ssh_rsa2048(rsa_key: rsa.RSAPrivateKey) -> str:
    return openssh_public(rsa_key, "alice@desktop")


@pytest.fixture(scope="session")
def ssh_rsa1024() -> str:
    return openssh_public(rsa.generate_private_key(public_exponent=65537, key_size=1024))


@pytest.fixture
def make_config() -> Callable[..., Config]:
    def make(**fields: Any) -> Config:
        values: dict[str, Any] = {
            "uuid": "c0",
            "app": "brave-river-4821",
            "owner": "alice",
            "values": {},
            "memory": {},
            "cpu": {},
            "tags": {},
            "registry": {},
            "healthcheck": {},
            "created": NOW,
            "updated": NOW,
        }
        values.update(fields)
        return Config(**values)

    return make


@pytest.fixture
def make_build() -> Callable[..., Build]:
    def make(**fields: Any) -> Build:
        values: dict[str, Any] = {
            "uuid": "b0",
            "app": "brave-river-4821",
            "owner": "alice",
            "image": "brave-river-4821:git-060da68f",
            "sha": "060da68f654e75fac06dbedd1995d5f8ad9084db",
            "procfile": {"web": "python app.py"},
            "dockerfile": "",
            "created": NOW,
            "updated": NOW,
        }
        values.update(fields)
        return Build(**values)

    return make


@pytest.fixture(scope="session")
def cert_factory() -> Callable[..., CertPair]:
    """make_cert(private, common_name=..., san=[...], not_before=, not_after=, issuer_cn=)."""
    return make_cert


@pytest.fixture(scope="session")
def pem_key() -> Callable[..., str]:
    """key_pem(private, password=None): a PKCS#8 PEM private key."""
    return key_pem


@pytest.fixture(scope="session")
def ssh_public() -> Callable[..., str]:
    """openssh_public(private, comment=""): an OpenSSH public key line."""
    return openssh_public
