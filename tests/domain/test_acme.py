"""When automatic TLS renews a certificate, and how long it waits after failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from deis.domain.acme import (
    AcmeError,
    cert_name_for,
    check_email,
    due,
    next_attempt,
    renew_at,
    retry_after,
    retry_at_in,
)
from deis.domain.certs import validate_cert_name
from deis.domain.errors import Invalid

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def test_a_90_day_certificate_renews_30_days_before_it_expires() -> None:
    assert renew_at(T0, T0 + timedelta(days=90)) == T0 + timedelta(days=60)
    assert renew_at(T0, T0 + timedelta(days=365)) == T0 + timedelta(days=335)


def test_a_short_lived_certificate_renews_at_two_thirds_of_its_life() -> None:
    assert renew_at(T0, T0 + timedelta(days=6)) == T0 + timedelta(days=4)
    assert renew_at(T0, T0 + timedelta(seconds=90)) == T0 + timedelta(seconds=60)


def test_due() -> None:
    expires = T0 + timedelta(days=90)
    assert due(T0, None, None, None)  # no certificate yet
    assert not due(T0 + timedelta(days=59), T0, expires, None)
    assert due(T0 + timedelta(days=60), T0, expires, None)
    # waiting out a back-off, even when due
    assert not due(T0 + timedelta(days=61), T0, expires, T0 + timedelta(days=61, minutes=1))
    assert due(T0 + timedelta(days=61, minutes=1), T0, expires, T0 + timedelta(days=61, minutes=1))


def test_back_off_doubles_up_to_a_day() -> None:
    assert retry_after(0) == timedelta(0)
    assert [retry_after(n) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (1, 2, 4)]
    assert retry_after(11) == timedelta(minutes=1024)
    assert retry_after(12) == timedelta(hours=24)
    assert retry_after(10_000) == timedelta(hours=24)


def test_the_certificate_name_of_a_domain_is_a_valid_certificate_name() -> None:
    for domain in ("www.shop.com", "a" * 80 + ".example.com", "X.Y"):
        name = cert_name_for(domain)
        assert validate_cert_name(name) == name
    assert cert_name_for("www.shop.com") == "acme-www-shop-com"


def test_email() -> None:
    assert check_email(" ops@shop.com ") == "ops@shop.com"
    with pytest.raises(Invalid):
        check_email("ops")


LETS_ENCRYPT_LIMIT = (
    "too many certificates (5) already issued for this exact set of identifiers in the last"
    " 168h0m0s, retry after 2026-12-03 20:10:39 UTC: see https://letsencrypt.org/docs/rate-limits/"
)


def test_the_time_a_rate_limited_ca_names_is_read_from_its_message() -> None:
    assert retry_at_in(LETS_ENCRYPT_LIMIT) == datetime(2026, 12, 3, 20, 10, 39, tzinfo=UTC)
    assert retry_at_in("retry after 2026-12-03T20:10:39Z") == datetime(
        2026, 12, 3, 20, 10, 39, tzinfo=UTC
    )
    assert retry_at_in("too many failed authorizations recently") is None
    assert retry_at_in("retry after 2026-13-45 99:00:00 UTC") is None


def test_a_rate_limit_waits_until_the_ca_says_and_at_least_an_hour_when_it_says_nothing() -> None:
    named = datetime(2026, 12, 3, tzinfo=UTC)
    limited = AcmeError("limited", rate_limited=True, retry_at=named)
    assert next_attempt(T0, 1, limited) == named  # later than the 1-minute back-off
    assert next_attempt(T0, 1, AcmeError("limited", rate_limited=True)) == T0 + timedelta(hours=1)
    assert next_attempt(T0, 12, AcmeError("limited", rate_limited=True)) == T0 + retry_after(12)
    assert next_attempt(T0, 1, AcmeError("unreachable")) == T0 + timedelta(minutes=1)
    assert next_attempt(T0, 2) == T0 + timedelta(minutes=2)
