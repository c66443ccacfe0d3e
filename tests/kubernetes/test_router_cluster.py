"""The Kubernetes router against an API server: objects applied, replaced and pruned."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from deis.domain.errors import Unavailable
from deis.domain.routing import AppRoute, TLSCertificate
from deis.router.cert_manager import CertManager
from deis.router.kubernetes import CERT_MANAGER_API, KubernetesRouter, RouterOptions
from deis.runtime.kubernetes import ApiError, Kube

from .conftest import ControlPlane, new_app
from .fake_apiserver import FakeApiServer
from .kubelet import TEST_NAMESPACE

GW = "gateway.networking.k8s.io/v1"
CERT = TLSCertificate("main", ("www.shop.test",), "CERT", "KEY")
OTHER = TLSCertificate("other", ("api.shop.test",), "CERT2", "KEY2")
GATEWAY = {"apiVersion": GW, "kind": "Gateway", "metadata": {"name": "deis", "namespace": "deis"},
           "spec": {"gatewayClassName": "eg", "listeners": [
               {"name": "http", "port": 80, "protocol": "HTTP"}]}}  # fmt: skip


@pytest.fixture(params=[True, False, "real"], ids=["gateway-api", "no-gateway-api", "real"])
def served(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "real":
        # the Gateway API when the control plane has its CRDs (scripts/kube-control-plane.sh
        # gateway-api), else Ingress
        plane: ControlPlane = request.getfixturevalue("real_control_plane")
        kube = Kube.connect(str(plane.kubeconfig), timeout=10)
        kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "deis"}})
        gateway = kube.has_api(GW)
        if gateway:
            kube.apply(GATEWAY)
        before = {n["metadata"]["name"] for n in kube.list("v1", "Namespace")}
        try:
            yield kube, gateway
        finally:
            for namespace in kube.list("v1", "Namespace"):
                name = namespace["metadata"]["name"]
                if name not in before and TEST_NAMESPACE.fullmatch(name):
                    kube.delete("v1", "Namespace", name)
            kube.close()
        return
    server = FakeApiServer(gateway=request.param, cert_manager=True).start()
    kube = Kube.connect(str(server.kubeconfig(tmp_path)), timeout=5, backoff=0.01)
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "deis"}})
    if request.param:
        kube.apply(GATEWAY)
    try:
        yield kube, request.param
    finally:
        kube.close()
        server.stop()


def route(app: str, **changes: object) -> AppRoute:
    base = AppRoute(app=app, hosts=(f"{app}.apps.test", "www.shop.test", "api.shop.test"))
    return replace(base, **changes)  # type: ignore[arg-type]


def names(kube: Kube, api: str, kind: str, namespace: str) -> list[str]:
    """The platform's objects of a kind (a real cluster adds its own to every namespace: the
    default ServiceAccount's token Secret)."""
    objects = kube.list(api, kind, namespace, {"heritage": "deis"})
    return sorted(o["metadata"]["name"] for o in objects)


def listeners(kube: Kube) -> list[str]:
    gateway = kube.get(GW, "Gateway", "deis", "deis")
    assert gateway is not None
    return [x["name"] for x in gateway["spec"]["listeners"]]


def test_the_mode_follows_what_the_cluster_serves(served: tuple[Kube, bool]) -> None:
    kube, gateway = served
    router = KubernetesRouter(kube, api_errors=(ApiError,))
    router.start()
    assert router.gateway is gateway
    assert KubernetesRouter(kube, RouterOptions(mode="ingress")).gateway is False


