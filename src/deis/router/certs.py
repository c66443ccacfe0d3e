"""The default certificate (for names no app has a certificate for), the platform's own
certificate (deis.PLATFORM_DOMAIN, set by the operator) and its checks."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def self_signed(common_name: str, days: int = 3650) -> tuple[str, str]:
    """A self-signed certificate and its key (PEM), for `common_name` and `*.common_name`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(common_name), x509.DNSName(f"*.{common_name}")]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return cert_pem, key_pem


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` readable by its owner only (0600 from the first byte)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def ensure_default(cert_path: Path, key_path: Path, common_name: str) -> None:
    """Make the default certificate unless a valid one for `common_name` is there."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        fresh = cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
        if key_path.exists() and fresh and names and names[0].value == common_name:
            return
    except (OSError, ValueError):
        pass
    cert_pem, key_pem = self_signed(common_name)
    write_private(key_path, key_pem)
    write_private(cert_path, cert_pem)
    os.chmod(cert_path, 0o644)


# -- the platform's own certificate (deisctl certs:set) --------------------------------


class CertificateError(ValueError):
    """A certificate or key the platform cannot serve; the message says what to do."""


@dataclass(frozen=True)
class PlatformCertificate:
    certificate: str = field(repr=False)  # PEM chain, the server's certificate first
    key: str = field(repr=False)  # PEM private key (PKCS#8, unencrypted)
    names: tuple[str, ...]  # the DNS names it covers, lower case ("*.example.com" too)
    subject: str
    not_after: dt.datetime
    not_before: dt.datetime | None = None

    def covers(self, host: str) -> bool:
        host = host.lower()
        if host in self.names:
            return True
        _, dot, rest = host.partition(".")
        return bool(dot) and f"*.{rest}" in self.names

    def is_default_for(self, domain: str) -> bool:
        """A wildcard for *.DOMAIN: every app's default host, so the default certificate."""
        return f"*.{domain.lower()}" in self.names


def platform_paths(state_dir: Path) -> tuple[Path, Path]:
    """Where the platform's certificate chain and key live (read by the router)."""
    directory = Path(state_dir) / "router"
    return directory / "platform.crt", directory / "platform.key"


def _names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = san.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return tuple(dict.fromkeys(n.lower().rstrip(".") for n in names))


def check_pair(
    cert_pem: bytes,
    key_pem: bytes,
    controller_host: str | None = None,
    now: dt.datetime | None = None,
) -> PlatformCertificate:
    """The certificate (a PEM chain) and its key, checked: both parse, the key is the
    certificate's, it is valid now, and it covers `controller_host` when given. Raises
    CertificateError (whose message never quotes the key)."""
    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        chain = []
    if not chain:
        raise CertificateError("the certificate file holds no PEM certificate")
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise CertificateError(
            "the key is protected by a passphrase: give it unencrypted"
            " (openssl pkey -in KEY -out PLAIN.key)"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise CertificateError("the key file holds no PEM private key") from None
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise CertificateError("the key must be an RSA or ECDSA key")
    leaf = chain[0]
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != leaf.public_key().public_bytes(*spki):
        raise CertificateError("the key does not belong to the certificate (they do not match)")
    now = now or dt.datetime.now(dt.UTC)
    if leaf.not_valid_after_utc <= now:
        raise CertificateError(f"the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
    if leaf.not_valid_before_utc > now:
        raise CertificateError(
            f"the certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        )
    pem = "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in chain)
    key_text = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    found = PlatformCertificate(
        pem, key_text, _names(leaf), leaf.subject.rfc4514_string(), leaf.not_valid_after_utc,
        leaf.not_valid_before_utc,
    )  # fmt: skip
    if controller_host and not found.covers(controller_host):
        raise CertificateError(
            f"the certificate is for {', '.join(found.names) or found.subject}, not for"
            f" {controller_host} (the controller's name)"
        )
    return found


def install_platform(state_dir: Path, cert: PlatformCertificate) -> None:
    """Write the checked pair where the router reads it (key 0600, written first: the
    router reads a pair that does not match yet as not there yet)."""
    cert_path, key_path = platform_paths(state_dir)
    cert_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_private(key_path, cert.key)
    write_private(cert_path, cert.certificate)
    os.chmod(cert_path, 0o644)


def remove_platform(state_dir: Path) -> bool:
    """Remove the platform's certificate; answers whether there was one."""
    cert_path, key_path = platform_paths(state_dir)
    had = cert_path.exists()
    cert_path.unlink(missing_ok=True)
    key_path.unlink(missing_ok=True)
    return had


def read_platform(state_dir: Path) -> PlatformCertificate | None:
    """The installed pair, checked again; None when there is none. CertificateError when
    the files are there but unusable (e.g. expired since)."""
    cert_path, key_path = platform_paths(state_dir)
    try:
        cert_pem, key_pem = cert_path.read_bytes(), key_path.read_bytes()
    except FileNotFoundError:
        return None
    return check_pair(cert_pem, key_pem)
