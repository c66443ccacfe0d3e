"""Automatic TLS for the controller's own name (`deisctl up --acme-platform`): a
certificate for deis.DOMAIN from the platform's ACME CA, installed where the router
reads the platform's certificate (served within a second, no reload) and renewed like
the apps' ones.

What it did last is kept in STATE/acme/platform.json (the fingerprint of the certificate
it installed, the last error, when to try again), so a restart neither orders again nor
forgets a back-off. A certificate the operator installed (`deisctl certs:set`,
`--tls-cert`) is never replaced: only one this job installed, or none."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from deis.domain.acme import AcmeError, due, next_attempt
from deis.platform.tls import controller_host, fingerprint
from deis.ports import AcmeIssuer, Router
from deis.router.certs import CertificateError, check_pair, install_platform, read_platform
from deis.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlatformAcme:
    """What the job knows between passes."""

    fingerprint: str = ""  # of the certificate it installed last
    directory: str = ""  # the CA it came from
    last_error: str = ""
    last_attempt: str = ""  # ISO 8601, UTC
    next_attempt: str = ""
    failures: int = 0


def state_path(settings: Settings) -> Path:
    return Path(settings.state_dir) / "acme" / "platform.json"


def load(settings: Settings) -> PlatformAcme:
    try:
        data: Any = json.loads(state_path(settings).read_text())
        return PlatformAcme(**{k: data[k] for k in PlatformAcme.__dataclass_fields__ if k in data})
    except (OSError, ValueError, TypeError):
        return PlatformAcme()


def _save(settings: Settings, state: PlatformAcme) -> None:
    path = state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n")
    tmp.replace(path)


def _time(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def renew(settings: Settings, issuer: AcmeIssuer, responder: Router, now: datetime) -> bool:
    """One pass: order a certificate for deis.DOMAIN when there is none, or the one this
    job installed is due for renewal, unless a back-off says wait. Answers whether it
    installed one. Never raises for the CA's sake: the error is kept and logged."""
    host = controller_host(settings)
    state = load(settings)
    try:
        installed = read_platform(settings.state_dir)
    except CertificateError:  # expired or broken: replace it, whoever put it there
        installed = None
    if installed is not None and fingerprint(installed.certificate) != state.fingerprint:
        return False  # the operator's own certificate
    starts = installed.not_before if installed else None
    expires = installed.not_after if installed else None
    if not due(now, starts, expires, _time(state.next_attempt)):
        return False
    try:
        issued = issuer.issue([host], responder)
        cert = check_pair(issued.chain.encode(), issued.key.encode(), host)
    except (AcmeError, CertificateError) as exc:
        failures = state.failures + 1
        again = next_attempt(now, failures, exc if isinstance(exc, AcmeError) else None)
        message = exc.message if isinstance(exc, AcmeError) else str(exc)
        _save(settings, PlatformAcme(state.fingerprint, state.directory, message,
                                     now.isoformat(), again.isoformat(), failures))  # fmt: skip
        log.warning(
            "acme: no certificate for %s from %s: %s (attempt %d; next at %s)",
            host, issuer.directory, message, failures, f"{again:%Y-%m-%d %H:%M:%S} UTC",
        )  # fmt: skip
        return False
    install_platform(settings.state_dir, cert)
    _save(
        settings,
        PlatformAcme(fingerprint(cert.certificate), issuer.directory, last_attempt=now.isoformat()),
    )
    log.info("acme: installed a certificate for %s (until %s)", host, cert.not_after)
    return True


def describe(settings: Settings) -> str:
    """One line for `deisctl certs:info`: whether the job is on and how it went last."""
    if not settings.acme_platform:
        return "off (deisctl up --acme-platform)"
    state = load(settings)
    if state.last_error:
        return (
            f"on; last attempt {state.last_attempt[:19]} failed: {state.last_error};"
            f" next attempt {state.next_attempt[:19]}"
        )
    if state.fingerprint:
        return f"on; certificate from {state.directory or settings.acme_directory}"
    return f"on; waiting for the first certificate from {settings.acme_directory}"
