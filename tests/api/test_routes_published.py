"""Routing changes reach the router: hosts, certificates, settings and TLS of each app."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from deis.domain.routing import RouteLimits
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


def test_router_config_keys_become_the_apps_limits(api: Api, alice: User) -> None:
    alice.create_app("limited")
    assert router_of(api).routes["limited"].limits == RouteLimits()
    values = {
        "DEIS_ROUTER_BODY_SIZE": "20m",
        "DEIS_ROUTER_READ_TIMEOUT": "300",
        "DEIS_ROUTER_CONNECT_TIMEOUT": "10s",
    }
    assert alice.post("/v2/apps/limited/config/", {"values": values}).status_code == 201
    assert router_of(api).routes["limited"].limits == RouteLimits(
        body_size=20 * 1024**2, connect_timeout=10, read_timeout=300
    )
    alice.post("/v2/apps/limited/config/", {"values": {"DEIS_ROUTER_READ_TIMEOUT": None}})
    assert router_of(api).routes["limited"].limits.read_timeout is None
    # a rollback to v2 brings its limits back
    assert alice.post("/v2/apps/limited/releases/rollback/", {"version": 2}).status_code == 201
    assert router_of(api).routes["limited"].limits.read_timeout == 300


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("DEIS_ROUTER_BODY_SIZE", "ten megabytes", "must be a size in bytes"),
        ("DEIS_ROUTER_BODY_SIZE", "0", "must be a size in bytes"),
        ("DEIS_ROUTER_READ_TIMEOUT", "-1", "from 1 to 86400"),
        ("DEIS_ROUTER_CONNECT_TIMEOUT", "120", "from 1 to 75"),
        ("DEIS_ROUTER_SEND_TIMEOUT", "1m", "from 1 to 86400"),
    ],
)
def test_bad_router_config_values_are_refused(
    api: Api, alice: User, key: str, value: str, message: str
) -> None:
    alice.create_app("strict")
    response = alice.post("/v2/apps/strict/config/", {"values": {key: value}})
    assert response.status_code == 400
    assert message in response.json()["values"][0]
    assert key not in alice.get("/v2/apps/strict/config/").json()["values"]
