"""The ACME adapter: orders certificates from an RFC 8555 CA (Let's Encrypt, or pebble
in the tests) with certbot's `acme` package, answering HTTP-01 challenges through the
router (which serves /.well-known/acme-challenge/TOKEN for the host, without a reload).

The account key is an RSA key kept 0600 in STATE/acme/account.key, made at the first
order; the account is registered (or found again, same key) at each order. Every failure
is raised as `AcmeError` with what the CA said."""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import josepy as jose
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from acme import challenges, client, crypto_util, errors, messages
from deis.domain.acme import AcmeError, ClusterCertificate, Issued, retry_at_in

log = logging.getLogger(__name__)

USER_AGENT = "deis-workflow-python (acme)"


class Responder(Protocol):
    """Where HTTP-01 answers are published: the router."""

    def set_challenge(self, host: str, token: str, key_authorization: str) -> None: ...
    def remove_challenge(self, token: str) -> None: ...


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


def _problem(exc: BaseException) -> str:
    """What the CA said, in one line."""
    if isinstance(exc, errors.ValidationError):
        parts = []
        for authz in exc.failed_authzrs:
            for chall in authz.body.challenges:
                if chall.error is not None:
                    parts.append(f"{authz.body.identifier.value}: {_problem(chall.error)}")
        return "; ".join(parts) or "the challenge was not validated"
    if isinstance(exc, messages.Error):
        kind = (exc.typ or "").rsplit(":", 1)[-1]
        return f"{exc.detail or exc.description or 'error'} ({kind})" if kind else str(exc)
    if isinstance(exc, errors.TimeoutError):
        return "the CA did not finish the order in time"
    if isinstance(exc, requests.exceptions.RequestException):
        return f"cannot reach the CA: {exc.__class__.__name__}"
    return str(exc) or exc.__class__.__name__


class AcmeClient:
    name = "acme"
    delegated = False  # this platform orders: see deis.ports.AcmeIssuer

    def __init__(
        self,
        state_dir: Path,
        directory: str,
        email: str | None,
        *,
        ca_bundle: str | None = None,  # to verify the directory's HTTPS (pebble, a private CA)
        eab: tuple[str, str] | None = None,  # (key id, base64url HMAC key): external binding
        timeout: float = 90.0,
    ) -> None:
        self.directory = directory
        self.email = email
        self.ca_bundle = ca_bundle
        self.eab = eab
        self.timeout = timeout
        self.account_key_path = Path(state_dir) / "acme" / "account.key"
        self._lock = threading.Lock()  # one order at a time: the account is shared

    def account_key(self) -> Any:  # josepy's JWKRSA
        with self._lock:
            try:
                pem = self.account_key_path.read_bytes()
            except FileNotFoundError:
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                pem = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                _write_private(self.account_key_path, pem)
                log.info("acme: made the account key %s", self.account_key_path)
            loaded = serialization.load_pem_private_key(pem, password=None)
            assert isinstance(loaded, rsa.RSAPrivateKey)
            return jose.JWKRSA(key=loaded)  # type: ignore[attr-defined]

    def _client(self) -> client.ClientV2:
        # requests takes a path where a bool goes (and a per-request True would give way
        # to REQUESTS_CA_BUNDLE)
        verify: Any = self.ca_bundle or True
        key = self.account_key()
        net = client.ClientNetwork(key, user_agent=USER_AGENT, verify_ssl=verify, timeout=30)
        directory = client.ClientV2.get_directory(self.directory, net)
        acme = client.ClientV2(directory, net)
        binding = None
        if self.eab is not None:
            kid, hmac_key = self.eab
            binding = messages.ExternalAccountBinding.from_data(
                account_public_key=key.public_key(),
                kid=kid,
                hmac_key=hmac_key,
                directory=directory,
            )
        registration = messages.NewRegistration.from_data(
            email=self.email, terms_of_service_agreed=True, external_account_binding=binding
        )
        try:
            net.account = acme.new_account(registration)
        except errors.ConflictError as exc:  # this key has an account already
            net.account = messages.RegistrationResource(
                uri=exc.location, body=messages.Registration()
            )
        return acme

    def check(self) -> None:
        """Nothing to check before the first order: its errors say what is wrong."""

    def cluster_certificates(self, app_id: str) -> list[ClusterCertificate]:
        return []  # none: every certificate is the platform's own

    def issue(self, hosts: list[str], responder: Responder) -> Issued:
        """A certificate for the hosts (the first is its common name), validated over
        HTTP-01 through the responder. Raises AcmeError."""
        if not hosts:
            raise AcmeError("no host to order a certificate for")
        try:
            return self._issue(hosts, responder)
        except AcmeError:
            raise
        except messages.Error as exc:
            limited = (exc.typ or "").endswith(":rateLimited")
            retry_at = retry_at_in(exc.detail or "") if limited else None
            raise AcmeError(_problem(exc), rate_limited=limited, retry_at=retry_at) from exc
        except Exception as exc:  # the acme package and requests raise many kinds
            raise AcmeError(_problem(exc)) from exc

    def _issue(self, hosts: list[str], responder: Responder) -> Issued:
        acme = self._client()
        key = ec.generate_private_key(ec.SECP256R1())
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        csr = crypto_util.make_csr(key_pem, hosts)
        order = acme.new_order(csr)
        tokens: list[str] = []
        try:
            for authz in order.authorizations:
                if authz.body.status == messages.STATUS_VALID:
                    continue
                chall = _http01(authz)
                response, validation = chall.response_and_validation(acme.net.key)
                token = chall.chall.encode("token")
                responder.set_challenge(authz.body.identifier.value, token, validation)
                tokens.append(token)
                acme.answer_challenge(chall, response)
            deadline = datetime.now() + timedelta(seconds=self.timeout)
            done = acme.poll_and_finalize(order, deadline=deadline)
        finally:
            for token in tokens:
                try:
                    responder.remove_challenge(token)
                except Exception:  # the router may be down: the token is useless anyway
                    log.warning("acme: could not remove the challenge %s", token)
        if not done.fullchain_pem:
            raise AcmeError("the CA finished the order without a certificate")
        return Issued(chain=done.fullchain_pem, key=key_pem.decode())


def _http01(authz: Any) -> Any:
    for chall in authz.body.challenges:
        if isinstance(chall.chall, challenges.HTTP01):
            return chall
    raise AcmeError(f"the CA offers no HTTP-01 challenge for {authz.body.identifier.value}")
