"""The router's objects: Gateway API or Ingress, every setting, validated."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from deis.domain.routing import AppRoute, TLSCertificate
from deis.router import kubernetes as router
from deis.router.kubernetes import RouterOptions

from .gateway_schema import validate_gateway_api
from .validation import validate_all

CERT = TLSCertificate("shop-cert", ("shop.example.com", "www.shop.com"), "CERT", "KEY")
WILD = TLSCertificate("wildcard", ("*.shop.com",), "CERT2", "KEY2")
BASE = AppRoute(app="shop", hosts=("shop.apps.example.com", "www.shop.com", "*.shop.com"))
ROUTES = {
    "plain": BASE,
    "tls": replace(BASE, certificates=(CERT, WILD)),
    "https-enforced": replace(BASE, certificates=(CERT,), https_enforced=True),
    "https-no-cert": replace(BASE, https_enforced=True),
    "maintenance": replace(BASE, maintenance=True, certificates=(CERT,)),
    "whitelist": replace(BASE, whitelist=("10.0.0.0/8", "192.168.1.7")),
    "unroutable": replace(BASE, routable=False),
    "no-hosts": replace(BASE, hosts=()),
}
OPTIONS = {
    "default": RouterOptions(),
    "custom": RouterOptions(
        gateway_name="edge", gateway_namespace="gateways", http_listener="web",
        https_listener="websecure", https_port=8443, ingress_class="traefik",
        maintenance_service="down", maintenance_namespace="platform", maintenance_port=8080,
    ),
}  # fmt: skip


def check(objects: list[dict[str, Any]]) -> None:
    for custom in validate_all(objects):
        validate_gateway_api(custom)


@pytest.mark.parametrize("gateway", [True, False], ids=["gateway", "ingress"])
@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_every_route_object_is_valid(
    route: AppRoute, options: RouterOptions, gateway: bool
) -> None:
    check(router.route_objects(route, options, gateway))
    gw = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
          "metadata": {"name": "deis", "namespace": "deis"},
          "spec": {"gatewayClassName": "x", "listeners": [
              {"name": "http", "port": 80, "protocol": "HTTP"}]}}  # fmt: skip
    changed = router.with_listeners(gw, route.app, router.gateway_listeners(route, options))
    validate_gateway_api(changed or gw)


def by_kind(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def test_gateway_route_sends_every_host_to_the_app_service() -> None:
    objects = by_kind(router.route_objects(ROUTES["plain"], RouterOptions(), True))
    route = objects[("HTTPRoute", "shop")]
    assert route["metadata"]["namespace"] == "shop"
    assert route["spec"]["hostnames"] == ["*.shop.com", "shop.apps.example.com", "www.shop.com"]
    assert route["spec"]["parentRefs"] == [{"group": "gateway.networking.k8s.io",
        "kind": "Gateway", "name": "deis", "namespace": "deis"}]  # fmt: skip
    assert route["spec"]["rules"][0]["backendRefs"] == [
        {"group": "", "kind": "Service", "name": "shop", "port": 80}
    ]
    assert ("HTTPRoute", "shop-redirect") not in objects


def test_certificates_become_tls_secrets_and_listeners() -> None:
    route = ROUTES["tls"]
    objects = by_kind(router.route_objects(route, RouterOptions(), True))
    secret = objects[("Secret", "shop-tls-shop-cert")]
    assert secret["type"] == "kubernetes.io/tls"
    assert set(secret["data"]) == {"tls.crt", "tls.key"}
    grant = objects[("ReferenceGrant", "deis-gateway-secrets")]
    assert grant["spec"]["from"][0] == {
        "group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "deis"
    }  # fmt: skip
    listeners = router.gateway_listeners(route, RouterOptions())
    # shop.example.com is not a host of the app: no listener for it
    assert [(x["name"], x["hostname"]) for x in listeners] == [
        ("deis-shop-0", "www.shop.com"),
        ("deis-shop-1", "*.shop.com"),
    ]
    assert all(x["tls"]["certificateRefs"][0]["namespace"] == "shop" for x in listeners)
    ingress = by_kind(router.route_objects(route, RouterOptions(), False))[("Ingress", "shop")]
    assert ingress["spec"]["tls"] == [
        {"hosts": ["www.shop.com"], "secretName": "shop-tls-shop-cert"},
        {"hosts": ["*.shop.com"], "secretName": "shop-tls-wildcard"},
    ]


def test_https_enforcement_is_a_redirect_route_on_the_http_listener() -> None:
    options = OPTIONS["custom"]
    objects = by_kind(router.route_objects(ROUTES["https-enforced"], options, True))
    main = objects[("HTTPRoute", "shop")]
    sections = [ref.get("sectionName") for ref in main["spec"]["parentRefs"]]
    assert sections == ["websecure", "deis-shop-0"]
    redirect = objects[("HTTPRoute", "shop-redirect")]
    assert [ref["sectionName"] for ref in redirect["spec"]["parentRefs"]] == ["web"]
    assert redirect["spec"]["rules"][0]["filters"] == [
        {"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}
    ]
    assert "backendRefs" not in redirect["spec"]["rules"][0]


@pytest.mark.parametrize("name", ["maintenance", "whitelist"])
def test_maintenance_and_allow_lists_point_at_the_maintenance_service(name: str) -> None:
    options = OPTIONS["custom"]
    gateway = by_kind(router.route_objects(ROUTES[name], options, True))
    backend = gateway[("HTTPRoute", "shop")]["spec"]["rules"][0]["backendRefs"][0]
    assert backend == {"group": "", "kind": "Service", "name": "down",
                       "namespace": "platform", "port": 8080}  # fmt: skip
    grant = gateway[("ReferenceGrant", "deis-maintenance-shop")]
    assert grant["metadata"]["namespace"] == "platform"
    assert grant["spec"]["from"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "shop"}
    ]
    ingress = by_kind(router.route_objects(ROUTES[name], options, False))
    alias = ingress[("Service", "deis-maintenance")]
    assert alias["spec"]["externalName"] == "down.platform.svc.cluster.local"
    rule = ingress[("Ingress", "shop")]["spec"]["rules"][0]
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "deis-maintenance"


@pytest.mark.parametrize("name", ["unroutable", "no-hosts"])
def test_no_route_without_hosts_or_when_unroutable(name: str) -> None:
    for gateway in (True, False):
        kinds = {o["kind"] for o in router.route_objects(ROUTES[name], RouterOptions(), gateway)}
        assert kinds <= {"Namespace", "Secret"}


def test_ingress_class() -> None:
    default = by_kind(router.route_objects(BASE, RouterOptions(), False))[("Ingress", "shop")]
    assert "ingressClassName" not in default["spec"]
    custom = by_kind(router.route_objects(BASE, OPTIONS["custom"], False))[("Ingress", "shop")]
    assert custom["spec"]["ingressClassName"] == "traefik"
    assert [r["host"] for r in custom["spec"]["rules"]] == sorted(BASE.hosts)


def test_listeners_of_other_apps_are_kept() -> None:
    gw = {"spec": {"listeners": [
        {"name": "http"}, {"name": "deis-shop-0"}, {"name": "deis-shop-api-0"},
        {"name": "deis-shop-x"}]}}  # fmt: skip
    new = router.with_listeners(gw, "shop", [{"name": "deis-shop-0", "hostname": "a.b"}])
    assert new is not None
    assert [x["name"] for x in new["spec"]["listeners"]] == [
        "http",
        "deis-shop-api-0",
        "deis-shop-x",
        "deis-shop-0",
    ]
    assert router.with_listeners(new, "shop", [{"name": "deis-shop-0", "hostname": "a.b"}]) is None


ISSUER = RouterOptions(cert_issuer=("ClusterIssuer", "letsencrypt"))


def test_automatic_hosts_get_cert_manager_certificates_served_like_uploaded_ones() -> None:
    route = replace(ROUTES["tls"], auto_tls=("shop.apps.example.com", "*.shop.com", "gone.com"))
    objects = by_kind(router.route_objects(route, ISSUER, True))
    cert = objects[("Certificate", "acme-shop-apps-example-com")]
    assert cert["apiVersion"] == "cert-manager.io/v1"
    assert cert["metadata"]["namespace"] == "shop"
    assert cert["spec"]["dnsNames"] == ["shop.apps.example.com"]
    assert cert["spec"]["secretName"] == "shop-acme-shop-apps-example-com"
    assert cert["spec"]["issuerRef"] == {
        "group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt"
    }  # fmt: skip
    # only hosts of the app, never a wildcard (HTTP-01 cannot validate one)
    assert sorted(k[1] for k in objects if k[0] == "Certificate") == ["acme-shop-apps-example-com"]
    listeners = {x["hostname"]: x for x in router.gateway_listeners(route, ISSUER)}
    refs = listeners["shop.apps.example.com"]["tls"]["certificateRefs"]
    assert refs == [{"group": "", "kind": "Secret", "name": "shop-acme-shop-apps-example-com",
                     "namespace": "shop"}]  # fmt: skip
    # an uploaded certificate keeps its host's listener
    assert listeners["*.shop.com"]["tls"]["certificateRefs"][0]["name"] == "shop-tls-wildcard"
    ingress = by_kind(router.route_objects(route, ISSUER, False))[("Ingress", "shop")]
    assert {"hosts": ["shop.apps.example.com"],
            "secretName": "shop-acme-shop-apps-example-com"} in ingress["spec"]["tls"]  # fmt: skip
    check([o for o in router.route_objects(route, ISSUER, True) if o["kind"] != "Certificate"])


def test_no_certificate_objects_without_an_issuer() -> None:
    route = replace(ROUTES["plain"], auto_tls=("shop.apps.example.com",))
    objects = router.route_objects(route, RouterOptions(), True)
    assert all(o["kind"] != "Certificate" for o in objects)
    assert router.gateway_listeners(route, RouterOptions()) == []


def test_acme_challenges_go_to_the_controller_when_the_platform_orders() -> None:
    route = replace(ROUTES["tls"], acme_challenges=True)
    objects = by_kind(router.route_objects(route, RouterOptions(), True))
    first = objects[("HTTPRoute", "shop")]["spec"]["rules"][0]
    assert first == {
        "matches": [{"path": {"type": "PathPrefix", "value": "/.well-known/acme-challenge/"}}],
        "backendRefs": [{"group": "", "kind": "Service", "name": "deis-controller",
                         "namespace": "deis", "port": 80}],
    }  # fmt: skip
    grant = objects[("ReferenceGrant", "deis-acme-shop")]
    assert grant["metadata"]["namespace"] == "deis"
    assert grant["spec"]["from"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "shop"}
    ]
    assert grant["spec"]["to"] == [{"group": "", "kind": "Service", "name": "deis-controller"}]
    check(list(objects.values()))
    # HTTPS enforced: the route on the HTTP listener answers challenges before redirecting
    enforced = by_kind(
        router.route_objects(replace(route, https_enforced=True), RouterOptions(), True)
    )
    redirect = enforced[("HTTPRoute", "shop-redirect")]["spec"]["rules"]
    assert redirect[0] == first and redirect[1]["filters"][0]["type"] == "RequestRedirect"
    assert enforced[("HTTPRoute", "shop")]["spec"]["rules"][0]["matches"][0]["path"]["value"] == "/"
    check(list(enforced.values()))
    # an Ingress reaches the controller through an ExternalName Service of the app's namespace
    ingress = by_kind(router.route_objects(route, RouterOptions(), False))
    paths = ingress[("Ingress", "shop")]["spec"]["rules"][0]["http"]["paths"]
    assert paths[0]["path"] == "/.well-known/acme-challenge"
    assert paths[0]["backend"]["service"]["name"] == "deis-controller"
    alias = ingress[("Service", "deis-controller")]["spec"]
    assert alias["externalName"] == "deis-controller.deis.svc.cluster.local"
    check(list(ingress.values()))
    # without automatic TLS: none of it
    plain = router.route_objects(ROUTES["tls"], RouterOptions(), True)
    assert all(
        o["kind"] != "ReferenceGrant" or o["metadata"]["name"] != "deis-acme-shop" for o in plain
    )
