"""KubernetesAddons (DEIS_ADDONS=kubernetes) against the fake API server and a real one.

On the real API server the StatefulSet controller of kube-controller-manager makes the pod
and its claim, and the namespace controller deletes what an add-on's namespace holds; the
test kubelet binds the pod and marks it ready (it runs no container: the server's and the
jobs' scripts run for real in tests/runtime/test_addons.py). A backup or restore pod is
"run" by the kubelet's behaviour below, which moves the bytes through the presigned URL
the pod was given, against moto's S3 over HTTP.
"""

from __future__ import annotations

import secrets
import string
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from deis.domain.addons import Addon
from deis.domain.errors import Unavailable
from deis.domain.terminal import Opening
from deis.objects.s3 import S3Objects
from deis.runtime.kubernetes import addons as manifests
from deis.runtime.kubernetes.addon_servers import AddonOptions, KubernetesAddons

from ..objects.conftest import s3_endpoint, s3_store  # noqa: F401 - fixtures
from .conftest import Cluster
from .kubelet import default_behaviour
from .test_real_cluster import until

NOW = datetime(2026, 12, 6, tzinfo=UTC)
IMAGE = "registry.example.com/deis/addons:1"


def new_addon(service: str = "postgres", app: str = "shop") -> Addon:
    """A name the test kubelet looks after (kubelet.TEST_NAMESPACE), unique per run."""
    letters = "".join(secrets.choice(string.ascii_lowercase) for _ in range(6))
    name = f"{service}-tst{letters}-{secrets.randbelow(10000):04d}"
    return Addon(name, service, "mini", app, "alice", secrets.token_hex(8), 25000, NOW, NOW)


@pytest.fixture
def servers(cluster: Cluster, s3_store: S3Objects) -> Iterator[KubernetesAddons]:  # noqa: F811
    made = KubernetesAddons(
        cluster.kube, AddonOptions(image=IMAGE, ready_timeout=30), s3_store, poll_interval=0.05
    )
    made.made = []  # type: ignore[attr-defined]
    yield made
    for name in made.made:  # type: ignore[attr-defined]
        made.deprovision(name)


def provisioned(servers: KubernetesAddons, addon: Addon) -> Addon:
    servers.made.append(addon.name)  # type: ignore[attr-defined]
    servers.provision(addon)
    return addon


def namespace_gone(cluster: Cluster, name: str) -> bool:
    live = cluster.kube.get("v1", "Namespace", name)
    return live is None or bool(live["metadata"].get("deletionTimestamp"))


def test_provision_makes_its_own_namespace_and_returns_when_ready(
    cluster: Cluster, servers: KubernetesAddons
) -> None:
    kube = cluster.kube
    addon = provisioned(servers, new_addon())
    assert servers.state(addon.name) == "available"
    namespace = kube.get("v1", "Namespace", addon.name)
    assert namespace is not None
    assert namespace["metadata"]["labels"][manifests.LABEL_ADDON] == addon.name
    secret = kube.get("v1", "Secret", addon.name, addon.name)
    assert secret is not None and "password" in secret["data"]
    service = kube.get("v1", "Service", addon.name, addon.name)
    assert service is not None and service["spec"]["ports"][0]["port"] == 5432
    stateful = kube.get("apps/v1", "StatefulSet", addon.name, addon.name)
    assert stateful is not None
    # the cluster's StatefulSet controller made the pod and its claim of the plan's size
    pod = kube.get("v1", "Pod", manifests.pod_name(addon.name), addon.name)
    assert pod is not None
    claim = kube.get("v1", "PersistentVolumeClaim", manifests.claim_name(addon.name), addon.name)
    assert claim is not None and claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    # what the app's config var holds: the Service, on PostgreSQL's own port
    assert servers.url(addon) == (
        f"postgres://app:{addon.password}@{addon.name}.{addon.name}.svc:5432/app"
    )
    # admitted: the app it was made for, and the platform's own jobs
    policy = kube.get("networking.k8s.io/v1", "NetworkPolicy", addon.name, addon.name)
    assert policy is not None
    sources = policy["spec"]["ingress"][0]["from"]
    assert sources[0]["podSelector"]["matchLabels"] == {"app": "shop"}
    assert sources[0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "shop"}
    assert len(sources) == 2


