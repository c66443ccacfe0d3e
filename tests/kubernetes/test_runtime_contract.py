"""The Runtime port's contract, run against the Kubernetes adapter: on the fake API server,
or on the cluster of DEIS_TEST_KUBECONFIG (pods are made ready by the test kubelet)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from deis.domain.deploys import Deployed
from deis.domain.desired import DesiredApp
from deis.domain.errors import DeployFailed, NotFound, Unavailable
from deis.domain.terminal import Opening
from deis.runtime.kubernetes import manifests
from deis.runtime.kubernetes.client import path

from .conftest import Cluster

POD_NAME = re.compile(r"^(?P<app>.+)-(?P<type>[a-z0-9-]+?)-[0-9]{8,10}-[a-z0-9]{5}$")


def desired(app: str, version: int = 1, **changes: object) -> DesiredApp:
    base = DesiredApp(
        app=app,
        version=version,
        image=f"registry.example.com/{app}:v{version}",
        kind="image",
        sha="",
        procfile={"worker": "python worker.py"},
        structure={"web": 2, "worker": 1},
        env={"GREETING": f"hello v{version}"},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def summary(cluster: Cluster, app: str) -> list[tuple[str, str, str]]:
    """The app's processes once those being deleted are gone: a real API server keeps a
    pod of a node "terminating" until its kubelet confirms (the test kubelet does at once)."""
    runtime = cluster.runtime()
    deadline = time.monotonic() + 10
    while True:
        pods = sorted((p.type, p.release, p.state) for p in runtime.pods(app))
        if all(state != "terminating" for *_, state in pods) or time.monotonic() > deadline:
            return pods
        time.sleep(0.05)


def eventually(check: Callable[[], object], seconds: float = 10) -> None:
    """For what a real control plane does after the call returned: the garbage collector,
    the namespace controller and the ReplicaSet controller work asynchronously."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {check}"
        time.sleep(0.05)


def test_deploy_runs_each_type_with_its_scale(cluster: Cluster, app: str) -> None:
    runtime = cluster.runtime()
    runtime.deploy(desired(app))
    pods = runtime.pods(app)
    assert sorted((p.type, p.release, p.state) for p in pods) == [
        ("web", "v1", "up"), ("web", "v1", "up"), ("worker", "v1", "up")
    ]  # fmt: skip
    assert runtime.deployed(app) == Deployed(1, {"web": 2, "worker": 1})
    for pod in pods:  # the shape the Deis client parses
        match = POD_NAME.match(pod.name)
        assert match and match["app"] == app and match["type"] == pod.type, pod.name
        assert pod.started is not None
    assert [p.type for p in runtime.pods(app, "worker")] == ["worker"]
    assert runtime.pods(app, "clock") == []


def test_kubernetes_objects_of_a_release(cluster: Cluster, app: str) -> None:
    cluster.runtime().deploy(desired(app))
    kube = cluster.kube
    namespace = kube.get("v1", "Namespace", app)
    assert namespace is not None
    assert {"heritage": "deis", "app": app}.items() <= namespace["metadata"]["labels"].items()
    assert kube.get("v1", "Secret", f"{app}-v1-env", app) is not None
    web = kube.get("apps/v1", "Deployment", f"{app}-web", app)
    assert web is not None
    assert web["metadata"]["labels"] == {
        "app": app, "type": "web", "version": "v1", "heritage": "deis"
    }  # fmt: skip
    assert web["spec"]["replicas"] == 2
    service = kube.get("v1", "Service", app, app)
    assert service is not None and service["spec"]["selector"]["type"] == "web"


def test_a_new_release_replaces_the_old_and_prunes_its_inputs(cluster: Cluster, app: str) -> None:
    runtime = cluster.runtime()
    for version in (1, 2, 3):
        runtime.deploy(desired(app, version))
    assert summary(cluster, app) == [("web", "v3", "up")] * 2 + [("worker", "v3", "up")]
    secrets = {s["metadata"]["name"] for s in cluster.kube.list("v1", "Secret", app)}
    assert f"{app}-v3-env" in secrets and f"{app}-v2-env" in secrets
    assert f"{app}-v1-env" not in secrets


