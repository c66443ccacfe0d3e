"""The controller's own certificate from the ACME CA (--acme-platform), with a fake CA
(tests/acme/test_e2e.py has pebble and the real router): when it orders, what it leaves
alone, how it backs off."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from deis.domain.acme import AcmeError, Issued
from deis.platform import acme_platform
from deis.platform.tls import fingerprint
from deis.router.certs import check_pair, install_platform, read_platform
from deis.router.recording import RecordingRouter
from deis.settings import Settings
from tests.router.helpers import make_cert

NOW = datetime.now(UTC)


@dataclass
class FakeCA:
    directory: str = "https://ca.test/dir"
    days: int = 90
    error: AcmeError | None = None
    orders: list[list[str]] = field(default_factory=list)

    def issue(self, hosts: list[str], responder: object) -> Issued:
        self.orders.append(hosts)
        if self.error is not None:
            raise self.error
        chain, key = make_cert(*hosts, days=self.days)
        return Issued(chain, key)


def settings(tmp_path: Path) -> Settings:
    return Settings(
        state_dir=tmp_path, domain="apps.test", acme_email="ops@apps.test", acme_platform=True
    )


def served(tmp_path: Path) -> str | None:
    cert = read_platform(tmp_path)
    return fingerprint(cert.certificate) if cert else None


def test_orders_once_then_renews_thirty_days_before_expiry(tmp_path: Path) -> None:
    ca, s, router = FakeCA(), settings(tmp_path), RecordingRouter()
    assert acme_platform.renew(s, ca, router, NOW)
    assert ca.orders == [["deis.apps.test"]]
    first = served(tmp_path)
    assert first is not None
    assert not acme_platform.renew(s, ca, router, NOW + timedelta(days=59))
    assert acme_platform.renew(s, ca, router, NOW + timedelta(days=61))
    assert served(tmp_path) not in (None, first)
    assert "certificate from https://ca.test/dir" in acme_platform.describe(s)


def test_the_operators_own_certificate_is_left_alone(tmp_path: Path) -> None:
    ca, s = FakeCA(), settings(tmp_path)
    chain, key = make_cert("deis.apps.test", days=2)  # due for renewal, but not ours
    install_platform(tmp_path, check_pair(chain.encode(), key.encode()))
    assert not acme_platform.renew(s, ca, RecordingRouter(), NOW)
    assert ca.orders == []
    assert served(tmp_path) == fingerprint(chain)


def test_a_failure_keeps_the_certificate_and_waits_as_the_ca_asked(tmp_path: Path) -> None:
    ca, s, router = FakeCA(), settings(tmp_path), RecordingRouter()
    assert acme_platform.renew(s, ca, router, NOW)
    kept = served(tmp_path)
    later = NOW + timedelta(days=61)
    ca.error = AcmeError(
        "too many certificates", rate_limited=True, retry_at=later + timedelta(hours=3)
    )
    assert not acme_platform.renew(s, ca, router, later)
    assert served(tmp_path) == kept
    line = acme_platform.describe(s)
    assert "failed: too many certificates" in line
    assert f"next attempt {(later + timedelta(hours=3)):%Y-%m-%dT%H:%M:%S}" in line
    ca.error = None
    assert not acme_platform.renew(s, ca, router, later + timedelta(hours=2))  # waiting
    assert len(ca.orders) == 2
    assert acme_platform.renew(s, ca, router, later + timedelta(hours=3))
    assert "failed" not in acme_platform.describe(s)


def test_off_unless_asked(tmp_path: Path) -> None:
    s = Settings(state_dir=tmp_path, domain="apps.test")
    assert acme_platform.describe(s).startswith("off")
