"""The runtime's other pure parts: names, container specs, probes, deploy settings, config."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest

from deis.domain.desired import DesiredApp
from deis.runtime import naming, policy, probes, spec
from deis.stack import podman_conf as conf

CLIENT_PATTERN = re.compile(r"[0-9]{8,10}-[a-z0-9]{5}$")


def desired(**changes: object) -> DesiredApp:
    base = DesiredApp(
        app="shop",
        version=7,
        image="localhost/shop:v7",
        kind="image",
        sha="abc123",
        procfile={"web": "python -m http.server $PORT", "worker": "celery worker"},
        structure={"web": 1},
        env={"FOO": "bar", "PORT": ""},
    )
    return DesiredApp(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_replica_names_have_the_kubernetes_shape() -> None:
    name = naming.replica_name("my-app", "web", 12, random.Random(1))
    assert name.startswith("my-app-web-")
    assert CLIENT_PATTERN.search(name)
    assert len(name.split("-")[-2]) == 10


def test_release_hash_is_stable_per_release_and_type() -> None:
    assert naming.release_hash("a", "web", 3) == naming.release_hash("a", "web", 3)
    assert naming.release_hash("a", "web", 3) != naming.release_hash("a", "web", 4)
    assert naming.release_hash("a", "web", 3) != naming.release_hash("a", "worker", 3)
    assert naming.release_hash("a", "web", 3).startswith("0003")


def test_run_names() -> None:
    assert re.fullmatch(r"shop-run-[a-z0-9]{5}", naming.run_name("shop"))


def test_veth_names_fit_the_kernel_limit_and_carry_the_instance() -> None:
    veth = naming.veth_name("test-123-abcd", "a-very-long-application-name-web-0000000000-abcde")
    assert len(veth) <= 15
    assert veth.startswith(naming.veth_prefix("test-123-abcd"))
    assert naming.veth_prefix("one") != naming.veth_prefix("two")


def test_netns_names_carry_the_instance() -> None:
    assert naming.netns_name("inst", "x").startswith("deis-inst-")


@pytest.mark.parametrize("bad", ["", "UPPER", "-x", "a" * 33, "a b", "a/b"])
def test_instance_ids_are_checked(bad: str) -> None:
    with pytest.raises(ValueError):
        naming.validate_instance_id(bad)


# --- spec -----------------------------------------------------------------------------


def test_environment_adds_the_platform_variables() -> None:
    env = spec.environment(desired(), 5000)
    assert env == {
        "FOO": "bar",
        "PORT": "5000",
        "DEIS_APP": "shop",
        "WORKFLOW_RELEASE": "v7",
        "SOURCE_VERSION": "abc123",
    }


def test_labels() -> None:
    assert spec.labels(desired(), "web", "inst", 5000) == {
        "deis.app": "shop",
        "deis.type": "web",
        "deis.version": "7",
        "heritage": "deis",
        "deis.instance": "inst",
        "deis.port": "5000",
    }


def test_image_cmd_type_runs_the_image_command() -> None:
    launch = spec.process_launch(desired(), "cmd", None, "stack")
    assert launch == spec.Launch(image="localhost/shop:v7")


def test_image_web_without_procfile_runs_the_image_command() -> None:
    launch = spec.process_launch(desired(procfile={}), "web", None, "stack")
    assert launch.args == () and launch.entrypoint is None


def test_image_procfile_type_runs_its_command_with_sh() -> None:
    launch = spec.process_launch(desired(), "worker", None, "stack")
    assert launch.entrypoint == "/bin/sh" and launch.args == ("-c", "celery worker")


def test_unknown_type_is_not_runnable() -> None:
    with pytest.raises(spec.NotRunnable):
        spec.process_launch(desired(), "clock", None, "stack")


def test_buildpack_runs_on_the_stack_with_the_slug_as_overlay() -> None:
    slug = Path("/state/runtime/slugs/shop/v7")
    launch = spec.process_launch(desired(kind="buildpack"), "web", slug, "stack:run")
    assert launch.image == "stack:run"
    assert launch.volumes == (f"{slug}:/app:O",)
    assert launch.workdir == "/app"
    assert launch.entrypoint == "/bin/bash"
    assert launch.args[0] == "-c"
    assert "/app/.profile.d/*.sh" in launch.args[1]
    assert launch.args[1].endswith("exec /bin/bash -c 'python -m http.server $PORT'")


def test_buildpack_without_the_type_is_not_runnable() -> None:
    with pytest.raises(spec.NotRunnable):
        spec.process_launch(desired(kind="buildpack"), "clock", Path("/x"), "stack")


def test_no_build_is_not_runnable() -> None:
    with pytest.raises(spec.NotRunnable):
        spec.process_launch(desired(image=None), "web", None, "stack")


def test_port_default_exposed_and_configured() -> None:
    assert spec.port_for(desired(), None) == 5000
    assert spec.port_for(desired(), 8080) == 8080
    assert spec.port_for(desired(kind="buildpack"), 8080) == 5000
    assert spec.port_for(desired(env={"PORT": "9000"}), 8080) == 9000


def test_limits_from_config() -> None:
    lim = spec.limits(desired(memory={"web": "256M/512M"}, cpu={"web": "500m"}), "web", 100)
    assert lim.memory == 512 * 1024 * 1024
    assert lim.cpus == 0.5
    assert lim.pids == 100
    assert spec.limits(desired(), "web", 100).memory is None


def test_run_args_keep_secret_values_off_the_command_line() -> None:
    container = spec.ContainerSpec(
        name="shop-web-0007000000-abcde",
        launch=spec.Launch(image="img", entrypoint="/bin/sh", args=("-c", "x")),
        env={"SECRET": "hunter2", "PATH": "/app/bin"},
        labels={"deis.app": "shop"},
        limits=spec.Limits(memory=1024, cpus=0.5, pids=64),
    )
    args = spec.run_args(container, "/run/netns/ns")
    assert "hunter2" not in " ".join(args)
    assert ["-e", "SECRET"] == args[args.index("SECRET") - 1 : args.index("SECRET") + 1]
    assert "PATH=/app/bin" in args  # podman's own variable: on argv, not in its env
    assert spec.podman_env(container) == {"SECRET": "hunter2"}
    assert args[args.index("--network") + 1] == "ns:/run/netns/ns"
    assert args[args.index("--memory") + 1] == "1024"
    assert args[args.index("--cpus") + 1] == "0.5"
    assert args[args.index("--pids-limit") + 1] == "64"
    assert "--init" in args
    assert args[-6:-4] == ["--entrypoint", "/bin/sh"]
    assert args[-4:] == ["--", "img", "-c", "x"]  # "--": the image is never an option


def test_pull_only_from_the_local_registry() -> None:
    assert spec.pull_args("127.0.0.1:5000/shop:v1") == [
        "--pull",
        "missing",
        "--tls-verify=false",
    ]
    assert spec.pull_args("localhost/deis-test/busybox:x") == ["--pull", "never"]
    assert spec.pull_args("docker.io/library/debian") == ["--pull", "never"]


# --- probes ---------------------------------------------------------------------------


def test_web_default_readiness_is_tcp_to_the_port() -> None:
    found = probes.probes_for({}, "web", 5000)
    assert found.readiness is not None
    assert found.readiness.kind == probes.TCP and found.readiness.port == 5000
    assert found.liveness is None


def test_workers_without_probes_need_to_keep_running() -> None:
    found = probes.probes_for({}, "worker", 5000, min_running=2)
    assert found.readiness is None and found.min_running == 2


def test_http_probe_fields() -> None:
    config = {
        "web": {
            "readinessProbe": {
                "httpGet": {
                    "path": "/healthz",
                    "port": 8000,
                    "host": "example.com",
                    "httpHeaders": [{"name": "X-A", "value": "1"}],
                },
                "initialDelaySeconds": 2,
                "periodSeconds": 3,
                "timeoutSeconds": 4,
                "successThreshold": 2,
                "failureThreshold": 5,
            },
            "livenessProbe": {"exec": {"command": ["cat", "/tmp/ok"]}},
        }
    }
    found = probes.probes_for(config, "web", 5000)
    ready = found.readiness
    assert ready is not None
    assert (ready.kind, ready.path, ready.port) == (probes.HTTP, "/healthz", 8000)
    assert ready.headers == (("Host", "example.com"), ("X-A", "1"))
    assert (ready.initial_delay, ready.period, ready.timeout) == (2, 3, 4)
    assert (ready.success_threshold, ready.failure_threshold) == (2, 5)
    assert found.liveness is not None
    assert found.liveness.kind == probes.EXEC
    assert found.liveness.command == ("cat", "/tmp/ok")
    assert found.liveness.period == 10  # Kubernetes' default


def test_tcp_probe_with_named_port_uses_the_replica_port() -> None:
    found = probes.probes_for(
        {"web": {"readinessProbe": {"tcpSocket": {"port": "http"}}}}, "web", 5000
    )
    assert found.readiness is not None and found.readiness.port == 5000


# --- deploy settings ------------------------------------------------------------------


def test_deploy_batches_and_timeout_from_config() -> None:
    assert policy.deploy_batches({}) is None
    assert policy.deploy_batches({}, 2) == 2
    assert policy.deploy_batches({"DEIS_DEPLOY_BATCHES": "3"}) == 3
    assert policy.deploy_batches({"DEIS_DEPLOY_BATCHES": "x"}, 1) == 1
    assert policy.deploy_batches({"DEIS_DEPLOY_BATCHES": "0"}) is None
    assert policy.deploy_timeout({}) == 120
    assert policy.deploy_timeout({"DEIS_DEPLOY_TIMEOUT": "5"}) == 5
    assert policy.deploy_timeout({"DEIS_DEPLOY_TIMEOUT": "-1"}, 7) == 7


# --- podman configuration -----------------------------------------------------------------


def test_podman_configuration_is_the_platforms_own(tmp_path: Path) -> None:
    shared = tmp_path / "stack-images"
    paths = conf.write_config(tmp_path / "state", "conf-test", shared_store=shared)
    try:
        containers = paths.containers_conf.read_text()
        assert 'runtime = "runc"' in containers
        assert 'cgroup_manager = "cgroupfs"' in containers
        assert 'events_logger = "file"' in containers
        assert '"nofile=20000:20000", "nproc=32768:32768"' in containers
        storage = paths.storage_conf.read_text()
        assert f'graphroot = "{tmp_path}/state/runtime/podman/storage"' in storage
        assert "additionalimagestores" not in storage  # the shared store does not exist
        shared.mkdir()
        paths = conf.write_config(tmp_path / "state", "conf-test", shared_store=shared)
        assert f'additionalimagestores = ["{shared}"]' in paths.storage_conf.read_text()
        assert paths.env() == {
            "CONTAINERS_CONF": str(paths.containers_conf),
            "CONTAINERS_STORAGE_CONF": str(paths.storage_conf),
        }
    finally:
        shutil.rmtree(paths.run_dir)