def test_scaling_and_removing_a_type(cluster: Cluster, app: str) -> None:
    runtime = cluster.runtime()
    runtime.deploy(desired(app))
    runtime.deploy(desired(app, structure={"web": 3, "worker": 0}))
    assert summary(cluster, app) == [("web", "v1", "up")] * 3
    runtime.deploy(desired(app, structure={"web": 1}))
    assert summary(cluster, app) == [("web", "v1", "up")]
    assert cluster.kube.get("apps/v1", "Deployment", f"{app}-worker", app) is None


def test_deploying_the_same_release_again_changes_nothing(cluster: Cluster, app: str) -> None:
    runtime = cluster.runtime()
    runtime.deploy(desired(app))
    before = sorted(p.name for p in runtime.pods(app))
    generation = cluster.kube.get("apps/v1", "Deployment", f"{app}-web", app)
    runtime.deploy(desired(app))
    assert sorted(p.name for p in runtime.pods(app)) == before
    after = cluster.kube.get("apps/v1", "Deployment", f"{app}-web", app)
    assert generation and after
    assert after["metadata"]["generation"] == generation["metadata"]["generation"]


def test_a_restarted_controller_converges_without_duplicates(cluster: Cluster, app: str) -> None:
    """A controller that died after applying a release (before its rollout finished)
    left objects behind; the next deploy of that release finishes the job."""
    release = desired(app, 2)
    for manifest in manifests.release_objects(release, manifests.Options()):
        cluster.kube.apply(manifest)
    cluster.runtime().deploy(release)
    assert summary(cluster, app) == [("web", "v2", "up")] * 2 + [("worker", "v2", "up")]
    if cluster.fake is not None:
        sets = cluster.fake.all("ReplicaSet", app)
        assert len(sets) == 2  # one per type: nothing duplicated


def test_a_release_that_cannot_become_ready_is_undone(cluster: Cluster, app: str) -> None:
    runtime = cluster.runtime()
    runtime.deploy(desired(app))
    serving = sorted(p.name for p in runtime.pods(app))
    bad = desired(app, 2, image="registry.example.com/crash:2", env={"DEIS_DEPLOY_TIMEOUT": "1"})
    with pytest.raises(DeployFailed, match="v2 did not become ready within 1 seconds"):
        runtime.deploy(bad)
    # the previous release keeps serving: its pods were never replaced (v2's go)
    eventually(lambda: sorted(p.name for p in runtime.pods(app)) == serving)
    web = cluster.kube.get("apps/v1", "Deployment", f"{app}-web", app)
    assert web is not None and web["metadata"]["labels"]["version"] == "v1"
    assert runtime.deployed(app) == Deployed(1, {"web": 2, "worker": 1})  # what runs


def test_a_first_release_that_fails_leaves_nothing_running(cluster: Cluster, app: str) -> None:
    runtime = cluster.runtime()
    bad = desired(app, image="x/crash:1", env={"DEIS_DEPLOY_TIMEOUT": "0.5"})
    with pytest.raises(DeployFailed):
        runtime.deploy(bad)
    eventually(lambda: runtime.pods(app) == [])
    eventually(lambda: runtime.deployed(app) is None)


def test_a_type_the_release_cannot_run_fails_before_anything_changes(
    cluster: Cluster, app: str
) -> None:
    runtime = cluster.runtime()
    with pytest.raises(DeployFailed, match="clock"):
        runtime.deploy(desired(app, structure={"web": 1, "clock": 1}))
    assert cluster.kube.get("v1", "Namespace", app) is None


def test_a_release_without_a_build_runs_nothing(cluster: Cluster, app: str) -> None:
    runtime = cluster.runtime()
    runtime.deploy(desired(app, image=None, kind=None))
    assert cluster.kube.get("v1", "Namespace", app) is None


