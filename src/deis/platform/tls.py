"""The platform's own certificate, as deisctl sets it: checked before anything changes,
written where the router reads it (key 0600), and confirmed once the router serves it.

The router (nginx) watches those files and serves a new pair within a second, without
a reload: the controller at https://deis.DOMAIN, and, when the certificate covers
*.DOMAIN, every name without a certificate of its own.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from deis.platform.state import StateError
from deis.router.certs import (
    CertificateError,
    PlatformCertificate,
    check_pair,
    install_platform,
    platform_paths,
    read_platform,
    remove_platform,
    write_private,
)
from deis.settings import Settings


def controller_host(settings: Settings) -> str:
    return f"deis.{settings.domain}"


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise StateError(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc


def checked(settings: Settings, cert_file: Path, key_file: Path) -> PlatformCertificate:
    """The pair from the operator's files, checked for this platform; StateError says
    what is wrong (never quoting the key)."""
    cert_pem, key_pem = _read(cert_file, "certificate"), _read(key_file, "key")
    try:
        return check_pair(cert_pem, key_pem, controller_host(settings))
    except CertificateError as exc:
        raise StateError(f"{cert_file} and {key_file}: {exc}; nothing was changed") from None


@dataclass
class Previous:
    """The installed pair before a change, to put back when `up` fails."""

    files: dict[Path, bytes]

    @classmethod
    def save(cls, settings: Settings) -> Previous:
        return cls({p: p.read_bytes() for p in platform_paths(settings.state_dir) if p.exists()})

    def restore(self, settings: Settings) -> None:
        cert_path, key_path = platform_paths(settings.state_dir)
        remove_platform(settings.state_dir)
        if cert_path in self.files and key_path in self.files:
            write_private(key_path, self.files[key_path].decode())
            write_private(cert_path, self.files[cert_path].decode())
            cert_path.chmod(0o644)


def install(settings: Settings, cert: PlatformCertificate) -> None:
    try:
        install_platform(settings.state_dir, cert)
    except OSError as exc:
        raise StateError(f"cannot write the certificate: {exc}") from exc


def fingerprint(pem: str) -> str:
    cert = x509.load_pem_x509_certificate(pem.encode())
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def served_fingerprint(settings: Settings, timeout: float = 2.0) -> str | None:
    """The SHA-256 of the certificate the router serves for deis.DOMAIN, or None."""
    address = "127.0.0.1" if settings.bind in ("0.0.0.0", "") else settings.bind
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((address, settings.router_https_port), timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=controller_host(settings)) as tls:
                der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
    return hashlib.sha256(der).hexdigest() if der else None


def wait_served(settings: Settings, cert: PlatformCertificate, timeout: float = 10.0) -> bool:
    """Whether the running router serves `cert` for deis.DOMAIN within `timeout` s."""
    want = fingerprint(cert.certificate)
    deadline = time.monotonic() + timeout
    while True:
        if served_fingerprint(settings) == want:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def describe(settings: Settings) -> str:
    """One line on the installed certificate, for `deisctl status` and `certs:info`."""
    try:
        cert = read_platform(settings.state_dir)
    except CertificateError as exc:
        return f"unusable ({exc})"
    if cert is None:
        return "none (a self-signed certificate)"
    default = " (also the default certificate)" if cert.is_default_for(settings.domain) else ""
    return f"{', '.join(cert.names)}, valid until {cert.not_after:%Y-%m-%d}{default}"


def installed(settings: Settings) -> bool:
    """Whether the platform has a certificate (both files present)."""
    return all(path.is_file() for path in platform_paths(settings.state_dir))


def remove(settings: Settings) -> bool:
    return remove_platform(settings.state_dir)
