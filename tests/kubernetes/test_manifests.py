"""The runtime's manifests: pure functions of the desired state, every option validated
against the official Kubernetes schemas."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import pytest

from deis.domain.desired import DesiredApp
from deis.runtime.kubernetes import manifests
from deis.runtime.kubernetes.manifests import Options, SlugStore

from .validation import validate, validate_all

HTTP_PROBE = {
    "httpGet": {"path": "/healthz", "port": 5000, "scheme": "HTTP",
                "httpHeaders": [{"name": "X-Check", "value": "1"}]},
    "initialDelaySeconds": 2, "timeoutSeconds": 1, "periodSeconds": 5,
    "successThreshold": 1, "failureThreshold": 3,
}  # fmt: skip
TCP_PROBE = {"tcpSocket": {"port": "http"}, "periodSeconds": 10, "timeoutSeconds": 1,
             "initialDelaySeconds": 0, "successThreshold": 1, "failureThreshold": 3}  # fmt: skip
EXEC_PROBE = {"exec": {"command": ["cat", "/tmp/ok"]}, "periodSeconds": 10,
              "terminationGracePeriodSeconds": 5}  # fmt: skip


def make(**changes: Any) -> DesiredApp:
    base = DesiredApp(
        app="shop",
        version=3,
        image="registry.example.com:5000/shop:git-abc1234",
        kind="image",
        sha="",
        procfile={"worker": "python worker.py"},
        structure={"web": 2, "worker": 1},
        env={"DATABASE_URL": "postgres://x", "EMPTY": ""},
    )
    return replace(base, **changes)


BUILDPACK = make(
    kind="buildpack",
    image="s3://deis/slugs/shop/v3.tgz",
    sha="abc1234def",
    procfile={"web": "gunicorn app:app", "worker": "celery worker", "clock": "python clock.py"},
    structure={"web": 1, "worker": 2, "clock": 0},
)
VARIANTS = {
    "image": make(),
    "dockerfile": make(
        kind="dockerfile", procfile={"web": "node server.js", "worker": "node w.js"}
    ),
    "cmd": make(structure={"cmd": 1}, procfile={}),
    "buildpack": BUILDPACK,
    "limits": make(
        memory={"web": "512M", "worker": "256M/1G"},
        cpu={"web": "500m", "worker": "0.25/2"},
    ),
    "k8s-quantities": make(memory={"web": "128Mi"}, cpu={"web": "1"}),
    "healthchecks": make(
        healthcheck={
            "web": {"readinessProbe": HTTP_PROBE, "livenessProbe": TCP_PROBE},
            "worker": {"livenessProbe": EXEC_PROBE},
        }
    ),
    "tags": make(tags={"disk": "ssd", "topology.kubernetes.io/zone": "eu-1a"}),
    "registry": make(registry={"username": "bob", "password": "s3cr3t"}),
    "registry-host": make(
        image="quay.io/bob/shop:1",
        registry={"username": "bob", "password": "pw", "hostname": "quay.io"},
    ),
    "docker-hub": make(image="bob/shop:1", registry={"username": "bob", "password": "pw"}),
    "batches": make(env={"DEIS_DEPLOY_BATCHES": "2", "DEIS_DEPLOY_TIMEOUT": "45.5"}),
    "port": make(env={"PORT": "8080"}),
    "scaled-to-zero": make(structure={"web": 0, "worker": 0}),
}
AUTOSCALE = {"web": {"min": 2, "max": 8, "cpu_percent": 70}}
OPTIONS = {
    "default": Options(),
    "custom": Options(
        slugrunner_image="registry.example.com/deis/slugrunner:1.0",
        image_pull_policy="Always",
        termination_grace_seconds=10,
        revision_history_limit=2,
        run_deadline_seconds=60,
        default_batches=3,
        default_timeout=30,
    ),
    "slug-store": Options(
        slug_store=SlugStore("http://minio.deis:9000", "deis", "eu-west-1", "platform", "AK", "SK")
    ),
}


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
@pytest.mark.parametrize("desired", VARIANTS.values(), ids=VARIANTS.keys())
def test_every_release_object_is_valid(desired: DesiredApp, options: Options) -> None:
    objects = manifests.release_objects(desired, options, AUTOSCALE)
    assert validate_all(objects) == []
    run = manifests.run_pod(desired, "shop-run-ab12c", "rake db:migrate; exit 3", options)
    validate(run)


def test_namespace_and_labels() -> None:
    namespace = manifests.namespace("shop")
    assert namespace["metadata"] == {"name": "shop", "labels": {"heritage": "deis", "app": "shop"}}
    deployment = manifests.deployment(make(), "web", Options())
    assert deployment["metadata"]["name"] == "shop-web"
    assert deployment["metadata"]["namespace"] == "shop"
    labels = {"app": "shop", "type": "web", "version": "v3", "heritage": "deis"}
    assert deployment["metadata"]["labels"] == labels
    assert deployment["spec"]["template"]["metadata"]["labels"] == labels
    # the selector leaves the version out: it cannot change once created
    assert deployment["spec"]["selector"]["matchLabels"] == {
        "app": "shop", "type": "web", "heritage": "deis"
    }  # fmt: skip


def test_env_secret_is_per_release_and_holds_the_environment() -> None:
    secret = manifests.env_secret(make())
    assert secret["metadata"]["name"] == "shop-v3-env"
    assert secret["immutable"] is True
    env = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert env["DATABASE_URL"] == "postgres://x"
    assert env["EMPTY"] == ""
    assert env["PORT"] == "5000"
    assert env["WORKFLOW_RELEASE"] == "v3"
    assert env["DEIS_APP"] == "shop"
    container = manifests.container(make(), "web", Options())
    assert container["envFrom"] == [{"secretRef": {"name": "shop-v3-env"}}]


def test_rolling_update_from_batches_and_deadline_from_timeout() -> None:
    spec = manifests.deployment(VARIANTS["batches"], "web", Options())["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2, "maxUnavailable": 0}
    }  # fmt: skip
    assert spec["progressDeadlineSeconds"] == 46
    default = manifests.deployment(make(), "web", Options())["spec"]
    assert default["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": 0}
    assert default["progressDeadlineSeconds"] == 120
    platform = manifests.deployment(make(), "web", OPTIONS["custom"])["spec"]
    assert platform["strategy"]["rollingUpdate"]["maxSurge"] == 3
    assert platform["progressDeadlineSeconds"] == 30


def test_probes_from_healthchecks() -> None:
    desired = VARIANTS["healthchecks"]
    web = manifests.container(desired, "web", Options())
    assert web["readinessProbe"] == HTTP_PROBE
    assert web["livenessProbe"] == TCP_PROBE
    worker = manifests.container(desired, "worker", Options())
    assert worker["livenessProbe"] == EXEC_PROBE
    assert "readinessProbe" not in worker
    # a web process without one is checked by a TCP connection to its port
    plain = manifests.container(make(), "web", Options())
    assert plain["readinessProbe"]["tcpSocket"] == {"port": 5000}
    assert "readinessProbe" not in manifests.container(make(), "worker", Options())


def test_resources_from_limits() -> None:
    desired = VARIANTS["limits"]
    assert manifests.container(desired, "web", Options())["resources"] == {
        "limits": {"memory": "512Mi", "cpu": "500m"}
    }
    assert manifests.container(desired, "worker", Options())["resources"] == {
        "limits": {"memory": "1Gi", "cpu": "2000m"},
        "requests": {"memory": "256Mi", "cpu": "250m"},
    }
    assert "resources" not in manifests.container(make(), "web", Options())


def test_node_selector_and_pull_secret() -> None:
    pod = manifests.pod_spec(VARIANTS["tags"], "web", Options())
    assert pod["nodeSelector"] == {"disk": "ssd", "topology.kubernetes.io/zone": "eu-1a"}
    assert "imagePullSecrets" not in pod
    desired = VARIANTS["registry-host"]
    assert manifests.pod_spec(desired, "web", Options())["imagePullSecrets"] == [
        {"name": "shop-registry"}
    ]
    secret = manifests.registry_secret(desired)
    assert secret is not None and secret["type"] == "kubernetes.io/dockerconfigjson"
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    assert config["auths"]["quay.io"]["auth"] == base64.b64encode(b"bob:pw").decode()
    hub = manifests.registry_secret(VARIANTS["docker-hub"])
    assert hub is not None
    assert (
        "https://index.docker.io/v1/"
        in json.loads(base64.b64decode(hub["data"][".dockerconfigjson"]))["auths"]
    )
    inferred = manifests.registry_secret(VARIANTS["registry"])
    assert inferred is not None
    assert (
        "registry.example.com:5000"
        in json.loads(base64.b64decode(inferred["data"][".dockerconfigjson"]))["auths"]
    )
    assert manifests.registry_secret(make()) is None


def test_slugs_run_on_the_slugrunner_and_images_as_built() -> None:
    options = OPTIONS["custom"]
    web = manifests.container(BUILDPACK, "web", options)
    assert web["image"] == "registry.example.com/deis/slugrunner:1.0"
    assert web["args"] == ["gunicorn app:app"]
    assert web["env"] == [{"name": "SLUG_URL", "value": "s3://deis/slugs/shop/v3.tgz"}]
    image_web = manifests.container(make(), "web", options)
    assert image_web["image"] == make().image
    assert "command" not in image_web and "args" not in image_web  # its own command
    worker = manifests.container(make(), "worker", options)
    assert worker["command"] == ["/bin/sh", "-c", "python worker.py"]
    with pytest.raises(manifests.NotRunnable):
        manifests.container(make(), "clock", options)
    with pytest.raises(manifests.NotRunnable):
        manifests.container(make(image=None), "web", options)


def test_slugs_are_fetched_by_an_init_container_that_alone_holds_the_keys() -> None:
    options = OPTIONS["slug-store"]
    desired = replace(BUILDPACK, image="slugs/shop/git-abc1234def.tgz")
    objects = manifests.release_objects(desired, options, AUTOSCALE)
    assert validate_all(objects) == []
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    secret = by_name[("Secret", "shop-objectstore")]
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {
        "endpoint": "http://minio.deis:9000", "region": "eu-west-1",
        "access-key": "AK", "secret-key": "SK",
    }  # fmt: skip
    pod = by_name[("Deployment", "shop-web")]["spec"]["template"]["spec"]
    url = {"name": "SLUG_URL", "value": "s3://deis/platform/slugs/shop/git-abc1234def.tgz"}
    (fetcher,) = pod["initContainers"]
    assert fetcher["args"] == ["--fetch"] and fetcher["env"] == [url]
    assert {m["name"] for m in fetcher["volumeMounts"]} == {"slug", "objectstore"}
    (app,) = pod["containers"]
    assert app["volumeMounts"] == [{"name": "slug", "mountPath": "/app"}]  # no keys
    assert app["args"] == ["gunicorn app:app"] and app["env"] == [url]
    run = manifests.run_pod(desired, "shop-run-ab12c", "rake db:migrate", options)
    assert run["spec"]["initContainers"][0]["name"] == "fetch-slug"
    # images run as built: no fetcher, no keys
    plain = manifests.release_objects(make(), options, AUTOSCALE)
    assert not [o for o in plain if o["metadata"]["name"] == "shop-objectstore"]
    assert "initContainers" not in manifests.pod_spec(make(), "web", options)


def test_service_targets_the_routable_type() -> None:
    service = manifests.service(make(env={"PORT": "8080"}))
    assert service["metadata"]["name"] == "shop"
    assert service["spec"]["selector"]["type"] == "web"
    assert service["spec"]["ports"][0]["port"] == 80
    assert service["spec"]["ports"][0]["targetPort"] == 8080
    assert manifests.service(VARIANTS["cmd"])["spec"]["selector"]["type"] == "cmd"


def test_autoscaled_types_leave_replicas_to_the_autoscaler() -> None:
    objects = manifests.release_objects(make(), Options(), AUTOSCALE)
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    assert "replicas" not in by_name[("Deployment", "shop-web")]["spec"]
    assert by_name[("Deployment", "shop-worker")]["spec"]["replicas"] == 1
    hpa = by_name[("HorizontalPodAutoscaler", "shop-web")]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["minReplicas"] == 2 and hpa["spec"]["maxReplicas"] == 8
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "shop-web"
    }  # fmt: skip
    target = hpa["spec"]["metrics"][0]["resource"]["target"]
    assert target == {"type": "Utilization", "averageUtilization": 70}


def test_run_pod() -> None:
    pod = manifests.run_pod(BUILDPACK, "shop-run-x1y2z", "rake db:migrate", OPTIONS["custom"])
    assert pod["metadata"]["name"] == "shop-run-x1y2z"
    assert pod["metadata"]["labels"]["type"] == "run"
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["activeDeadlineSeconds"] == 60
    container = pod["spec"]["containers"][0]
    assert container["args"] == ["rake db:migrate"]
    assert "ports" not in container and "readinessProbe" not in container
    image_pod = manifests.run_pod(make(), "shop-run-aaaaa", "ls", Options())
    assert image_pod["spec"]["containers"][0]["command"] == ["/bin/sh", "-c", "ls"]


def test_applied_form_keeps_only_what_was_applied() -> None:
    live = manifests.deployment(make(), "web", Options())
    live["metadata"].update(uid="u", resourceVersion="9", generation=4, managedFields=[{}])
    live["status"] = {"replicas": 2}
    again = manifests.applied_form(live)
    assert again == manifests.deployment(make(), "web", Options())
    validate(again)


def test_the_cached_validator_agrees_with_kubernetes_validate() -> None:
    import kubernetes_validate

    from .validation import VERSION

    good = manifests.deployment(make(), "web", Options())
    kubernetes_validate.validate(good, VERSION, strict=True)
    validate(good)
    bad = json.loads(json.dumps(good))
    bad["spec"]["template"]["spec"]["containers"][0]["bogus"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, VERSION, strict=True)
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(bad)


CRON = {
    "backup": {"schedule": "0 3 * * *", "command": "python backup.py", "tz": "Europe/Paris",
               "timeout": 600, "memory": "256M", "suspended": False, "source": "cli"},
    "tick": {"schedule": "*/5 * * * 7", "command": "echo tick", "tz": "UTC",
             "timeout": 3600, "memory": None, "suspended": True, "source": "app.json"},
}  # fmt: skip


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
@pytest.mark.parametrize("desired", [make(cron=CRON), replace(BUILDPACK, cron=CRON)])
def test_cron_jobs_are_valid_cronjobs_of_the_release(desired: DesiredApp, options: Options) -> None:
    jobs = manifests.cron_jobs(desired, options)
    validate_all(jobs)
    backup, tick = jobs
    assert backup["metadata"]["name"] == "cron-backup"
    assert backup["metadata"]["labels"]["cron"] == "backup"
    spec = backup["spec"]
    assert spec["schedule"] == "0 3 * * *" and spec["timeZone"] == "Europe/Paris"
    assert spec["concurrencyPolicy"] == "Forbid" and spec["suspend"] is False
    job = spec["jobTemplate"]["spec"]
    assert job["activeDeadlineSeconds"] == 600 and job["backoffLimit"] == 0
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    container = pod["containers"][0]
    assert container["resources"]["limits"]["memory"] == "256Mi"
    assert "python backup.py" in " ".join(container.get("args", []) + container.get("command", []))
    assert tick["spec"]["suspend"] is True and "timeZone" not in tick["spec"]
    assert tick["spec"]["schedule"] == "0,5,10,15,20,25,30,35,40,45,50,55 * * * 0"