def test_crash_loops_are_crashed(cluster: Cluster, app: str) -> None:
    runtime = cluster.runtime()
    runtime.deploy(desired(app, structure={"web": 1}))
    pod = cluster.kube.list("v1", "Pod", app)[0]
    status = {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
              "containerStatuses": [{"name": "x", "image": "x", "imageID": "", "ready": False,
                                     "restartCount": 5, "state": {"waiting": {
                                         "reason": "CrashLoopBackOff"}}}]}  # fmt: skip
    cluster.kube.merge_patch(
        path("v1", "Pod", app, pod["metadata"]["name"]), {"status": status}, "status"
    )
    assert [p.state for p in runtime.pods(app)] == ["crashed"]


def test_restart(cluster: Cluster, app: str) -> None:
    runtime = cluster.runtime()
    runtime.deploy(desired(app))
    before = {p.name for p in runtime.pods(app)}
    one = sorted(p.name for p in runtime.pods(app, "web"))[0]
    restarted = runtime.restart(app, name=one)
    assert len(restarted) == 1 and restarted[0].type == "web"
    assert restarted[0].name not in before
    assert one not in {p.name for p in runtime.pods(app)}
    web = runtime.restart(app, "web")
    assert len(web) == 2 and {p.type for p in web} == {"web"}
    everything = runtime.restart(app)
    assert len(everything) == 3
    assert summary(cluster, app) == [("web", "v1", "up")] * 2 + [("worker", "v1", "up")]
    with pytest.raises(NotFound):
        runtime.restart(app, name=f"{app}-web-0000000000-zzzzz")
    assert runtime.restart(app, "clock") == []


def test_run_returns_the_exit_code_and_output(cluster: Cluster, app: str) -> None:
    runtime = cluster.runtime()
    result = runtime.run(desired(app), "echo hi; exit 3")
    assert result.exit_code == 3
    if cluster.serves_logs:  # the fake's, or the test kubelet's through the real server
        assert result.output == "ran: echo hi; exit 3\n"
    assert runtime.run(desired(app), "true").exit_code == 0
    # the pod is gone, and one-off pods are not processes
    assert cluster.kube.list("v1", "Pod", app) == []
    assert runtime.pods(app) == []


def test_a_terminal_is_refused_plainly(cluster: Cluster, app: str) -> None:
    with pytest.raises(Unavailable, match="not supported on the kubernetes runtime"):
        cluster.runtime().terminal(desired(app), Opening("bash", 80, 24))
    assert cluster.kube.list("v1", "Pod", app) == []


def test_remove_and_create_again(cluster: Cluster, app: str) -> None:
    runtime = cluster.runtime()
    runtime.deploy(desired(app))
    runtime.remove(app)
    eventually(lambda: runtime.pods(app) == [], 30)  # the namespace controller empties it
    runtime.remove(app)  # twice is fine
    runtime.deploy(desired(app, structure={"web": 1}))
    assert summary(cluster, app) == [("web", "v1", "up")]


def test_autoscale(cluster: Cluster, app: str) -> None:
    runtime = cluster.runtime()
    runtime.deploy(desired(app))
    runtime.set_autoscale(app, {"web": {"min": 2, "max": 5, "cpu_percent": 60}})
    hpa = cluster.kube.get("autoscaling/v2", "HorizontalPodAutoscaler", f"{app}-web", app)
    assert hpa is not None and hpa["spec"]["maxReplicas"] == 5
    runtime.set_autoscale(app, {})
    assert cluster.kube.list("autoscaling/v2", "HorizontalPodAutoscaler", app) == []
    rule = {"min": 1, "max": 3, "cpu_percent": 70}
    runtime.deploy(desired(app, 2, autoscale={"web": rule}))  # the desired state carries it
    [hpa] = cluster.kube.list("autoscaling/v2", "HorizontalPodAutoscaler", app)
    assert hpa["spec"]["minReplicas"] == 1 and hpa["spec"]["maxReplicas"] == 3
    metric = hpa["spec"]["metrics"][0]["resource"]
    assert metric["name"] == "cpu" and metric["target"]["averageUtilization"] == 70
    runtime.deploy(desired(app, 3))  # a deploy without the rule removes the autoscaler
    assert cluster.kube.list("autoscaling/v2", "HorizontalPodAutoscaler", app) == []