def test_apply_update_and_remove(served: tuple[Kube, bool]) -> None:
    kube, gateway = served
    router = KubernetesRouter(kube, api_errors=(ApiError,))
    app = new_app()
    router.apply(route(app, certificates=(CERT, OTHER)))
    secrets = names(kube, "v1", "Secret", app)
    assert secrets == [f"{app}-tls-main", f"{app}-tls-other"]
    if gateway:
        assert names(kube, GW, "HTTPRoute", app) == [app]
        assert listeners(kube) == ["http", f"deis-{app}-0", f"deis-{app}-1"]
    else:
        ingress = kube.get("networking.k8s.io/v1", "Ingress", app, app)
        assert ingress is not None and len(ingress["spec"]["tls"]) == 2
    # one certificate fewer, HTTPS enforced, maintenance on
    router.apply(route(app, certificates=(CERT,), https_enforced=True, maintenance=True))
    assert names(kube, "v1", "Secret", app) == [f"{app}-tls-main"]
    if gateway:
        assert names(kube, GW, "HTTPRoute", app) == [app, f"{app}-redirect"]
        assert listeners(kube) == ["http", f"deis-{app}-0"]
        main = kube.get(GW, "HTTPRoute", app, app)
        assert main is not None
        assert main["spec"]["rules"][0]["backendRefs"][0]["name"] == "deis-maintenance"
        grants = names(kube, "gateway.networking.k8s.io/v1beta1", "ReferenceGrant", "deis")
        assert grants == [f"deis-maintenance-{app}"]
    else:
        assert kube.get("v1", "Service", "deis-maintenance", app) is not None
    # maintenance off: the alias and the grant go
    router.apply(route(app, certificates=(CERT,)))
    if gateway:
        assert names(kube, "gateway.networking.k8s.io/v1beta1", "ReferenceGrant", "deis") == []
        assert names(kube, GW, "HTTPRoute", app) == [app]
    else:
        assert kube.get("v1", "Service", "deis-maintenance", app) is None
    router.apply(route(app, routable=False))
    kinds = (GW, "HTTPRoute") if gateway else ("networking.k8s.io/v1", "Ingress")
    assert names(kube, *kinds, app) == []
    router.remove(app)
    assert names(kube, "v1", "Secret", app) == []
    if gateway:
        assert listeners(kube) == ["http"]


def test_listeners_of_concurrent_apps_are_all_kept(served: tuple[Kube, bool]) -> None:
    kube, gateway = served
    if not gateway:
        pytest.skip("listeners are a Gateway API matter")
    apps = [new_app() for _ in range(4)]
    errors: list[BaseException] = []

    def apply(app: str) -> None:
        try:
            KubernetesRouter(kube).apply(
                route(app, hosts=(f"{app}.shop.test",),
                      certificates=(TLSCertificate("c", (f"{app}.shop.test",), "C", "K"),))
            )  # fmt: skip
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=apply, args=(a,)) for a in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(listeners(kube)) == sorted(["http", *(f"deis-{a}-0" for a in apps)])


def test_a_missing_gateway_is_unavailable(tmp_path: Path) -> None:
    server = FakeApiServer(gateway=True).start()
    kube = Kube.connect(str(server.kubeconfig(tmp_path)), timeout=5, backoff=0.01)
    try:
        router = KubernetesRouter(kube, api_errors=(ApiError,))
        with pytest.raises(Unavailable, match="Gateway deis/deis"):
            router.apply(route(new_app(), certificates=(CERT,)))
        server.fail_next = [500] * 10
        with pytest.raises(Unavailable, match="Kubernetes API"):
            router.apply(route(new_app()))
    finally:
        kube.close()
        server.stop()


def test_a_foreign_namespace_is_left_alone(served: tuple[Kube, bool]) -> None:
    kube, _gateway = served
    app = new_app()
    kube.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": app}})
    kube.create({"apiVersion": "v1", "kind": "Secret",
                 "metadata": {"name": "x", "namespace": app,
                              "labels": {"heritage": "deis", "app": app, "deis.io/route": "true"}}})  # fmt: skip
    router = KubernetesRouter(kube, api_errors=(ApiError,))
    with pytest.raises(Unavailable, match="not the platform's"):
        router.apply(route(app))
    router.remove(app)
    assert names(kube, "v1", "Secret", app) == ["x"]


