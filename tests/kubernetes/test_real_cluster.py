"""The life of an app on a real control plane: the controller (DEIS_RUNTIME=kubernetes,
DEIS_ROUTER=kubernetes, DEIS_LOGS=kubernetes) served by uvicorn, driven by the installed
`deis` client, against kube-apiserver and kube-controller-manager (scripts/
kube-control-plane.sh, or DEIS_TEST_KUBECONFIG). The Deployments, ReplicaSets, HPAs and
namespace deletions are the real controllers' work; only the pods are run by the test
kubelet (kubelet.py), which binds them to its Node, marks them Running and Ready and serves
their logs. It runs no containers: probes are checked in the pod spec, never executed."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deis.runtime.kubernetes import Kube

from ..api.conftest import live_server
from ..cli.conftest import Deis
from ..databases import fresh_database
from .conftest import NO_CONTROL_PLANE, ControlPlane, new_app, real_available
from .kubelet import TEST_NAMESPACE, Kubelet
from .kubelet_node import Node

pytestmark = pytest.mark.skipif(not real_available(), reason=NO_CONTROL_PLANE)

DEPLOYMENT = ("apps/v1", "Deployment")
REPLICASET = ("apps/v1", "ReplicaSet")
HPA = ("autoscaling/v2", "HorizontalPodAutoscaler")
INGRESS = ("networking.k8s.io/v1", "Ingress")


@dataclass
class Platform:
    url: str
    kube: Kube
    deis: Deis
    node: Node


@pytest.fixture(scope="module")
def platform(
    real_control_plane: ControlPlane,
    real_node: Node,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp("platform")
    kube = Kube.connect(str(real_control_plane.kubeconfig), timeout=10)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEIS_KUBECONFIG", str(real_control_plane.kubeconfig))
        patch.setenv("DEIS_KUBERNETES_ROUTING", "ingress")
        patch.setenv("DEIS_KUBERNETES_DEPLOY_TIMEOUT", "60")
        patch.setenv("DEIS_KUBERNETES_ADDON_TIMEOUT", "60")
        with fresh_database("sqlite", tmp) as database_url, live_server(
            tmp, database_url=database_url, runtime="kubernetes", router="kubernetes",
            logs="kubernetes", builder="none", domain="apps.test",
        ) as url:  # fmt: skip
            owned = ours(database_url.removeprefix("sqlite:///"))
            kubelet = Kubelet(kube, node=real_node, namespaces=owned).start()
            home = tmp / "home"
            (home / "work").mkdir(parents=True)
            deis = Deis(home, "real-cluster", home / "work")
            deis("register", url, "--username", "admin", "--password", "admin-pass-1",
                 "--email", "admin@example.com")  # fmt: skip
            try:
                yield Platform(url, kube, deis, real_node)
            finally:
                kubelet.stop()
                kube.close()


def ours(database: str) -> Callable[[str], bool]:
    """The namespaces whose pods the test kubelet runs: the tests' apps' and the add-ons
    this platform made (by the names its database holds; never another's on a shared
    cluster)."""

    def owned(namespace: str) -> bool:
        if TEST_NAMESPACE.fullmatch(namespace):
            return True
        if not namespace.startswith(("postgres-", "redis-")):
            return False
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as conn:
            rows = conn.execute("SELECT 1 FROM addons WHERE name = ?", (namespace,)).fetchall()
        return bool(rows)

    return owned


@pytest.fixture
def app(platform: Platform) -> Iterator[str]:
    name = new_app()
    platform.deis("create", name, "--no-remote")
    yield name
    platform.deis("destroy", "-a", name, "--confirm", name, ok=False)


def pulled(platform: Platform, app: str, image: str = "registry.example.com/web:1") -> None:
    platform.deis("pull", image, "--procfile", "web: ./server", "-a", app)


def until(check: Callable[[], Any], seconds: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {seconds} s: {what or check}"
        time.sleep(0.1)


def ready_pods(kube: Kube, app: str) -> list[dict[str, Any]]:
    def ready(pod: dict[str, Any]) -> bool:
        conditions = (pod.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    return [p for p in kube.list("v1", "Pod", app, {"type": "web"})
            if ready(p) and not p["metadata"].get("deletionTimestamp")]  # fmt: skip


def web(kube: Kube, app: str) -> dict[str, Any]:
    deployment = kube.get(*DEPLOYMENT, f"{app}-web", app)
    assert deployment is not None
    return deployment


def container(kube: Kube, app: str) -> dict[str, Any]:
    return web(kube, app)["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def test_pull_config_scale_and_rolling_updates_handed_over_by_replicasets(
    platform: Platform, app: str
) -> None:
    kube, deis = platform.kube, platform.deis
    pulled(platform, app)
    assert container(kube, app)["image"] == "registry.example.com/web:1"
    assert len(ready_pods(kube, app)) == 1
    node_names = {p["spec"]["nodeName"] for p in kube.list("v1", "Pod", app)}
    assert node_names == {platform.node.name}  # bound by the test kubelet, not scheduled

    deis("scale", "web=3", "-a", app)
    assert len(ready_pods(kube, app)) == 3
    [first] = kube.list(*REPLICASET, app)
    assert first["status"]["readyReplicas"] == 3

    # a config change is a new release: a rolling update the real controllers carry out,
    # watched from the side. Old pods may only go as new ones become ready.
    strategy = web(kube, app)["spec"]["strategy"]
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.append(len(ready_pods(kube, app)))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        deis("config:set", "GREETING=hello", "-a", app)
    finally:
        stop.set()
        watcher.join(timeout=10)
    sets = {s["metadata"]["name"]: s for s in kube.list(*REPLICASET, app)}
    assert len(sets) == 2, sorted(sets)
    old, new = (
        sets[first["metadata"]["name"]],
        next(s for n, s in sets.items() if n != first["metadata"]["name"]),
    )
    assert old["spec"]["replicas"] == 0 and new["status"].get("readyReplicas") == 3
    assert all(
        o["kind"] == "Deployment" for s in sets.values() for o in s["metadata"]["ownerReferences"]
    )
    unavailable = strategy["rollingUpdate"]["maxUnavailable"]
    floor = 3 - (
        int(unavailable) if str(unavailable).isdigit() else 3 * int(str(unavailable)[:-1]) // 100
    )
    assert seen and min(seen) >= floor, (strategy, seen)
    pods = kube.list("v1", "Pod", app)
    assert {p["metadata"]["ownerReferences"][0]["name"] for p in pods} == {new["metadata"]["name"]}
    assert web(kube, app)["metadata"]["labels"]["version"] == "v3"
    env = container(kube, app)["envFrom"][0]["secretRef"]["name"]
    assert env == f"{app}-v3-env"

    # rollback to v2 (before the config): a new release v4, the ReplicaSet of v2's pod
    # template is scaled up again by the Deployment controller
    deis("rollback", "v2", "-a", app)
    assert web(kube, app)["metadata"]["labels"]["version"] == "v4"
    assert len(ready_pods(kube, app)) == 3
    secret = kube.get("v1", "Secret", f"{app}-v4-env", app)
    assert secret is not None and "GREETING" not in (secret.get("data") or {})


def test_limits_and_healthchecks_are_in_the_pod_spec(platform: Platform, app: str) -> None:
    kube, deis = platform.kube, platform.deis
    pulled(platform, app)
    deis("limits:set", "web=128M", "-a", app)
    deis("limits:set", "--cpu", "web=250m", "-a", app)
    limits = container(kube, app)["resources"]["limits"]
    assert limits == {"memory": "128Mi", "cpu": "250m"}, limits
    deis("healthchecks:set", "readiness", "httpGet", "8080", "--path", "/ready", "-a", app)
    deis("healthchecks:set", "liveness", "tcpSocket", "8080", "-a", app)
    spec = container(kube, app)
    assert spec["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert spec["readinessProbe"]["httpGet"]["port"] == 8080
    assert spec["livenessProbe"]["tcpSocket"]["port"] == 8080
    assert len(ready_pods(kube, app)) == 1  # the rollout finished (the kubelet runs no probe)


def test_autoscale_is_a_real_hpa_that_the_controller_acts_on(platform: Platform, app: str) -> None:
    kube, deis = platform.kube, platform.deis
    pulled(platform, app)
    deis("autoscale:set", "web", "--min", "2", "--max", "4", "--cpu-percent", "60", "-a", app)
    hpa = kube.get(*HPA, f"{app}-web", app)
    assert hpa is not None and hpa["spec"]["scaleTargetRef"]["name"] == f"{app}-web"
    # below its minimum: the HPA controller scales the Deployment up without any metric
    until(lambda: len(ready_pods(kube, app)) == 2, 40, "the HPA scaling web to its minimum")

    def desired() -> object:
        live = kube.get(*HPA, f"{app}-web", app)
        return live is not None and live["status"].get("desiredReplicas") == 2

    until(desired, 20, "the HPA's status")
    deis("autoscale:unset", "web", "-a", app)
    assert kube.get(*HPA, f"{app}-web", app) is None


def test_run_is_a_pod_with_its_exit_code_and_output(platform: Platform, app: str) -> None:
    pulled(platform, app)
    result = platform.deis("run", "-a", app, "--", "echo hi; exit 3", ok=False)
    assert result.code == 3, str(result)
    # the output, read through the API server's pods/log from the test kubelet
    assert result.err == "ran: echo hi; exit 3\n", str(result)  # a failure's, on stderr
    ok = platform.deis("run", "-a", app, "true")
    assert ok.code == 0 and "ran: true\n" in ok.out, str(ok)
    until(lambda: platform.kube.list("v1", "Pod", app, {"type": "run"}) == [], 10, "run pods gone")


def test_cron_jobs_are_cronjobs_the_real_server_keeps(platform: Platform, app: str) -> None:
    """`deis cron`: each job of the release is a batch/v1 CronJob of the app's namespace,
    accepted by the real API server, suspended and removed with the job."""
    kube, deis = platform.kube, platform.deis
    pulled(platform, app)
    deis("cron:add", "tick", "*/5 * * * *", "--timeout", "120", "-a", app, "--", "echo tick")
    live = kube.get("batch/v1", "CronJob", "cron-tick", app)
    assert live is not None, "no CronJob"
    assert live["spec"]["schedule"] == "0,5,10,15,20,25,30,35,40,45,50,55 * * * *"
    assert live["spec"]["concurrencyPolicy"] == "Forbid"
    job = live["spec"]["jobTemplate"]["spec"]
    assert job["activeDeadlineSeconds"] == 120 and job["backoffLimit"] == 0
    deis("cron:suspend", "tick", "-a", app)
    until(
        lambda: (kube.get("batch/v1", "CronJob", "cron-tick", app) or {})["spec"]["suspend"],
        20,
        "the CronJob suspended",
    )
    deis("cron:remove", "tick", "-a", app)
    until(lambda: kube.get("batch/v1", "CronJob", "cron-tick", app) is None, 20, "the CronJob gone")


def test_logs_merge_the_pods_output_with_the_platforms_events(platform: Platform, app: str) -> None:
    pulled(platform, app)
    pod = platform.kube.list("v1", "Pod", app)[0]["metadata"]["name"]
    platform.node.write(app, pod, "GET / 200")
    lines = platform.deis("logs", "-a", app).out.splitlines()
    assert any(line.endswith("GET / 200") for line in lines), lines
    assert any("deployed registry.example.com/web:1" in line for line in lines), lines


def self_signed(tmp: Path, host: str) -> tuple[Path, Path]:
    cert, key = tmp / f"{host}.crt", tmp / f"{host}.key"
    subprocess.run(  # noqa: S603
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", f"/CN={host}",
         "-addext", f"subjectAltName=DNS:{host}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_domains_certificates_maintenance_and_routing_off(
    platform: Platform, app: str, tmp_path: Path
) -> None:
    kube, deis = platform.kube, platform.deis
    pulled(platform, app)
    host = f"www.{app}.test"
    deis("domains:add", host, "-a", app)
    ingress = kube.get(*INGRESS, app, app)
    assert ingress is not None
    assert {r["host"] for r in ingress["spec"]["rules"]} == {f"{app}.apps.test", host}
    cert, key = self_signed(tmp_path, host)
    deis("certs:add", "shop", str(cert), str(key))
    deis("certs:attach", "shop", host)
    secrets = [s for s in kube.list("v1", "Secret", app) if s["type"] == "kubernetes.io/tls"]
    assert len(secrets) == 1
    ingress = kube.get(*INGRESS, app, app)
    assert ingress is not None
    assert ingress["spec"]["tls"] == [
        {"hosts": [host], "secretName": secrets[0]["metadata"]["name"]}
    ]

    deis("maintenance:on", "-a", app)
    ingress = kube.get(*INGRESS, app, app)
    assert ingress is not None
    backends = {p["backend"]["service"]["name"] for r in ingress["spec"]["rules"]
                for p in r["http"]["paths"]}  # fmt: skip
    assert backends == {"deis-maintenance"}
    alias = kube.get("v1", "Service", "deis-maintenance", app)
    assert alias is not None and alias["spec"]["type"] == "ExternalName"
    deis("maintenance:off", "-a", app)
    assert kube.get("v1", "Service", "deis-maintenance", app) is None

    deis("routing:disable", "-a", app)
    assert kube.get(*INGRESS, app, app) is None
    assert len(ready_pods(kube, app)) == 1  # its processes keep running
    deis("routing:enable", "-a", app)
    assert kube.get(*INGRESS, app, app) is not None


def test_destroy_removes_the_namespace(platform: Platform) -> None:
    kube, deis = platform.kube, platform.deis
    app = new_app()
    deis("create", app, "--no-remote")
    pulled(platform, app)
    deis("scale", "web=2", "-a", app)
    deis("destroy", "-a", app, "--confirm", app)
    # the real namespace controller empties it (the kubelet confirms its pods' deletion)
    until(lambda: kube.get("v1", "Namespace", app) is None, 60, "the namespace to go")


def test_addons_are_statefulsets_in_namespaces_of_their_own(platform: Platform, app: str) -> None:
    """`deis addons:*` with DEIS_ADDONS=kubernetes (the default on this runtime): the real
    StatefulSet controller makes the server's pod and claim, the app's pods get the URL of
    the add-on's Service, the NetworkPolicy follows the attachments, and destroying it
    deletes its namespace."""
    kube, deis = platform.kube, platform.deis
    pulled(platform, app)
    created = deis("addons:create", "postgres", "-a", app).out
    name = created.splitlines()[-1].split()[0]  # "NAME (mini) is attached to APP as ..."
    assert f"{name} (mini) is attached to {app} as DATABASE_URL" in created
    stateful = kube.get("apps/v1", "StatefulSet", name, name)
    assert stateful is not None and stateful["status"].get("readyReplicas") == 1
    claim = kube.get("v1", "PersistentVolumeClaim", f"data-{name}-0", name)
    assert claim is not None  # made by the StatefulSet controller
    assert "available" in deis("addons:info", name).out

    config = deis("config", "-a", app).out
    url = next(line.split()[-1] for line in config.splitlines() if "DATABASE_URL" in line)
    assert url.startswith("postgres://app:") and url.endswith(f"@{name}.{name}.svc:5432/app")
    # the new release runs: its pods' env Secret holds the URL
    env = web(kube, app)["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]
    secret = kube.get("v1", "Secret", env["secretRef"]["name"], app)
    assert secret is not None and "DATABASE_URL" in secret["data"]

    other = new_app()
    deis("create", other, "--no-remote")
    try:
        deis("addons:attach", name, "-a", other, "--as", "reports")
        policy = kube.get("networking.k8s.io/v1", "NetworkPolicy", name, name)
        assert policy is not None
        sources = policy["spec"]["ingress"][0]["from"]
        assert sorted(s["podSelector"]["matchLabels"].get("app", "") for s in sources) == sorted(
            ["", app, other]
        )
        refused = deis("addons:destroy", name, "--confirm", name, ok=False)
        assert refused.code != 0 and "attached to" in refused.err
        deis("addons:destroy", name, "--confirm", name, "--force")
        until(lambda: kube.get("v1", "Namespace", name) is None, 60, "the namespace to go")
        assert "DATABASE_URL" not in deis("config", "-a", app).out
    finally:
        deis("destroy", "-a", other, "--confirm", other, ok=False)