def test_conflicts_and_transient_errors_are_retried(cluster: Cluster, app: str) -> None:
    if cluster.fake is None:
        pytest.skip("injecting failures needs the fake API server")
    # transient failures of any request, conflicts of writes; the kubelet is left alone
    ours = f"/namespaces/{app}"
    cluster.fake.fail_when = lambda method, url: ours in url and method != "GET"
    cluster.fake.fail_next = [409, 503, 409, 500]
    runtime = cluster.runtime()
    runtime.deploy(desired(app))
    assert cluster.fake.fail_next == []
    cluster.fake.fail_when = lambda method, url: ours in url
    cluster.fake.fail_next = [503, 429, 502]
    runtime = cluster.runtime()
    runtime.deploy(desired(app))
    assert cluster.fake.fail_next == []
    assert len(runtime.pods(app)) == 3


def test_concurrent_deploys_of_different_apps(cluster: Cluster) -> None:
    from .conftest import new_app

    apps = [new_app() for _ in range(3)]
    errors: list[BaseException] = []

    def deploy(name: str) -> None:
        try:
            cluster.runtime().deploy(desired(name, structure={"web": 1}))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=deploy, args=(a,)) for a in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert errors == []
        for name in apps:
            assert summary(cluster, name) == [("web", "v1", "up")]
    finally:
        for name in apps:
            cluster.kube.delete("v1", "Namespace", name)


def test_logs_of_the_pods(cluster: Cluster, app: str) -> None:
    runtime = cluster.runtime()
    runtime.deploy(desired(app, structure={"web": 1, "worker": 1}))
    pods = {p["metadata"]["labels"]["type"]: p["metadata"]["name"]
            for p in cluster.kube.list("v1", "Pod", app)}  # fmt: skip
    cluster.set_log(app, pods["web"], "GET / 200\nGET /x 404")
    cluster.set_log(app, pods["worker"], "tick")
    lines = runtime.logs(app, 2)
    assert len(lines) == 2
    assert all(f" {app}[{app}-" in line for line in lines)
    assert {line.rsplit(": ", 1)[1] for line in runtime.logs(app, 10)} == {
        "GET / 200", "GET /x 404", "tick"
    }  # fmt: skip


def test_a_rollout_the_controller_gave_up_on_fails_at_once(cluster: Cluster, app: str) -> None:
    if cluster.fake is None:
        pytest.skip("needs the fake to report the condition")
    runtime = cluster.runtime()
    runtime.deploy(desired(app, structure={"web": 1}))
    original = cluster.fake._deployment

    def gave_up(deployment: dict) -> None:  # type: ignore[type-arg]
        original(deployment)
        if deployment["metadata"]["labels"].get("version") == "v2":
            deployment.setdefault("status", {})["conditions"] = [
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
            ]

    cluster.fake._deployment = gave_up  # type: ignore[method-assign]
    bad = desired(app, 2, image="x/pending:2", structure={"web": 1},
                  env={"DEIS_DEPLOY_TIMEOUT": "30"})  # fmt: skip
    with pytest.raises(DeployFailed):
        runtime.deploy(bad)
    live = cluster.kube.get("apps/v1", "Deployment", f"{app}-web", app)
    assert live is not None and live["metadata"]["labels"]["version"] == "v1"


def test_a_namespace_the_platform_did_not_make_is_left_alone(cluster: Cluster, app: str) -> None:
    foreign = {"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": app, "labels": {"team": "payments"}}}  # fmt: skip
    cluster.kube.create(foreign)
    runtime = cluster.runtime()
    with pytest.raises(DeployFailed, match="not the platform's"):
        runtime.deploy(desired(app))
    runtime.remove(app)
    live = cluster.kube.get("v1", "Namespace", app)
    assert live is not None and not live["metadata"].get("deletionTimestamp")
    assert cluster.kube.list("apps/v1", "Deployment", app) == []
