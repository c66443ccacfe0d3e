"""Routing changes reach the router: hosts, certificates, settings and TLS of each app."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from deis.router.recording import RecordingRouter
from tests.api.conftest import Api, User
from tests.domain.factories import make_cert


def router_of(api: Api) -> RecordingRouter:
    router = api.client.app.state.context.router  # type: ignore[attr-defined]
    assert isinstance(router, RecordingRouter)
    return router


def test_a_new_app_is_routed_at_its_default_host(api: Api, alice: User) -> None:
    alice.create_app("routed")
    route = router_of(api).routes["routed"]
    assert route.hosts == ("routed.localhost",)
    assert route.routable and not route.maintenance and not route.https_enforced


def test_domains_settings_tls_and_certs_are_published(api: Api, alice: User) -> None:
    alice.create_app("shop")
    alice.post("/v2/apps/shop/domains/", {"domain": "shop.example.com"})
    alice.post("/v2/apps/shop/settings/", {"maintenance": True, "routable": False})
    alice.post("/v2/apps/shop/whitelist/", {"addresses": ["10.0.0.0/8"]})
    alice.post("/v2/apps/shop/tls/", {"https_enforced": True})
    pair = make_cert(
        ec.generate_private_key(ec.SECP256R1()), "shop.example.com", ["shop.example.com"]
    )
    alice.post("/v2/certs/", {"name": "shop", "certificate": pair.certificate, "key": pair.key})
    alice.post("/v2/certs/shop/domain/", {"domain": "shop.example.com"})
    route = router_of(api).routes["shop"]
    assert route.hosts == ("shop.localhost", "shop.example.com")
    assert route.maintenance and not route.routable and route.https_enforced
    assert route.whitelist == ("10.0.0.0/8",)
    assert [(c.name, c.hosts) for c in route.certificates] == [("shop", ("shop.example.com",))]
    alice.delete("/v2/certs/shop/domain/shop.example.com")
    assert router_of(api).routes["shop"].certificates == ()
    alice.delete("/v2/apps/shop/domains/shop.example.com")
    assert router_of(api).routes["shop"].hosts == ("shop.localhost",)


def test_destroy_removes_the_route(api: Api, alice: User) -> None:
    alice.create_app("gone")
    alice.delete("/v2/apps/gone/")
    assert "gone" not in router_of(api).routes


def test_metrics_need_a_router_that_counts(api: Api, alice: User) -> None:
    alice.create_app("counted")
    response = alice.get("/v2/apps/counted/metrics")
    assert response.status_code == 503 and "counts no requests" in response.json()["detail"]
    assert api.client.get("/v2/apps/counted/metrics").status_code == 401
