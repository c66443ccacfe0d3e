"""`deisctl kubernetes render`: every manifest for every option, validated."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import pytest

from deis.platform.kubernetes.render import (
    InstallOptions,
    controller_rules,
    package_version,
    render,
)

from .gateway_schema import validate_gateway_api
from .validation import validate_all

BASE = InstallOptions(
    domain="apps.example.com",
    database_url="postgresql://deis:pw@db.example.com:5432/deis",
    builder_key="k" * 64,
    s3_endpoint="https://s3.example.com",
    s3_access_key="AK",
    s3_secret_key="SK",
)
ROUTING = {
    "gateway": {"routing": "gateway"},
    "gateway-class": {"routing": "gateway", "gateway_class": "eg", "gateway_name": "edge"},
    "gateway-tls": {"routing": "gateway", "gateway_class": "eg", "gateway_tls_secret": "wild"},
    "ingress": {"routing": "ingress"},
    "ingress-class": {"routing": "ingress", "ingress_class": "traefik", "gateway_tls_secret": "w"},
}
STORAGE = {
    "s3": {"storage": "s3"},
    "pvc": {"storage": "pvc"},
    "pvc-class": {"storage": "pvc", "storage_class": "fast", "registry_size": "50Gi"},
}
OTHER = {
    "defaults": {},
    "custom": {"namespace": "paas", "builder_service_type": "NodePort",
               "controller_image": "r.example.com/deis/controller:1",
               "registry_image": "r.example.com/registry:2", "controller_replicas": 2,
               "s3_bucket": "b", "s3_region": "eu-west-1"},
    "image-prefix": {"image_prefix": "registry.example.com:5000/deis", "image_tag": "1.2.3"},
}  # fmt: skip


def cases() -> list[Any]:
    return [
        pytest.param({**a, **b, **c}, id=f"{x}-{y}-{z}")
        for (x, a), (y, b), (z, c) in itertools.product(
            ROUTING.items(), STORAGE.items(), OTHER.items()
        )
    ]


@pytest.mark.parametrize("changes", cases())
def test_every_manifest_is_valid(changes: dict[str, Any]) -> None:
    manifests = render(replace(BASE, **changes))
    for custom in validate_all(manifests):
        validate_gateway_api(custom)
    names = [(m["kind"], m["metadata"]["name"]) for m in manifests]
    assert len(names) == len(set(names))
    assert manifests[0]["kind"] == "Namespace"


def by_kind(options: InstallOptions) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m["kind"], m["metadata"]["name"]): m for m in render(options)}


def test_everything_the_platform_needs() -> None:
    objects = by_kind(BASE)
    for key in [
        ("Namespace", "deis"),
        ("ServiceAccount", "deis-controller"),
        ("ClusterRole", "deis-controller"),
        ("ClusterRoleBinding", "deis-controller"),
        ("Role", "deis-gateway-listeners"),
        ("ConfigMap", "deis-settings"),
        ("Secret", "deis-database"),
        ("Secret", "deis-objectstore"),
        ("Secret", "deis-builder-key"),
        ("Deployment", "deis-controller"),
        ("Service", "deis-controller"),
        ("Service", "deis-builder"),
        ("Deployment", "deis-registry"),
        ("Service", "deis-registry"),
        ("Deployment", "deis-maintenance"),
        ("Service", "deis-maintenance"),
        ("HTTPRoute", "deis-controller"),
        ("NetworkPolicy", "deis-builds"),
        ("NetworkPolicy", "deis-dockerbuilds-push"),
    ]:
        assert key in objects, key
    assert objects[("Secret", "deis-database")]["stringData"] == {
        "DEIS_DATABASE_URL": "postgresql://deis:pw@db.example.com:5432/deis"
    }
    store = objects[("Secret", "deis-objectstore")]["stringData"]
    assert store["DEIS_S3_ENDPOINT"] == "https://s3.example.com"
    assert store["AWS_SECRET_ACCESS_KEY"] == "SK"
    builder = objects[("Service", "deis-builder")]["spec"]
    assert builder["type"] == "LoadBalancer" and builder["ports"][0]["port"] == 2222
    settings = objects[("ConfigMap", "deis-settings")]["data"]
    assert settings["DEIS_RUNTIME"] == "kubernetes" and settings["DEIS_DOMAIN"] == BASE.domain
    assert settings["DEIS_KUBERNETES_ADDON_IMAGE"] == f"deis/addons:{BASE.image_tag}"


def test_least_privilege() -> None:
    rules = controller_rules(BASE)
    resources = {r for rule in rules for r in rule["resources"]}
    assert resources == {
        "namespaces", "secrets", "services", "pods", "pods/log", "deployments",
        "horizontalpodautoscalers", "cronjobs", "httproutes", "referencegrants",
        "statefulsets", "networkpolicies", "persistentvolumeclaims",  # add-ons
    }  # fmt: skip
    claims = next(rule for rule in rules if rule["resources"] == ["persistentvolumeclaims"])
    assert claims["verbs"] == ["get", "list"]  # read only: the StatefulSet makes them
    assert all("*" not in rule["verbs"] and "*" not in rule["resources"] for rule in rules)
    assert "ingresses" in {r for rule in controller_rules(replace(BASE, routing="ingress"))
                           for r in rule["resources"]}  # fmt: skip
    issued = controller_rules(replace(BASE, cert_issuer="ClusterIssuer/letsencrypt"))
    assert {"apiGroups": ["cert-manager.io"], "resources": ["certificates"],
            "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]} in issued  # fmt: skip
    role = by_kind(BASE)[("Role", "deis-gateway-listeners")]
    assert role["rules"][0]["resourceNames"] == ["deis"]
    assert ("Role", "deis-gateway-listeners") not in by_kind(replace(BASE, routing="ingress"))


def test_storage_options() -> None:
    s3 = by_kind(BASE)
    env = {e["name"] for e in s3[("Deployment", "deis-registry")]["spec"]["template"]["spec"]
           ["containers"][0]["env"]}  # fmt: skip
    assert "REGISTRY_STORAGE_S3_BUCKET" in env
    assert ("PersistentVolumeClaim", "deis-registry") not in s3
    pvc = by_kind(replace(BASE, storage="pvc", storage_class="fast", registry_size="5Gi"))
    claim = pvc[("PersistentVolumeClaim", "deis-registry")]["spec"]
    assert claim["storageClassName"] == "fast"
    assert claim["resources"]["requests"]["storage"] == "5Gi"
    assert pvc[("Deployment", "deis-registry")]["spec"]["strategy"] == {"type": "Recreate"}


def test_routing_options() -> None:
    gateway = by_kind(replace(BASE, gateway_class="eg", gateway_tls_secret="wild"))
    listeners = gateway[("Gateway", "deis")]["spec"]["listeners"]
    assert [x["name"] for x in listeners] == ["http", "https"]
    assert listeners[1]["tls"]["certificateRefs"][0]["name"] == "wild"
    assert ("Gateway", "deis") not in by_kind(BASE)
    ingress = by_kind(replace(BASE, routing="ingress", ingress_class="traefik"))
    spec = ingress[("Ingress", "deis-controller")]["spec"]
    assert spec["ingressClassName"] == "traefik"
    assert spec["rules"][0]["host"] == "deis.apps.example.com"
    assert ingress[("ConfigMap", "deis-settings")]["data"]["DEIS_KUBERNETES_INGRESS_CLASS"] == (
        "traefik"
    )
    issued = by_kind(replace(BASE, cert_issuer="letsencrypt"))[("ConfigMap", "deis-settings")]
    assert issued["data"]["DEIS_KUBERNETES_CERT_ISSUER"] == "letsencrypt"
    # automatic TLS ordered by the controller: its settings, the challenges' ConfigMap, a
    # Role for that one ConfigMap
    ordered = by_kind(replace(BASE, acme_email="ops@example.com"))
    assert ordered[("ConfigMap", "deis-settings")]["data"]["DEIS_ACME_EMAIL"] == "ops@example.com"
    assert ordered[("ConfigMap", "deis-acme-challenges")]["data"] == {}
    rule = ordered[("Role", "deis-acme-challenges")]["rules"][0]
    assert rule["resourceNames"] == ["deis-acme-challenges"] and "create" not in rule["verbs"]
    assert ("RoleBinding", "deis-acme-challenges") in ordered
    assert ("ConfigMap", "deis-acme-challenges") not in by_kind(BASE)


@pytest.mark.parametrize(
    "changes",
    [{"domain": ""}, {"database_url": "sqlite:///x"}, {"builder_key": ""},
     {"routing": "nginx"}, {"storage": "disk"}, {"builder_service_type": "Magic"},
     {"s3_endpoint": ""}, {"cert_issuer": "Vault/x"}, {"cert_issuer": "ClusterIssuer/"},
     {"acme_email": "ops"}],
)  # fmt: skip
def test_bad_options_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        render(replace(BASE, **changes))


def test_the_platform_images_come_from_the_prefix_and_tag() -> None:
    options = replace(BASE, image_prefix="registry.example.com:5000/deis/", image_tag="1.2.3")
    objects = by_kind(options)
    pod = objects[("Deployment", "deis-controller")]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "registry.example.com:5000/deis/controller:1.2.3"
    settings = objects[("ConfigMap", "deis-settings")]["data"]
    for name in ("slugbuilder", "slugrunner", "dockerbuilder"):
        expected = f"registry.example.com:5000/deis/{name}:1.2.3"
        assert settings[f"DEIS_KUBERNETES_{name.upper()}_IMAGE"] == expected
    maintenance = objects[("Deployment", "deis-maintenance")]["spec"]["template"]["spec"]
    assert (
        maintenance["containers"][0]["image"] == "registry.example.com:5000/deis/controller:1.2.3"
    )
    # the default: what `make images` tags, this package's version
    default = by_kind(BASE)[("ConfigMap", "deis-settings")]["data"]
    assert default["DEIS_KUBERNETES_SLUGRUNNER_IMAGE"] == f"deis/slugrunner:{package_version()}"
    mixed = by_kind(replace(options, slugrunner_image="other/runner:7"))
    assert (
        mixed[("ConfigMap", "deis-settings")]["data"]["DEIS_KUBERNETES_SLUGRUNNER_IMAGE"]
        == "other/runner:7"
    )
    for bad in ({"image_prefix": "Has Space"}, {"image_tag": "a:b"}, {"image_prefix": ""}):
        with pytest.raises(ValueError, match="image"):
            replace(BASE, **bad).check()


def test_build_policies_refuse_private_networks_and_bad_cidrs() -> None:
    policy = by_kind(BASE)[("NetworkPolicy", "deis-builds")]["spec"]
    assert policy["podSelector"] == {"matchLabels": {"heritage": "deis", "component": "build"}}
    assert policy["ingress"] == []
    block = policy["egress"][1]["to"][0]["ipBlock"]
    assert block["cidr"] == "0.0.0.0/0"
    assert block["except"] == [
        "169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not an IPv4"):
        render(replace(BASE, build_allow_cidrs=("10.0.0.300/24",)))