def test_reach_admits_exactly_the_attached_apps(
    cluster: Cluster, servers: KubernetesAddons
) -> None:
    addon = provisioned(servers, new_addon("redis"))

    def admitted() -> list[str | None]:
        policy = cluster.kube.get("networking.k8s.io/v1", "NetworkPolicy", addon.name, addon.name)
        assert policy is not None
        rule = policy["spec"]["ingress"][0]["from"]
        return [s["podSelector"]["matchLabels"].get("app") for s in rule]

    servers.reach(addon, ["shop", "reports"])
    assert admitted() == ["reports", "shop", None]
    servers.reach(addon, [])
    assert admitted() == [None]  # only the platform's backup and restore pods


def test_deprovision_deletes_the_namespace_and_with_it_the_data(
    cluster: Cluster, servers: KubernetesAddons
) -> None:
    addon = provisioned(servers, new_addon())
    servers.deprovision(addon.name)
    assert namespace_gone(cluster, addon.name)
    until(lambda: servers.state(addon.name) == "missing", 60, "the StatefulSet deleted")
    servers.deprovision(addon.name)  # again: a no-op
    servers.deprovision("postgres-tstnever-0000")  # unknown: a no-op


def test_a_namespace_not_the_platforms_is_never_used_nor_deleted(
    cluster: Cluster, servers: KubernetesAddons
) -> None:
    addon = new_addon()
    cluster.kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": addon.name}})
    try:
        with pytest.raises(Unavailable, match="exists and is not the platform's"):
            servers.provision(addon)
        live = cluster.kube.get("v1", "Namespace", addon.name)
        assert live is not None and not live["metadata"].get("deletionTimestamp")
        assert cluster.kube.get("v1", "Secret", addon.name, addon.name) is None
    finally:
        cluster.kube.delete("v1", "Namespace", addon.name)


def test_a_server_that_never_gets_ready_fails_the_create_and_leaves_nothing(
    cluster: Cluster,
    s3_store: S3Objects,  # noqa: F811
) -> None:
    servers = KubernetesAddons(
        cluster.kube,
        AddonOptions(image="registry.example.com/crash:1", ready_timeout=2),
        s3_store,
        poll_interval=0.05,
    )
    addon = new_addon()
    with pytest.raises(Unavailable, match=r"not ready within 2 seconds \(.*CrashLoopBackOff"):
        servers.provision(addon)
    assert namespace_gone(cluster, addon.name)


def test_adopt_puts_back_what_was_deleted_behind_its_back(
    cluster: Cluster, servers: KubernetesAddons
) -> None:
    addon = provisioned(servers, new_addon())
    cluster.kube.delete("v1", "Service", addon.name, addon.name)
    cluster.kube.delete("networking.k8s.io/v1", "NetworkPolicy", addon.name, addon.name)
    servers.adopt([(addon, ["shop", "reports"])])
    assert cluster.kube.get("v1", "Service", addon.name, addon.name) is not None
    policy = cluster.kube.get("networking.k8s.io/v1", "NetworkPolicy", addon.name, addon.name)
    assert policy is not None and len(policy["spec"]["ingress"][0]["from"]) == 3


def _env(pod: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in pod["spec"]["containers"][0]["env"]}


def test_backup_and_restore_run_as_pods_through_presigned_urls(
    cluster: Cluster,
    servers: KubernetesAddons,
    s3_store: S3Objects,  # noqa: F811
) -> None:
    addon = provisioned(servers, new_addon())
    restored: list[bytes] = []

    def behaviour(pod: dict[str, Any]) -> Any:
        job = pod["metadata"]["labels"].get("job")
        if job is None:
            return default_behaviour(pod)
        url = _env(pod)["SNAPSHOT_URL"]
        if job == "backup":  # what pg_dump | curl -T does
            body = b"PGDMP snapshot of " + addon.name.encode()
            request = urllib.request.Request(
                url, data=body, method="PUT", headers={"Content-Type": "application/octet-stream"}
            )
            urllib.request.urlopen(request, timeout=10).close()
            return (0, f"{len(body)}\n")
        with urllib.request.urlopen(url, timeout=10) as answer:  # curl -o, pg_restore
            restored.append(answer.read())
        return (0, "")

    cluster.kubelet.behaviour = behaviour
    key = f"addons/{addon.name}/b20261206120000.dump"
    size = servers.backup(addon, key)
    assert size == len(s3_store.get(key)) and s3_store.get(key).startswith(b"PGDMP")
    servers.restore(addon, key)
    assert restored == [s3_store.get(key)]
    # the job pods are gone once read
    pods = cluster.kube.list("v1", "Pod", addon.name, {manifests.LABEL_CLIENT: addon.name})
    assert all(p["metadata"].get("deletionTimestamp") for p in pods)


