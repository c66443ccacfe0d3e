"""Automatic TLS (ACME): when a certificate is due for renewal and when to try again
after a failure. Pure: the clock is an argument."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from deis.domain.errors import DomainError, Invalid

RENEW_BEFORE = timedelta(days=30)  # Let's Encrypt's advice for 90-day certificates
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=24)  # Let's Encrypt's failed-validation limit is per hour
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


RATE_LIMITED_WAIT = timedelta(hours=1)  # Let's Encrypt's limits are per hour or per week
_RETRY_AFTER = re.compile(
    r"retry after (\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.\d+)?\s*(?:UTC|Z)?", re.I
)


class AcmeError(DomainError):
    """The CA did not issue: unreachable, validation failed, rate limited, bad account.
    `rate_limited` when the CA said so; `retry_at` when it said until when."""

    def __init__(
        self, message: str, *, rate_limited: bool = False, retry_at: datetime | None = None
    ) -> None:
        super().__init__(message)
        self.rate_limited = rate_limited
        self.retry_at = retry_at


def retry_at_in(detail: str) -> datetime | None:
    """The time in a CA's "retry after 2026-01-22 20:10:39 UTC" (Let's Encrypt's rate-limit
    errors say it so), as an aware UTC datetime; None when it says none."""
    found = _RETRY_AFTER.search(detail)
    if found is None:
        return None
    try:
        return datetime.fromisoformat(f"{found[1]}T{found[2]}+00:00")
    except ValueError:
        return None


@dataclass(frozen=True)
class Issued:
    """What the CA gave for one order: the chain (leaf first) and its private key."""

    chain: str = field(repr=False)
    key: str = field(repr=False)


@dataclass(frozen=True)
class ClusterCertificate:
    """A certificate the cluster's certificate manager (cert-manager) keeps for one host,
    as `deis tls:info` shows it on Kubernetes."""

    host: str
    secret: str  # the Secret it is written to
    ready: bool
    message: str = ""  # why it is not ready, as cert-manager says
    issuer: str = ""
    expires: datetime | None = None
    renews: datetime | None = None


@dataclass(frozen=True)
class AcmeDomain:
    """What automatic TLS keeps about one domain of an app: its certificate's name once
    issued, the last error, and when to try again after failures."""

    domain: str
    app: str
    cert_name: str | None = None
    last_error: str = ""
    last_attempt: datetime | None = None
    next_attempt: datetime | None = None
    failures: int = 0


def check_email(value: str) -> str:
    text = value.strip()
    if not _EMAIL.match(text):
        raise Invalid(f"{value!r} is not an email address.", field="acme_email")
    return text


def cert_name_for(domain: str) -> str:
    """The name of the certificate record ACME keeps for a domain (deis certs shows it)."""
    slug = re.sub(r"[^a-z0-9]+", "-", domain.lower()).strip("-")
    return f"acme-{slug}"[:63].rstrip("-")


def renew_at(starts: datetime, expires: datetime) -> datetime:
    """When to renew: 30 days before expiry, or at two thirds of the lifetime for a
    certificate that lives less than 90 days (short-lived ones)."""
    lifetime = expires - starts
    if lifetime >= timedelta(days=90):
        return expires - RENEW_BEFORE
    return starts + lifetime * 2 / 3


def retry_after(failures: int) -> timedelta:
    """The wait after `failures` failures in a row: 1 min, 2, 4, ... at most a day."""
    if failures <= 0:
        return timedelta(0)
    wait: timedelta = FIRST_RETRY * (2 ** min(failures - 1, 20))
    return min(wait, MAX_RETRY)


def next_attempt(now: datetime, failures: int, error: AcmeError | None = None) -> datetime:
    """When to try again after `failures` failures in a row, the last one `error`: the
    back-off, but never before the time a rate-limited CA named, and at least an hour
    after a rate limit that named none."""
    wait = now + retry_after(failures)
    if error is None or not error.rate_limited:
        return wait
    floor = error.retry_at if error.retry_at is not None else now + RATE_LIMITED_WAIT
    return max(wait, floor)


def due(
    now: datetime,
    starts: datetime | None,
    expires: datetime | None,
    next_attempt: datetime | None,
) -> bool:
    """Whether to order a certificate now: none yet or due for renewal, and not waiting
    out a back-off."""
    if next_attempt is not None and now < next_attempt:
        return False
    if starts is None or expires is None:
        return True
    return now >= renew_at(starts, expires)
