"""Automatic TLS through the API and the renewal pass, with a fake CA in place of pebble
(tests/acme has the real one): what is ordered when, the back-off, what is left alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deis.domain.acme import AcmeError, ClusterCertificate, Issued
from deis.domain.errors import Unavailable
from deis.ports import Router
from deis.services import acme
from deis.services.context import Context
from tests.api.conftest import Api, User
from tests.router.helpers import make_cert

NOW = datetime.now(UTC)


@dataclass
class FakeCA:
    directory: str = "https://ca.test/dir"
    delegated: bool = False
    days: int = 90
    error: str | None = None
    retry_at: datetime | None = None  # a rate limit, until then
    orders: list[list[str]] = field(default_factory=list)

    def check(self) -> None:
        pass

    def cluster_certificates(self, app_id: str) -> list[ClusterCertificate]:
        return []

    def issue(self, hosts: list[str], responder: Router) -> Issued:
        self.orders.append(hosts)
        if self.retry_at is not None:
            raise AcmeError("too many certificates", rate_limited=True, retry_at=self.retry_at)
        if self.error:
            raise AcmeError(self.error)
        chain, key = make_cert(*hosts, days=self.days)
        return Issued(chain, key)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def context(api: Api) -> Context:
    return api.client.app.state.context  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def ca(api: Api) -> tuple[FakeCA, Clock]:
    fake, clock = FakeCA(), Clock()
    ctx = context(api)
    object.__setattr__(ctx, "acme", fake)  # the composition root's choice, for this test
    object.__setattr__(ctx, "clock", clock)
    return fake, clock


def auto(user: User, app: str) -> dict[str, Any]:
    answer = user.get(f"/v2/apps/{app}/tls/auto/")
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def row(user: User, app: str, domain: str) -> dict[str, Any]:
    return next(d for d in auto(user, app)["domains"] if d["domain"] == domain)


def test_without_an_acme_email_it_says_how_to_turn_it_on(api: Api, alice: User) -> None:
    alice.create_app("plain")
    answer = alice.post("/v2/apps/plain/tls/auto/")
    assert answer.status_code == 503
    assert "deisctl up --acme-email" in answer.text
    assert auto(alice, "plain")["auto"] is False


def test_orders_attaches_renews_and_backs_off(
    api: Api, alice: User, bob: User, ca: tuple[FakeCA, Clock]
) -> None:
    fake, clock = ca
    ctx = context(api)
    alice.create_app("shop")
    assert alice.post("/v2/apps/shop/domains/", {"domain": "www.shop.test"}).status_code == 201
    assert bob.post("/v2/apps/shop/tls/auto/").status_code in (403, 404)
    enabled = alice.post("/v2/apps/shop/tls/auto/")
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["auto"] is True
    assert enabled.json()["directory"] == "https://ca.test/dir"
    assert row(alice, "shop", "www.shop.test")["certificate"] is None
    # a cluster's router sends the challenge path to the controller from now on
    assert ctx.router.routes["shop"].acme_challenges is True  # type: ignore[attr-defined]

    assert acme.renew_due(ctx) == 2  # shop.<platform domain> and www.shop.test
    www = row(alice, "shop", "www.shop.test")
    assert www["certificate"] == "acme-www-shop-test" and www["automatic"] is True
    assert www["last_error"] == ""
    certs = {c["name"]: c for c in alice.get("/v2/certs/").json()["results"]}
    assert certs["acme-www-shop-test"]["automatic"] is True
    assert certs["acme-www-shop-test"]["domains"] == ["www.shop.test"]
    route = ctx.router.routes["shop"]  # type: ignore[attr-defined]
    assert {c.name for c in route.certificates} == {"acme-shop", "acme-www-shop-test"}

    assert acme.renew_due(ctx) == 0  # nothing due
    clock.now = NOW + timedelta(days=59)
    assert acme.renew_due(ctx) == 0
    clock.now = NOW + timedelta(days=61)  # 30 days before the 90-day certificate expires
    assert acme.renew_due(ctx) == 2

    # the CA fails: the certificate stays, the error is kept, retried after 1, 2, 4 min
    fake.error = "rate limited (rateLimited)"
    clock.now = NOW + timedelta(days=122)
    before = len(fake.orders)
    assert acme.renew_due(ctx) == 0
    www = row(alice, "shop", "www.shop.test")
    assert www["certificate"] == "acme-www-shop-test"
    assert www["last_error"] == "rate limited (rateLimited)"
    assert len(fake.orders) == before + 2
    assert acme.renew_due(ctx) == 0 and len(fake.orders) == before + 2  # backing off
    clock.now += timedelta(minutes=1)
    acme.renew_due(ctx)
    assert len(fake.orders) == before + 4
    clock.now += timedelta(minutes=1)
    acme.renew_due(ctx)
    assert len(fake.orders) == before + 4  # now 2 minutes
    # (the app's log has it too: tests/acme/test_e2e.py reads it with `deis logs`)

    fake.error = None
    clock.now += timedelta(minutes=1)
    assert acme.renew_due(ctx) == 2
    assert row(alice, "shop", "www.shop.test")["last_error"] == ""

    # a removed domain is not ordered for any more
    assert alice.delete("/v2/apps/shop/domains/www.shop.test").status_code == 204
    clock.now += timedelta(days=80)
    fake.orders.clear()
    acme.renew_due(ctx)
    assert fake.orders and all("www.shop.test" not in hosts for hosts in fake.orders)

    assert alice.delete("/v2/apps/shop/tls/auto/").json()["auto"] is False
    clock.now += timedelta(days=80)
    fake.orders.clear()
    acme.renew_due(ctx)
    assert fake.orders == []


def test_a_rate_limited_ca_is_not_asked_again_before_the_time_it_named(
    api: Api, alice: User, ca: tuple[FakeCA, Clock]
) -> None:
    fake, clock = ca
    ctx = context(api)
    alice.create_app("busy")
    assert alice.post("/v2/apps/busy/tls/auto/").status_code == 200
    fake.retry_at = NOW + timedelta(hours=5)
    assert acme.renew_due(ctx) == 0
    busy = row(alice, "busy", "busy")  # the default domain: busy.PLATFORM_DOMAIN
    assert busy["last_error"] == "too many certificates"
    assert busy["next_attempt"].startswith(fake.retry_at.strftime("%Y-%m-%dT%H:%M:%S"))
    asked = len(fake.orders)
    clock.now = NOW + timedelta(hours=4, minutes=59)  # the back-off alone would have retried
    assert acme.renew_due(ctx) == 0 and len(fake.orders) == asked
    fake.retry_at = None
    clock.now = NOW + timedelta(hours=5)
    assert acme.renew_due(ctx) == 1


def test_leaves_the_users_own_certificate_and_wildcards_alone(
    api: Api, alice: User, ca: tuple[FakeCA, Clock]
) -> None:
    fake, _ = ca
    ctx = context(api)
    alice.create_app("own")
    for domain in ("www.own.test", "*.own.test"):
        assert alice.post("/v2/apps/own/domains/", {"domain": domain}).status_code == 201
    chain, key = make_cert("www.own.test")
    body = {"name": "mine", "certificate": chain, "key": key}
    assert alice.post("/v2/certs/", body).status_code == 201
    attach = alice.post("/v2/certs/mine/domain/", {"domain": "www.own.test"})
    assert attach.status_code == 201, attach.text
    alice.post("/v2/apps/own/tls/auto/")
    acme.renew_due(ctx)
    assert all("www.own.test" not in hosts for hosts in fake.orders)
    assert row(alice, "own", "www.own.test")["certificate"] == "mine"
    assert row(alice, "own", "www.own.test")["automatic"] is False
    assert "DNS-01" in row(alice, "own", "*.own.test")["last_error"]


@dataclass
class FakeCertManager:
    """cert-manager in a cluster: it gets the certificates; the platform only asks."""

    directory: str = "cert-manager ClusterIssuer/letsencrypt"
    delegated: bool = True
    installed: bool = True
    states: list[ClusterCertificate] = field(default_factory=list)

    def check(self) -> None:
        if not self.installed:
            raise Unavailable("this cluster does not serve cert-manager.io/v1")

    def cluster_certificates(self, app_id: str) -> list[ClusterCertificate]:
        return self.states

    def issue(self, hosts: list[str], responder: Router) -> Issued:
        raise AssertionError("the platform never orders when cert-manager does")


def test_on_kubernetes_cert_manager_gets_them_through_the_route(api: Api, alice: User) -> None:
    ctx = context(api)
    manager = FakeCertManager(installed=False)
    object.__setattr__(ctx, "acme", manager)  # the composition root's choice, for this test
    alice.create_app("shop")
    assert alice.post("/v2/apps/shop/domains/", {"domain": "www.shop.test"}).status_code == 201
    refused = alice.post("/v2/apps/shop/tls/auto/")
    assert refused.status_code == 503 and "cert-manager.io/v1" in refused.text
    assert auto(alice, "shop")["auto"] is False

    manager.installed = True
    assert alice.post("/v2/apps/shop/tls/auto/").status_code == 200
    route = ctx.router.routes["shop"]  # type: ignore[attr-defined]
    assert route.auto_tls == (f"shop.{ctx.platform_domain}", "www.shop.test")
    assert acme.renew_due(ctx) == 0  # cert-manager renews, not the platform
    expires = NOW + timedelta(days=90)
    manager.states = [
        ClusterCertificate("www.shop.test", "shop-acme-www-shop-test", True,
                           issuer="ClusterIssuer/letsencrypt", expires=expires),
        ClusterCertificate(f"shop.{ctx.platform_domain}", "shop-acme-shop", False,
                           message="Issuing certificate as Secret does not exist"),
    ]  # fmt: skip
    state = auto(alice, "shop")
    assert state["auto"] is True and state["directory"] == manager.directory
    www = row(alice, "shop", "www.shop.test")
    assert www["certificate"] == "shop-acme-www-shop-test" and www["automatic"] is True
    assert www["issuer"] == "ClusterIssuer/letsencrypt" and www["last_error"] == ""
    assert (
        row(alice, "shop", "shop")["last_error"] == "Issuing certificate as Secret does not exist"
    )

    # a domain with the user's own certificate is left to it
    chain, key = make_cert("www.shop.test")
    body = {"name": "mine", "certificate": chain, "key": key}
    assert alice.post("/v2/certs/", body).status_code == 201
    assert alice.post("/v2/certs/mine/domain/", {"domain": "www.shop.test"}).status_code == 201
    assert ctx.router.routes["shop"].auto_tls == (f"shop.{ctx.platform_domain}",)  # type: ignore[attr-defined]
    assert row(alice, "shop", "www.shop.test")["automatic"] is False

    assert alice.delete("/v2/apps/shop/tls/auto/").status_code == 200
    assert ctx.router.routes["shop"].auto_tls == ()  # type: ignore[attr-defined]


def test_the_controller_answers_the_challenges_a_clusters_router_sends_it(
    api: Api, ca: tuple[FakeCA, Clock]
) -> None:
    ctx = context(api)
    ctx.router.set_challenge("www.shop.test", "tok-1", "tok-1.thumb")
    path = "/.well-known/acme-challenge/tok-1"
    answer = api.client.get(path, headers={"Host": "www.shop.test:80"})
    assert answer.status_code == 200 and answer.text == "tok-1.thumb"
    assert answer.headers["cache-control"] == "no-store"
    assert api.client.get(path, headers={"Host": "other.test"}).status_code == 404
    wrong = api.client.get("/.well-known/acme-challenge/nope", headers={"Host": "www.shop.test"})
    assert wrong.status_code == 404