def test_a_failed_backup_says_why_and_leaves_no_pod(
    cluster: Cluster, servers: KubernetesAddons
) -> None:
    addon = provisioned(servers, new_addon())

    def behaviour(pod: dict[str, Any]) -> Any:
        if pod["metadata"]["labels"].get("job"):
            return (1, "pg_dump: error: connection to server failed: Connection refused\n")
        return default_behaviour(pod)

    cluster.kubelet.behaviour = behaviour
    with pytest.raises(
        Unavailable, match=r"backup of .* failed \(exit code 1\).*Connection refused"
    ):
        servers.backup(addon, f"addons/{addon.name}/b20261206120001.dump")
    pods = cluster.kube.list("v1", "Pod", addon.name, {manifests.LABEL_CLIENT: addon.name})
    assert all(p["metadata"].get("deletionTimestamp") for p in pods)


def test_connect_says_how_to_reach_it_instead(servers: KubernetesAddons) -> None:
    with pytest.raises(Unavailable, match="kubectl exec"):
        servers.terminal(new_addon(), Opening(command="psql", cols=80, rows=24))


def test_backups_need_a_store_that_presigns(cluster: Cluster) -> None:
    servers = KubernetesAddons(cluster.kube, AddonOptions(image=IMAGE), None)
    with pytest.raises(Unavailable, match="DEIS_OBJECTS=s3"):
        servers.backup(new_addon(), "addons/x/b20261206120000.dump")


def _container(cluster: Cluster, addon: Addon) -> dict[str, Any]:
    stateful = cluster.kube.get("apps/v1", "StatefulSet", addon.name, addon.name)
    assert stateful is not None
    return stateful["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def _claim_template(cluster: Cluster, addon: Addon) -> str:
    stateful = cluster.kube.get("apps/v1", "StatefulSet", addon.name, addon.name)
    assert stateful is not None
    return str(manifests.claim_storage(stateful))


def test_adopting_with_another_plan_keeps_the_claim_template(
    cluster: Cluster, servers: KubernetesAddons
) -> None:
    """A StatefulSet's claim templates never change (the real API server refuses it): a
    new plan's sizes reach the pod's template, the claim template stays."""
    from dataclasses import replace

    addon = provisioned(servers, new_addon())
    servers.adopt([(replace(addon, plan="standard"), ["shop"])])
    assert _container(cluster, addon)["resources"]["limits"]["memory"] == "512Mi"
    assert _claim_template(cluster, addon) == "1Gi"


def test_a_new_plan_grows_the_claim_and_replaces_the_pod(
    cluster: Cluster, servers: KubernetesAddons
) -> None:
    """On the fake API server the claim may grow; the real one here has no StorageClass
    that expands volumes (and the claim is not bound), so the change is refused whole."""
    from dataclasses import replace

    kube = cluster.kube
    addon = provisioned(servers, new_addon())
    before = kube.get("v1", "Pod", manifests.pod_name(addon.name), addon.name)
    assert before is not None
    bigger = replace(addon, plan="standard")
    claim = manifests.claim_name(addon.name)
    if cluster.fake is None:
        with pytest.raises(Unavailable, match="would not grow the volume claim .* to 10Gi"):
            servers.change_plan(addon, bigger)
        assert _container(cluster, addon)["resources"]["limits"]["memory"] == "128Mi"
        live = kube.get("v1", "Pod", manifests.pod_name(addon.name), addon.name)
        assert live is not None and live["metadata"]["uid"] == before["metadata"]["uid"]
        return
    servers.change_plan(addon, bigger)
    grown = kube.get("v1", "PersistentVolumeClaim", claim, addon.name)
    assert grown is not None and grown["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert _container(cluster, addon)["resources"]["limits"]["memory"] == "512Mi"
    assert _claim_template(cluster, addon) == "1Gi"
    after = kube.get("v1", "Pod", manifests.pod_name(addon.name), addon.name)
    assert after is not None and after["metadata"]["uid"] != before["metadata"]["uid"]
    assert servers.state(addon.name) == "available"
