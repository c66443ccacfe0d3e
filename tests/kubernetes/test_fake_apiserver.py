"""What the fake API server does, pinned through the real client: the behaviour of a real
API server that the adapter relies on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deis.runtime.kubernetes.client import ApiError, Kube, path

from .fake_apiserver import FakeApiServer, selector_matches


@pytest.fixture
def kube(fake: FakeApiServer, tmp_path: Path) -> Iterator[Kube]:
    client = Kube.connect(str(fake.kubeconfig(tmp_path)), timeout=5, attempts=1)
    yield client
    client.close()


def ns(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def secret(name: str, value: str = "a", **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": "n", "labels": labels},
            "stringData": {"k": value}}  # fmt: skip


def deployment(replicas: int = 2, image: str = "a", surge: Any = 1, unavailable: Any = 0):  # type: ignore[no-untyped-def]
    labels = {"app": "x"}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "namespace": "n", "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                         "maxSurge": surge, "maxUnavailable": unavailable}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}  # fmt: skip


def test_create_get_conflict_and_server_fields(kube: Kube) -> None:
    created = kube.create(ns("n"))
    meta = created["metadata"]
    assert meta["uid"] and meta["resourceVersion"] and meta["creationTimestamp"]
    assert meta["labels"]["kubernetes.io/metadata.name"] == "n"
    with pytest.raises(ApiError) as error:
        kube.create(ns("n"))
    assert error.value.status == 409 and error.value.reason == "AlreadyExists"
    assert kube.get("v1", "Namespace", "missing") is None


def test_namespaced_objects_need_their_namespace(kube: Kube, fake: FakeApiServer) -> None:
    with pytest.raises(ApiError) as error:
        kube.apply(secret("s"))
    assert error.value.status == 404
    fake.namespace_delay = 0.3
    kube.apply(ns("n"))
    kube.apply(secret("s"))
    kube.delete("v1", "Namespace", "n")
    terminating = kube.get("v1", "Namespace", "n")
    assert terminating is not None and terminating["metadata"]["deletionTimestamp"]
    assert terminating["status"]["phase"] == "Terminating"
    with pytest.raises(ApiError) as error:
        kube.apply(secret("t"))
    assert error.value.status == 403
    time.sleep(0.5)
    assert kube.get("v1", "Namespace", "n") is None
    assert kube.get("v1", "Secret", "s", "n") is None  # deleted with its namespace


def test_replace_with_a_stale_resource_version_conflicts(kube: Kube) -> None:
    kube.apply(ns("n"))
    first = kube.apply(secret("s"))
    kube.apply(secret("s", "b"))
    first["stringData"] = {"k": "c"}
    with pytest.raises(ApiError) as error:
        kube.request("PUT", path("v1", "Secret", "n", "s"), body=first)
    assert error.value.status == 409
    # update() reads again and wins
    changed = kube.update("v1", "Secret", "s", "n", lambda o: {**o, "stringData": {"k": "d"}})
    # stringData is write-only: the server stores (and answers) it as base64 data
    assert changed is not None and changed["data"] == {"k": "ZA=="}
    assert "stringData" not in changed


def test_server_side_apply_is_idempotent_and_counts_generations(kube: Kube) -> None:
    kube.apply(ns("n"))
    one = kube.apply(deployment())
    again = kube.apply(deployment())
    assert again["metadata"]["resourceVersion"] >= one["metadata"]["resourceVersion"]
    assert again["metadata"]["generation"] == 1
    changed = kube.apply(deployment(image="b"))
    assert changed["metadata"]["generation"] == 2
    assert changed["metadata"]["uid"] == one["metadata"]["uid"]
    with pytest.raises(ApiError) as error:  # apply needs a field manager
        kube.request("PATCH", path("apps/v1", "Deployment", "n", "x"), body=deployment(),
                     content_type="application/apply-patch+yaml")  # fmt: skip
    assert error.value.status == 400


def test_status_is_a_subresource(kube: Kube) -> None:
    kube.apply(ns("n"))
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"},
               "spec": {"ports": [{"port": 80}]}}  # fmt: skip
    kube.apply(service)
    url = path("v1", "Service", "n", "s")
    balancer = {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}
    kube.merge_patch(url, {"status": balancer, "spec": {"ports": [{"port": 81}]}}, "status")
    live = kube.get("v1", "Service", "s", "n")
    assert live is not None
    assert live["spec"]["ports"] == [{"port": 80}] and live["status"] == balancer
    assert live["metadata"]["generation"] == 1
    kube.merge_patch(url, {"status": {"loadBalancer": {}}})  # the main resource keeps it
    live = kube.get("v1", "Service", "s", "n")
    assert live is not None and live["status"] == balancer


def test_list_with_label_selectors(kube: Kube) -> None:
    kube.apply(ns("n"))
    kube.apply(secret("a", app="x", tier="web"))
    kube.apply(secret("b", app="x", tier="db"))
    kube.apply(secret("c", app="y"))

    def listed(selector: str) -> list[str]:
        result = kube.request("GET", path("v1", "Secret", "n"), query={"labelSelector": selector})
        names = [o["metadata"]["name"] for o in result["items"]]
        return [n for n in names if not n.startswith("default-token-")]  # the namespace's own

    assert listed("app=x") == ["a", "b"]
    assert listed("app==x,tier!=web") == ["b"]
    assert listed("tier in (web,db)") == ["a", "b"]
    assert listed("app notin (x)") == ["c"]
    assert listed("tier") == ["a", "b"]
    assert listed("!tier") == ["c"]
    # a new namespace gets its default ServiceAccount's token, as on a v1.24 server
    every = [o["metadata"]["name"] for o in kube.list("v1", "Secret", "n")]
    assert any(name.startswith("default-token-") for name in every)
    assert kube.get("v1", "ConfigMap", "kube-root-ca.crt", "n") is not None
    assert [o["metadata"]["name"] for o in kube.list("v1", "Secret", "n", {"app": "y"})] == ["c"]
    assert selector_matches("a=1,b in (2, 3)", {"a": "1", "b": "3"})


def test_discovery_and_logs(kube: Kube, fake: FakeApiServer, tmp_path: Path) -> None:
    assert kube.has_api("apps/v1")
    assert not kube.has_api("gateway.networking.k8s.io/v1")
    with pytest.raises(ApiError) as error:
        kube.list("gateway.networking.k8s.io/v1", "HTTPRoute", "n") or kube.request(
            "GET", path("gateway.networking.k8s.io/v1", "HTTPRoute", "n")
        )
    assert error.value.status == 404
    kube.apply(ns("n"))
    kube.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"},
                 "spec": {"containers": [{"name": "c", "image": "i"}]}})  # fmt: skip
    fake.set_log("n", "p", "one\ntwo\nthree")
    assert kube.log("n", "p") == "one\ntwo\nthree\n"
    assert kube.log("n", "p", tail_lines=2) == "two\nthree\n"
    assert kube.log("n", "p", tail_lines=1, timestamps=True).endswith("Z three\n")
    with pytest.raises(ApiError):
        kube.log("n", "nope")
    gateway = FakeApiServer(gateway=True).start()
    try:
        other = Kube.connect(str(gateway.kubeconfig(tmp_path)), timeout=5)
        assert other.has_api("gateway.networking.k8s.io/v1")
    finally:
        gateway.stop()


def ready(kube: Kube, fake: FakeApiServer) -> None:
    for pod in fake.all("Pod"):
        if pod["status"].get("phase") != "Running":
            kube.merge_patch(
                path("v1", "Pod", "n", pod["metadata"]["name"]),
                {"status": {"phase": "Running",
                            "conditions": [{"type": "Ready", "status": "True"}]}},
                "status",
            )  # fmt: skip


def test_rolling_updates_keep_old_pods_until_new_ones_are_ready(
    kube: Kube, fake: FakeApiServer
) -> None:
    kube.apply(ns("n"))
    kube.apply(deployment(replicas=3, surge=1, unavailable=0))
    pods = fake.all("Pod")
    assert len(pods) == 3 and all(p["status"]["phase"] == "Pending" for p in pods)
    assert all(p["metadata"]["name"].startswith("x-") for p in pods)
    ready(kube, fake)
    live = kube.get("apps/v1", "Deployment", "x", "n")
    assert live is not None
    assert live["status"]["updatedReplicas"] == 3 and live["status"]["availableReplicas"] == 3
    old = {p["metadata"]["name"] for p in fake.all("Pod")}
    kube.apply(deployment(replicas=3, image="b", surge=1, unavailable=0))
    # one new pod (maxSurge 1); no old pod goes before a new one is ready
    pods = {p["metadata"]["name"] for p in fake.all("Pod")}
    assert len(pods) == 4 and len(pods - old) == 1
    live = kube.get("apps/v1", "Deployment", "x", "n")
    assert live is not None
    assert live["status"]["observedGeneration"] == 2 and live["status"]["updatedReplicas"] == 1
    for _ in range(3):
        ready(kube, fake)
    pods = {p["metadata"]["name"] for p in fake.all("Pod")}
    assert len(pods) == 3 and not pods & old
    assert len(fake.all("ReplicaSet")) == 2
    kube.delete("apps/v1", "Deployment", "x", "n")  # the garbage collector takes the rest
    assert fake.all("ReplicaSet") == [] and fake.all("Pod") == []


def test_max_unavailable_lets_old_pods_go_first(kube: Kube, fake: FakeApiServer) -> None:
    kube.apply(ns("n"))
    kube.apply(deployment(replicas=4, surge=0, unavailable="50%"))
    ready(kube, fake)
    kube.apply(deployment(replicas=4, image="b", surge=0, unavailable="50%"))
    pods = fake.all("Pod")
    assert len(pods) == 4
    assert sum(p["status"]["phase"] == "Pending" for p in pods) == 2


def test_injected_failures_and_delays(kube: Kube, fake: FakeApiServer) -> None:
    fake.fail_next = [503]
    with pytest.raises(ApiError) as error:
        kube.get("v1", "Namespace", "n")
    assert error.value.status == 503
    assert kube.get("v1", "Namespace", "n") is None


def test_following_a_pod_log(kube: Kube, fake: FakeApiServer) -> None:
    """follow=true: 400 until the container starts, then each line as it is written,
    and the end of the stream when the container has terminated; sinceTime resumes."""
    kube.apply(ns("n"))
    kube.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n"},
                 "spec": {"containers": [{"name": "c", "image": "a"}]}})  # fmt: skip
    with pytest.raises(ApiError) as error:
        next(kube.follow_log("n", "p"))
    assert error.value.status == 400
    pod_status = path("v1", "Pod", "n", "p")
    kube.merge_patch(pod_status, {"status": {"phase": "Running", "containerStatuses": [
        {"name": "c", "state": {"running": {}}}]}}, "status")  # fmt: skip
    fake.append_log("n", "p", "one")
    lines = kube.follow_log("n", "p", idle_timeout=10)
    first = next(lines)
    assert first[1] == "one" and first[0].endswith("Z")
    fake.append_log("n", "p", "two")  # written after the reader started: still seen
    assert next(lines)[1] == "two"
    kube.merge_patch(pod_status, {"status": {"phase": "Succeeded", "containerStatuses": [
        {"name": "c", "state": {"terminated": {"exitCode": 0}}}]}}, "status")  # fmt: skip
    assert list(lines) == []  # the stream ends with the container
    resumed = list(kube.follow_log("n", "p", since_time=first[0]))
    assert [line for _, line in resumed] == ["two"]
    with pytest.raises(ApiError) as error:
        next(kube.follow_log("n", "missing"))
    assert error.value.status == 404


def test_deleted_pods_terminate_gracefully_with_pod_grace(tmp_path: Path) -> None:
    """As on a real API server whose kubelet runs the pods: a deleted pod (by a client or
    by the controllers) is Terminating first, counts for nothing, and goes a moment later."""
    server = FakeApiServer(pod_grace=0.3).start()
    kube = Kube.connect(str(server.kubeconfig(tmp_path)), timeout=5, attempts=1)
    try:
        kube.apply(ns("n"))
        kube.apply(deployment(replicas=2))
        ready(kube, server)
        victim = server.all("Pod")[0]["metadata"]["name"]
        kube.delete("v1", "Pod", victim, "n")
        live = kube.get("v1", "Pod", victim, "n")
        assert live is not None and live["metadata"]["deletionTimestamp"]
        # the ReplicaSet replaced it at once: two pods that are not being deleted
        pods = [p for p in server.all("Pod") if not p["metadata"].get("deletionTimestamp")]
        assert len(pods) == 2 and victim not in {p["metadata"]["name"] for p in pods}
        kube.delete("apps/v1", "Deployment", "x", "n")
        assert all(p["metadata"].get("deletionTimestamp") for p in server.all("Pod"))
        time.sleep(0.5)
        assert kube.get("v1", "Pod", victim, "n") is None and server.all("Pod") == []
    finally:
        kube.close()
        server.stop()