def test_automatic_hosts_get_certificates_from_cert_manager(served: tuple[Kube, bool]) -> None:
    kube, gateway = served
    if not kube.has_api(CERT_MANAGER_API):
        pytest.skip("no cert-manager CRD (scripts/kube-control-plane.sh cert-manager)")
    issuer = ("ClusterIssuer", "letsencrypt")
    router = KubernetesRouter(kube, RouterOptions(cert_issuer=issuer), api_errors=(ApiError,))
    manager = CertManager(kube, issuer, api_errors=(ApiError,))
    manager.check()
    app = new_app()
    host = f"{app}.apps.test"
    router.apply(route(app, certificates=(CERT,), auto_tls=(host, "api.shop.test")))
    assert names(kube, CERT_MANAGER_API, "Certificate", app) == [
        "acme-api-shop-test",
        f"acme-{app}-apps-test",
    ]
    # every field written is kept (a real API server prunes the fields its CRD lacks)
    live = kube.get(CERT_MANAGER_API, "Certificate", "acme-api-shop-test", app)
    assert live is not None and live["spec"] == {
        "secretName": f"{app}-acme-api-shop-test", "dnsNames": ["api.shop.test"],
        "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt"},
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
    }  # fmt: skip
    if gateway:
        mine = [x for x in listeners(kube) if x.startswith(f"deis-{app}-")]
        assert mine == [f"deis-{app}-{n}" for n in range(3)]
    # cert-manager (not running here) writes the Secret and the status; the platform reads them
    kube.create({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                 "metadata": {"name": f"{app}-acme-api-shop-test", "namespace": app},
                 "data": {"tls.crt": "", "tls.key": ""}})  # fmt: skip
    kube.merge_patch(
        f"/apis/{CERT_MANAGER_API}/namespaces/{app}/certificates/acme-api-shop-test",
        {"status": {"notAfter": "2027-03-06T10:00:00Z", "renewalTime": "2027-02-04T10:00:00Z",
                    "conditions": [{"type": "Ready", "status": "True", "reason": "Ready",
                                    "message": "Certificate is up to date and has not expired",
                                    "lastTransitionTime": "2026-12-06T10:00:00Z"}]}},
        subresource="status",
    )  # fmt: skip
    states = {c.host: c for c in manager.cluster_certificates(app)}
    assert states["api.shop.test"].ready
    assert f"{states['api.shop.test'].expires:%Y-%m-%d}" == "2027-03-06"
    assert states["api.shop.test"].issuer == "ClusterIssuer/letsencrypt"
    assert not states[host].ready and states[host].message == "waiting for cert-manager"
    # a host no longer automatic loses its Certificate; the Secret cert-manager wrote stays
    router.apply(route(app, certificates=(CERT,), auto_tls=(host,)))
    assert names(kube, CERT_MANAGER_API, "Certificate", app) == [f"acme-{app}-apps-test"]
    assert kube.get("v1", "Secret", f"{app}-acme-api-shop-test", app) is not None
    router.remove(app)
    assert names(kube, CERT_MANAGER_API, "Certificate", app) == []


def test_an_issuer_without_cert_manager_routes_all_the_same(tmp_path: Path) -> None:
    server = FakeApiServer(gateway=False).start()
    kube = Kube.connect(str(server.kubeconfig(tmp_path)), timeout=5, backoff=0.01)
    try:
        issuer = ("ClusterIssuer", "letsencrypt")
        router = KubernetesRouter(kube, RouterOptions(cert_issuer=issuer), api_errors=(ApiError,))
        app = new_app()
        router.apply(route(app, auto_tls=(f"{app}.apps.test",)))
        assert kube.get("networking.k8s.io/v1", "Ingress", app, app) is not None
        with pytest.raises(Unavailable, match="cert-manager"):
            CertManager(kube, issuer, api_errors=(ApiError,)).check()
    finally:
        kube.close()
        server.stop()


def test_challenges_are_kept_in_the_cluster_for_every_controller(
    served: tuple[Kube, bool],
) -> None:
    kube, gateway = served
    router = KubernetesRouter(kube, api_errors=(ApiError,))
    other = KubernetesRouter(kube, api_errors=(ApiError,))  # another controller replica
    app = new_app()
    token = f"tok-{app}"
    router.set_challenge(f"{app}.apps.test", token, f"{token}.thumb")
    router.set_challenge(f"www.{app}.test", f"{token}-2", f"{token}-2.thumb")
    assert other.challenge_answer(f"{app}.apps.test", token) == f"{token}.thumb"
    assert other.challenge_answer(f"www.{app}.test", token) is None  # another host's token
    router.remove_challenge(token)
    assert other.challenge_answer(f"{app}.apps.test", token) is None
    assert other.challenge_answer(f"www.{app}.test", f"{token}-2") == f"{token}-2.thumb"
    router.remove_challenge(f"{token}-2")
    with pytest.raises(ValueError):
        router.set_challenge(f"{app}.apps.test", "bad token", "x")
    # the route sends the challenge path to the controller while automatic TLS is on
    router.apply(route(app, acme_challenges=True))
    if gateway:
        grants = names(kube, "gateway.networking.k8s.io/v1beta1", "ReferenceGrant", "deis")
        assert f"deis-acme-{app}" in grants
    else:
        assert kube.get("v1", "Service", "deis-controller", app) is not None
    router.apply(route(app))
    if gateway:
        grants = names(kube, "gateway.networking.k8s.io/v1beta1", "ReferenceGrant", "deis")
        assert f"deis-acme-{app}" not in grants
    else:
        assert kube.get("v1", "Service", "deis-controller", app) is None
    router.remove(app)
