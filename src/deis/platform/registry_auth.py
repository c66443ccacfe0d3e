"""Credentials for the platform's registry: Distribution's token authentication.

The registry (`auth: token` in its configuration) answers 401 to anything without a
token and names the controller's token endpoint as its realm. The endpoint
(`GET /v2/registry/token?service=...&scope=...`, HTTP Basic) authenticates the caller,
decides what it may do (deis.domain.registry_access) and answers a JWT signed with the
platform's key (ES256), whose certificate the registry trusts (`rootcertbundle`).

Callers:
- users: their username and API token (`podman login 127.0.0.1:5000 -u USER`);
- the builder pushing a Dockerfile build: `deis-builder-APP` and a password derived
  from the platform's secret and the app (`Credentials.builder`): it can push to APP only;
- the runtime pulling and the collection of old images: `deis-platform` and its own
  derived password (`Credentials.platform`).

Files under STATE/registry: `token.key` (the signing key, 0600), `token.crt` (its
self-signed certificate, the registry's rootcertbundle), `auth-secret` (0600, the
secret the internal passwords are derived from).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from deis.domain import registry_access as access
from deis.domain.errors import DomainError
from deis.services import apps, users
from deis.services.context import Context

SERVICE = "deis-registry"
ISSUER = "deis-platform"
TOKEN_PATH = "/v2/registry/token"
TOKEN_SECONDS = 300


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _write_private(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


@dataclass(frozen=True)
class TokenKeys:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    secret: bytes

    @classmethod
    def load_or_create(cls, root: Path) -> TokenKeys:
        """The signing key, its certificate and the secret, made on first use."""
        root.mkdir(parents=True, exist_ok=True)
        key_file, cert_file, secret_file = (
            root / "token.key",
            root / "token.crt",
            root / "auth-secret",
        )
        if not secret_file.exists():
            _write_private(secret_file, secrets.token_hex(32).encode())
        if not (key_file.exists() and cert_file.exists()):
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "deis registry tokens")])
            now = dt.datetime.now(dt.UTC)
            certificate = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=3650))
                .sign(key, hashes.SHA256())
            )
            _write_private(
                key_file,
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ),
            )
            cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        loaded = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        return cls(
            loaded,
            x509.load_pem_x509_certificate(cert_file.read_bytes()),
            secret_file.read_bytes().strip(),
        )

    @staticmethod
    def certificate_path(root: Path) -> Path:
        return root / "token.crt"

    # -- tokens ----------------------------------------------------------------------

    def issue(
        self, subject: str, granted: list[access.Access], seconds: int = TOKEN_SECONDS
    ) -> str:
        """A JWT the registry accepts: ES256, the certificate in `x5c`."""
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode()]}
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + seconds,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": [a.claim() for a in granted],
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        der_signature = self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der_signature)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signing_input}.{_b64(signature)}"

    # -- the platform's own accounts ---------------------------------------------------

    def password(self, account: str) -> str:
        return hmac.new(self.secret, account.encode(), hashlib.sha256).hexdigest()

    def builder(self, app: str) -> dict[str, str]:
        """The credentials the builder pushes APP's image with (to APP only)."""
        account = access.builder_account(app)
        return {"username": account, "password": self.password(account)}

    def platform(self) -> dict[str, str]:
        """The credentials the runtime pulls with."""
        return {
            "username": access.PLATFORM_ACCOUNT,
            "password": self.password(access.PLATFORM_ACCOUNT),
        }

    def bearer(self, repository: str, actions: tuple[str, ...] = ("pull", "delete")) -> str:
        """A token of the platform's own, for its HTTP calls to the registry."""
        wanted = [access.Access("repository", repository, actions)]
        principal = access.Principal(access.PLATFORM, access.PLATFORM_ACCOUNT)
        return self.issue(principal.name, access.granted(principal, wanted, lambda _: False))

    def internal(self, username: str, password: str) -> access.Principal | None:
        """The platform's own account these credentials are, if any."""
        if not hmac.compare_digest(self.password(username), password):
            return None
        if username == access.PLATFORM_ACCOUNT:
            return access.Principal(access.PLATFORM, username)
        if username.startswith(access.BUILDER_PREFIX):
            app = username.removeprefix(access.BUILDER_PREFIX)
            return access.Principal(access.BUILDER, username, app=app)
        return None


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    kind, _, value = header.partition(" ")
    if kind.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def _unauthorized(detail: str) -> Response:
    return JSONResponse(
        {"detail": detail},
        status_code=401,
        headers={"WWW-Authenticate": f'Basic realm="{SERVICE}"'},
    )


def principal_of(
    ctx: Context, keys: TokenKeys, username: str, password: str
) -> access.Principal | None:
    """Who the credentials are: one of the platform's accounts, or a user by API token."""
    internal = keys.internal(username, password)
    if internal is not None:
        return internal
    try:
        user = users.authenticate(ctx, password)
    except DomainError:
        return None
    if user.username != username:
        return None
    return access.Principal(access.USER, user.username, admin=user.is_superuser)


def token_endpoint(ctx: Context, keys: TokenKeys) -> Callable[[Request], Any]:
    """The handler of GET /v2/registry/token (Distribution's token protocol)."""
    import anyio.to_thread

    async def handle(request: Request) -> Response:
        if request.query_params.get("service", SERVICE) != SERVICE:
            return JSONResponse({"detail": "Unknown service."}, status_code=400)
        credentials = _basic(request)
        if credentials is None:
            return _unauthorized("Give a username and an API token (HTTP Basic).")

        def decide() -> tuple[access.Principal | None, list[access.Access]]:
            principal = principal_of(ctx, keys, *credentials)
            if principal is None:
                return None, []
            user = None
            if principal.kind == access.USER:
                user = users.authenticate(ctx, credentials[1])

            def may_pull(repository: str) -> bool:
                if user is None:
                    return False
                with contextlib.suppress(DomainError):
                    apps.get(ctx, user, repository)
                    return True
                return False

            asked = access.parse_scopes(request.query_params.getlist("scope"))
            return principal, access.granted(principal, asked, may_pull)

        principal, granted = await anyio.to_thread.run_sync(decide)
        if principal is None:
            return _unauthorized("Invalid username or token.")
        token = keys.issue(principal.name, granted)
        issued = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return JSONResponse(
            {
                "token": token,
                "access_token": token,
                "expires_in": TOKEN_SECONDS,
                "issued_at": issued,
            }
        )

    return handle
