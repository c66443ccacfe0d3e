"""`deisctl kubernetes render|install` (the click group), and the wiring from settings."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from deis.domain.desired import DesiredApp
from deis.platform.kubernetes import wiring
from deis.platform.kubernetes.cli import kubernetes
from deis.runtime.kubernetes import Kube
from deis.runtime.kubernetes.client import path

from .conftest import new_app
from .fake_apiserver import FakeApiServer
from .gateway_schema import validate_gateway_api
from .validation import validate_all

ARGS = [
    "--domain", "apps.example.com",
    "--database-url", "postgresql://deis:pw@db:5432/deis",
    "--s3-endpoint", "https://s3.example.com",
]  # fmt: skip


def test_render_writes_valid_yaml(tmp_path: Path) -> None:
    result = CliRunner().invoke(kubernetes, ["render", *ARGS, "--routing", "ingress"])
    assert result.exit_code == 0, result.output
    manifests = list(yaml.safe_load_all(result.output))
    assert validate_all(manifests) == []
    assert {m["kind"] for m in manifests} >= {"Namespace", "ClusterRole", "Deployment", "Ingress"}
    out = tmp_path / "deis.yaml"
    result = CliRunner().invoke(
        kubernetes, ["render", *ARGS, "--builder-key", "abc", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    written = list(yaml.safe_load_all(out.read_text()))
    for custom in validate_all(written):
        validate_gateway_api(custom)
    assert out.stat().st_mode & 0o077 == 0
    keys = [m for m in written if m["metadata"]["name"] == "deis-builder-key"]
    assert keys[0]["stringData"] == {"DEIS_BUILDER_KEY": "abc"}


def test_render_refuses_bad_options() -> None:
    result = CliRunner().invoke(
        kubernetes, ["render", *ARGS[:2], "--database-url", "mysql://x", *ARGS[4:]]
    )
    assert result.exit_code == 2 and "postgresql://" in result.output


def mark_ready(fake: FakeApiServer, kube: Kube, stop: threading.Event) -> None:
    while not stop.wait(0.05):
        for pod in fake.all("Pod", "deis"):
            if pod["status"].get("phase") != "Running":
                kube.merge_patch(
                    path("v1", "Pod", "deis", pod["metadata"]["name"]),
                    {"status": {"phase": "Running",
                                "conditions": [{"type": "Ready", "status": "True"}]}},
                    "status",
                )  # fmt: skip


@pytest.mark.parametrize("gateway", [True, False])
def test_install_applies_everything_and_again(tmp_path: Path, gateway: bool) -> None:
    fake = FakeApiServer(gateway=gateway).start()
    config = fake.kubeconfig(tmp_path)
    kube = Kube.connect(str(config), timeout=5)
    stop = threading.Event()
    marker = threading.Thread(target=mark_ready, args=(fake, kube, stop), daemon=True)
    marker.start()
    routing = (
        ["--routing", "gateway", "--gateway-class", "eg"] if gateway else ["--routing", "ingress"]
    )
    try:
        args = ["install", *ARGS, *routing, "--kubeconfig", str(config), "--wait", "20"]
        result = CliRunner().invoke(kubernetes, args)
        assert result.exit_code == 0, result.output
        assert "ready: deis/deis-controller" in result.output
        assert kube.get("apps/v1", "Deployment", "deis-controller", "deis") is not None
        key = fake.all("Secret", "deis")
        first = [s for s in key if s["metadata"]["name"] == "deis-builder-key"][0]
        # stringData is what the fake keeps; a real server turns it into data
        result = CliRunner().invoke(kubernetes, args)
        assert result.exit_code == 0, result.output
        again = [
            s for s in fake.all("Secret", "deis") if s["metadata"]["name"] == "deis-builder-key"
        ]
        assert again[0]["metadata"]["uid"] == first["metadata"]["uid"]
    finally:
        stop.set()
        marker.join(timeout=5)
        kube.close()
        fake.stop()


def test_install_refuses_the_gateway_api_on_a_cluster_without_it(tmp_path: Path) -> None:
    fake = FakeApiServer(gateway=False).start()
    try:
        config = fake.kubeconfig(tmp_path)
        args = ["install", *ARGS, "--kubeconfig", str(config), "--wait", "0"]
        result = CliRunner().invoke(kubernetes, args)
        assert result.exit_code == 1
        assert "Gateway API" in result.output
        assert fake.all("Namespace") == []  # nothing was written
    finally:
        fake.stop()


def test_install_without_a_cluster() -> None:
    result = CliRunner().invoke(
        kubernetes, ["install", *ARGS, "--kubeconfig", "/nonexistent/config"]
    )
    assert result.exit_code == 1 and "kubeconfig" in result.output


def test_settings_from_the_environment() -> None:
    env = {
        "DEIS_KUBECONFIG": "/etc/kube/config",
        "DEIS_KUBERNETES_ROUTING": "ingress",
        "DEIS_KUBERNETES_INGRESS_CLASS": "traefik",
        "DEIS_KUBERNETES_GATEWAY": "edge/public",
        "DEIS_KUBERNETES_MAINTENANCE_SERVICE": "paas/down",
        "DEIS_KUBERNETES_SLUGRUNNER_IMAGE": "r/slugrunner:2",
        "DEIS_KUBERNETES_RUN_TIMEOUT": "600",
        "DEIS_DEPLOY_BATCHES": "2",
        "DEIS_DEPLOY_TIMEOUT": "300",
    }
    settings = wiring.KubernetesSettings.from_env(env)
    assert settings.kubeconfig == "/etc/kube/config"
    assert settings.router.mode == "ingress" and settings.router.ingress_class == "traefik"
    assert (settings.router.gateway_namespace, settings.router.gateway_name) == ("edge", "public")
    assert settings.router.maintenance_namespace == "paas"
    assert settings.runtime.slugrunner_image == "r/slugrunner:2"
    assert settings.runtime.run_deadline_seconds == 600
    assert settings.runtime.default_batches == 2 and settings.runtime.default_timeout == 300
    defaults = wiring.KubernetesSettings.from_env({})
    assert defaults.kubeconfig is None and defaults.router.mode == "auto"
    with pytest.raises(wiring.KubernetesSettingsError):
        wiring.KubernetesSettings.from_env({"DEIS_KUBERNETES_ROUTING": "nginx"})
    with pytest.raises(wiring.KubernetesSettingsError):
        wiring.KubernetesSettings.from_env({"DEIS_KUBERNETES_RUN_TIMEOUT": "soon"})


class Events:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def tail(self, app_id: str, lines: int) -> str:
        return "".join(f"{x}\n" for x in self.lines[-lines:])

    def follow(self, app_id: str, lines: int) -> Any:
        raise NotImplementedError

    def write(self, app_id: str, source: str, message: str, *, by_app: bool = False) -> None:
        self.lines.append(f"2000-01-01T00:00:00Z {app_id}[{source}]: {message}")

    def remove(self, app_id: str) -> None:
        self.lines.clear()


def test_wired_adapters_work_together(tmp_path: Path) -> None:
    from .kubelet import Kubelet

    fake = FakeApiServer(gateway=True).start()
    try:
        env = {"DEIS_KUBECONFIG": str(fake.kubeconfig(tmp_path))}
        settings = wiring.KubernetesSettings.from_env(env)
        kube = wiring.connect(settings)
        kubelet = Kubelet(kube, fake).start()
        runtime = wiring.make_runtime(settings, kube)
        runtime.poll_interval = 0.05
        router = wiring.make_router(settings, kube)
        assert router.gateway is True
        events = Events()
        logs = wiring.make_logs(runtime, events)
        app = new_app()
        desired = DesiredApp(app=app, version=1, image="i", kind="image", sha="",
                             procfile={}, structure={"web": 1}, env={})  # fmt: skip
        runtime.deploy(desired)
        pod = fake.all("Pod", app)[0]["metadata"]["name"]
        fake.set_log(app, pod, "listening")
        logs.write(app, "deis", "deployed v1")
        text = logs.tail(app, 10).splitlines()
        assert text[0] == f"2000-01-01T00:00:00Z {app}[deis]: deployed v1"
        assert text[1].endswith("]: listening")
        follow = logs.follow(app, 10)
        assert next(follow).count("\n") == 2
        kubelet.stop()
        kube.close()
    finally:
        fake.stop()


def test_deis_logs_kubernetes_wires_pod_logs_with_platform_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DEIS_LOGS=kubernetes, as `deisctl kubernetes render` sets it: the controller's logs
    adapter reads the pods' logs and keeps its own events in files."""
    from deis.platform import wiring as platform_wiring
    from deis.runtime.kubernetes.logs import KubernetesLogs
    from deis.settings import Settings

    fake = FakeApiServer(gateway=True).start()
    try:
        monkeypatch.setenv("DEIS_KUBECONFIG", str(fake.kubeconfig(tmp_path)))
        settings = Settings(
            state_dir=tmp_path / "state",
            runtime="kubernetes",
            router="kubernetes",
            logs="kubernetes",
            builder="none",
            database_url=f"sqlite:///{tmp_path / 'deis.db'}",
        )
        context = platform_wiring.build_context(settings)
        assert isinstance(context.logs, KubernetesLogs)
        context.logs.write("myapp", "deis", "deployed v1")
        assert "deis[deis]: deployed v1" in context.logs.events.tail("myapp", 10)
    finally:
        fake.stop()


def test_addons_run_in_the_cluster_on_the_kubernetes_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DEIS_ADDONS defaults to the runtime: on a cluster, KubernetesAddons with the add-on
    image and timeout of DEIS_KUBERNETES_ADDON_*; backups need a store that presigns."""
    from deis.platform import wiring as platform_wiring
    from deis.runtime.kubernetes.addon_servers import KubernetesAddons
    from deis.settings import Settings

    fake = FakeApiServer(gateway=True).start()
    try:
        monkeypatch.setenv("DEIS_KUBECONFIG", str(fake.kubeconfig(tmp_path)))
        monkeypatch.setenv("DEIS_KUBERNETES_ADDON_IMAGE", "registry.example.com/deis/addons:2")
        monkeypatch.setenv("DEIS_KUBERNETES_ADDON_TIMEOUT", "90")
        settings = Settings(
            state_dir=tmp_path / "state",
            runtime="kubernetes",
            router="kubernetes",
            builder="none",
            database_url=f"sqlite:///{tmp_path / 'deis.db'}",
        )
        context = platform_wiring.build_context(settings)
        assert isinstance(context.addons, KubernetesAddons)
        assert context.addons.options.image == "registry.example.com/deis/addons:2"
        assert context.addons.options.ready_timeout == 90
        assert context.addons.objects is None  # the filesystem store presigns nothing
    finally:
        fake.stop()
    wrong = Settings(state_dir=tmp_path, runtime="podman", addons="kubernetes")
    with pytest.raises(platform_wiring.UnknownAdapter, match="needs DEIS_RUNTIME=kubernetes"):
        platform_wiring.make_addons(wrong, object(), object())  # type: ignore[arg-type]


def test_deis_logs_kubernetes_needs_the_kubernetes_runtime(tmp_path: Path) -> None:
    from deis.platform import wiring as platform_wiring
    from deis.settings import Settings

    settings = Settings(state_dir=tmp_path, runtime="podman", logs="kubernetes")
    with pytest.raises(platform_wiring.UnknownAdapter, match="needs DEIS_RUNTIME=kubernetes"):
        platform_wiring.make_logs(settings)


def test_without_the_kubernetes_extra_the_error_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from deis.platform import wiring as platform_wiring

    monkeypatch.setitem(sys.modules, "kubernetes", None)  # as if it were not installed
    with pytest.raises(platform_wiring.UnknownAdapter) as raised:
        platform_wiring.kubernetes_wiring()
    assert "pip install 'deis-platform[kubernetes]'" in str(raised.value)


def test_a_release_writes_its_cron_jobs_as_cronjobs(tmp_path: Path) -> None:
    """Each deploy applies the release's jobs as CronJobs and deletes those of removed
    jobs (the cluster then runs them; the controller's scheduler does not)."""
    from .kubelet import Kubelet

    fake = FakeApiServer(gateway=True).start()
    try:
        env = {"DEIS_KUBECONFIG": str(fake.kubeconfig(tmp_path))}
        settings = wiring.KubernetesSettings.from_env(env)
        kube = wiring.connect(settings)
        kubelet = Kubelet(kube, fake).start()
        runtime = wiring.make_runtime(settings, kube)
        runtime.poll_interval = 0.05
        app = new_app()
        job = {"schedule": "@hourly", "command": "echo hi", "tz": "UTC", "timeout": 60,
               "memory": None, "suspended": False, "source": "cli"}  # fmt: skip
        desired = DesiredApp(app=app, version=1, image="i", kind="image", sha="",
                             procfile={}, structure={"web": 1}, env={},
                             cron={"hourly": job, "other": job})  # fmt: skip
        runtime.deploy(desired)
        names = sorted(c["metadata"]["name"] for c in fake.all("CronJob", app))
        assert names == ["cron-hourly", "cron-other"]
        live = fake.all("CronJob", app)[0]
        assert live["spec"]["schedule"] == "0 * * * *"
        runtime.deploy(replace(desired, version=2, cron={"hourly": job}))
        assert [c["metadata"]["name"] for c in fake.all("CronJob", app)] == ["cron-hourly"]
        kubelet.stop()
        kube.close()
    finally:
        fake.stop()
