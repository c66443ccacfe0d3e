"""Kubernetes objects for one app, as plain dicts: pure functions of the desired state.

Nothing here talks to a cluster; `client.py` applies what these functions return.

- a Namespace per app (`APP`), labels heritage=deis and app;
- per release a Secret `APP-vN-env` holding the environment (config, PORT, release);
- a Secret `APP-registry` (dockerconfigjson) when the config has registry credentials;
- per process type a Deployment `APP-TYPE`: rolling update from DEIS_DEPLOY_BATCHES,
  progress deadline from DEIS_DEPLOY_TIMEOUT, probes from healthchecks, resources from
  limits, nodeSelector from tags; buildpack releases run on the slugrunner image;
- a Service `APP` for the routable type (web, or cmd for an image's own command);
- a HorizontalPodAutoscaler (autoscaling/v2) per autoscaled type;
- a Pod `APP-run-XXXXX` for a one-off command.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from deis.domain import cron
from deis.domain.config import cpu_millicores, limit_part, memory_bytes, request_part
from deis.domain.desired import DesiredApp
from deis.runtime import policy, spec
from deis.runtime.plan import ROUTABLE_TYPES

Manifest = dict[str, Any]

HERITAGE = "deis"
LABEL_APP = "app"
LABEL_TYPE = "type"
LABEL_VERSION = "version"
LABEL_HERITAGE = "heritage"
RUN_TYPE = "run"
SERVICE_PORT = 80
PORT_NAME = "http"
ANNOTATION_RELEASE = "deis.io/release"
DEFAULT_SLUGRUNNER = "deis/slugrunner:latest"
DEFAULT_MAX_SURGE = "25%"
DOCKER_HUB = "https://index.docker.io/v1/"
SLUG_DIR = "/app"
OBJECTSTORE_DIR = "/var/run/secrets/deis/objectstore"


@dataclass(frozen=True)
class SlugStore:
    """The S3-compatible store the slugrunner reads slugs from (DEIS_OBJECTS=s3)."""

    endpoint: str
    bucket: str
    region: str = "us-east-1"
    prefix: str = ""
    access_key: str = ""
    secret_key: str = ""

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.prefix + '/' if self.prefix else ''}{key}"


@dataclass(frozen=True)
class Options:
    """How the platform runs apps on this cluster; settings, not per-app config."""

    slugrunner_image: str = DEFAULT_SLUGRUNNER
    image_pull_policy: str = "IfNotPresent"
    termination_grace_seconds: int = 30
    revision_history_limit: int = 5
    run_deadline_seconds: int = 3600  # a one-off command is stopped after this
    default_batches: int | None = None  # DEIS_DEPLOY_BATCHES when the app sets none
    default_timeout: float = policy.DEFAULT_TIMEOUT  # DEIS_DEPLOY_TIMEOUT when none
    # set: slugs are fetched from this store by an init container that alone holds the
    # store's keys (a Secret APP-objectstore); unset: SLUG_URL is the slug's key as built
    slug_store: SlugStore | None = None


class NotRunnable(ValueError):
    """The release cannot run this process type."""


# --- names and labels -------------------------------------------------------------------


def namespace_name(app: str) -> str:
    return app


def deployment_name(app: str, proc_type: str) -> str:
    return f"{app}-{proc_type}"


def env_secret_name(app: str, version: int) -> str:
    return f"{app}-v{version}-env"


def objectstore_secret_name(app: str) -> str:
    return f"{app}-objectstore"


def registry_secret_name(app: str) -> str:
    return f"{app}-registry"


def service_name(app: str) -> str:
    return app


def app_labels(app: str) -> dict[str, str]:
    return {LABEL_HERITAGE: HERITAGE, LABEL_APP: app}


def selector(app: str, proc_type: str) -> dict[str, str]:
    return {LABEL_APP: app, LABEL_TYPE: proc_type, LABEL_HERITAGE: HERITAGE}


def pod_labels(app: str, proc_type: str, version: int) -> dict[str, str]:
    return {**selector(app, proc_type), LABEL_VERSION: f"v{version}"}


def label_selector(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def _meta(name: str, app: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace_name(app),
        "labels": dict(labels) if labels is not None else app_labels(app),
    }


# --- objects ----------------------------------------------------------------------------


def namespace(app: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace_name(app), "labels": app_labels(app)},
    }


def port(desired: DesiredApp) -> int:
    """PORT from the config, else 5000 (the cluster cannot inspect an image's EXPOSE)."""
    return spec.port_for(desired, None)


def environment(desired: DesiredApp) -> dict[str, str]:
    return spec.environment(desired, port(desired))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def env_secret(desired: DesiredApp) -> Manifest:
    """The release's environment; immutable, like the release."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            **_meta(env_secret_name(desired.app, desired.version), desired.app),
            "labels": {**app_labels(desired.app), LABEL_VERSION: f"v{desired.version}"},
        },
        "type": "Opaque",
        "immutable": True,
        "data": {k: _b64(v) for k, v in sorted(environment(desired).items())},
    }


def image_registry(image: str) -> str:
    """The registry host of an image reference; Docker Hub when it names none."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def registry_secret(desired: DesiredApp) -> Manifest | None:
    """A dockerconfigjson Secret from the registry credentials; None without them."""
    username = desired.registry.get("username")
    password = desired.registry.get("password")
    if not username or not password:
        return None
    host = desired.registry.get("hostname") or image_registry(desired.image or "")
    auth = _b64(f"{username}:{password}")
    config = {"auths": {host: {"username": username, "password": password, "auth": auth}}}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(registry_secret_name(desired.app), desired.app),
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": _b64(json.dumps(config, sort_keys=True))},
    }


def _quantity_memory(value: str) -> str:
    size = memory_bytes(value)
    for unit, factor in (("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def _quantity_cpu(value: str) -> str:
    return f"{cpu_millicores(value)}m"


def resources(desired: DesiredApp, proc_type: str) -> dict[str, Any]:
    """Limits (and requests, from a "request/limit" pair) of one process type."""
    limits: dict[str, str] = {}
    requests: dict[str, str] = {}
    for kind, table, convert in (
        ("memory", desired.memory, _quantity_memory),
        ("cpu", desired.cpu, _quantity_cpu),
    ):
        raw = table.get(proc_type)
        if not raw:
            continue
        try:
            limits[kind] = convert(limit_part(raw))
            if "/" in raw:
                requests[kind] = convert(request_part(raw))
        except ValueError:
            continue
    result: dict[str, Any] = {}
    if limits:
        result["limits"] = limits
    if requests:
        result["requests"] = requests
    return result


def probes(desired: DesiredApp, proc_type: str) -> dict[str, Any]:
    """readinessProbe and livenessProbe from the healthcheck config (already Kubernetes
    probes); a routable type without a readiness probe gets a TCP check of its port."""
    config = desired.healthcheck.get(proc_type) or {}
    result: dict[str, Any] = {}
    for kind in ("readinessProbe", "livenessProbe"):
        probe = config.get(kind)
        if isinstance(probe, Mapping):
            result[kind] = json.loads(json.dumps(probe))
    if "readinessProbe" not in result and proc_type in ROUTABLE_TYPES:
        result["readinessProbe"] = {
            "tcpSocket": {"port": port(desired)},
            "periodSeconds": 1,
            "timeoutSeconds": 1,
            "failureThreshold": 1,
        }
    return result


def command(desired: DesiredApp, proc_type: str, options: Options) -> dict[str, Any]:
    """image, command and args of a process type; NotRunnable if the release lacks it."""
    if desired.image is None:
        raise NotRunnable(f"v{desired.version} has no build to run")
    line = desired.procfile.get(proc_type)
    if desired.kind == spec.BUILDPACK:
        if not line:
            raise NotRunnable(f"the Procfile of v{desired.version} has no {proc_type!r} process")
        return {"image": options.slugrunner_image, "args": [line]}
    if proc_type in spec.IMAGE_COMMAND_TYPES or (not line and proc_type == "web"):
        return {"image": desired.image}
    if not line:
        raise NotRunnable(f"the Procfile of v{desired.version} has no {proc_type!r} process")
    return {"image": desired.image, "command": ["/bin/sh", "-c", line]}


def _slug_env(desired: DesiredApp, options: Options) -> list[dict[str, str]]:
    if desired.kind != spec.BUILDPACK:
        return []
    key = desired.image or ""
    store = options.slug_store
    url = store.url(key) if store is not None and "://" not in key else key
    return [{"name": "SLUG_URL", "value": url}]


def fetches_slug(desired: DesiredApp, options: Options) -> bool:
    return desired.kind == spec.BUILDPACK and options.slug_store is not None


def objectstore_secret(app: str, store: SlugStore) -> Manifest:
    """What the slug fetcher reads (images/slugrunner/slugfetch.py), as files."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(objectstore_secret_name(app), app),
        "type": "Opaque",
        "data": {
            "endpoint": _b64(store.endpoint),
            "region": _b64(store.region),
            "access-key": _b64(store.access_key),
            "secret-key": _b64(store.secret_key),
        },
    }


def slug_fetcher(desired: DesiredApp, options: Options) -> dict[str, Any]:
    """The init container that unpacks the slug into the pod's /app (an emptyDir): the
    app's own container never sees the object store's keys."""
    return {
        "name": "fetch-slug",
        "image": options.slugrunner_image,
        "args": ["--fetch"],
        "imagePullPolicy": options.image_pull_policy,
        "env": _slug_env(desired, options),
        "volumeMounts": [
            {"name": "slug", "mountPath": SLUG_DIR},
            {"name": "objectstore", "mountPath": OBJECTSTORE_DIR, "readOnly": True},
        ],
    }


def container(
    desired: DesiredApp, proc_type: str, options: Options, run: str | None = None
) -> dict[str, Any]:
    """The app's container; `run` is a one-off command instead of the type's process."""
    if run is None:
        launch = command(desired, proc_type, options)
    elif desired.image is None:
        raise NotRunnable(f"v{desired.version} has no build to run")
    elif desired.kind == spec.BUILDPACK:
        launch = {"image": options.slugrunner_image, "args": [run]}
    else:
        launch = {"image": desired.image, "command": ["/bin/sh", "-c", run]}
    body: dict[str, Any] = {
        "name": deployment_name(desired.app, proc_type),
        **launch,
        "imagePullPolicy": options.image_pull_policy,
        "envFrom": [{"secretRef": {"name": env_secret_name(desired.app, desired.version)}}],
    }
    if env := _slug_env(desired, options):
        body["env"] = env
    if fetches_slug(desired, options):
        body["volumeMounts"] = [{"name": "slug", "mountPath": SLUG_DIR}]
    if run is None:
        if proc_type in ROUTABLE_TYPES:
            body["ports"] = [{"name": PORT_NAME, "containerPort": port(desired), "protocol": "TCP"}]
        body.update(probes(desired, proc_type))
    if res := resources(desired, proc_type):
        body["resources"] = res
    return body


def pod_spec(
    desired: DesiredApp, proc_type: str, options: Options, run: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "containers": [container(desired, proc_type, options, run)],
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": options.termination_grace_seconds,
    }
    if desired.tags:
        body["nodeSelector"] = dict(sorted(desired.tags.items()))
    if registry_secret(desired) is not None:
        body["imagePullSecrets"] = [{"name": registry_secret_name(desired.app)}]
    if fetches_slug(desired, options):
        body["initContainers"] = [slug_fetcher(desired, options)]
        body["volumes"] = [
            {"name": "slug", "emptyDir": {}},
            {"name": "objectstore", "secret": {
                "secretName": objectstore_secret_name(desired.app), "defaultMode": 0o444}},
        ]  # fmt: skip
    return body


def rolling_update(desired: DesiredApp, options: Options) -> dict[str, Any]:
    """maxSurge from DEIS_DEPLOY_BATCHES (new pods at a time); none unavailable, so the
    old pods keep serving until new ones are ready."""
    batches = policy.deploy_batches(desired.env, options.default_batches)
    surge: int | str = batches if batches is not None else DEFAULT_MAX_SURGE
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": 0}}


def deploy_timeout(desired: DesiredApp, options: Options) -> float:
    return policy.deploy_timeout(desired.env, options.default_timeout)


def deployment(
    desired: DesiredApp,
    proc_type: str,
    options: Options,
    autoscaled: bool = False,
) -> Manifest:
    """The Deployment of one process type. An autoscaled type leaves `replicas` to its
    HorizontalPodAutoscaler (applying it would fight the autoscaler)."""
    name = deployment_name(desired.app, proc_type)
    labels = pod_labels(desired.app, proc_type, desired.version)
    body: dict[str, Any] = {
        "selector": {"matchLabels": selector(desired.app, proc_type)},
        "strategy": rolling_update(desired, options),
        "revisionHistoryLimit": options.revision_history_limit,
        "progressDeadlineSeconds": max(1, math.ceil(deploy_timeout(desired, options))),
        "template": {
            "metadata": {
                "labels": labels,
                "annotations": {ANNOTATION_RELEASE: f"v{desired.version}"},
            },
            "spec": pod_spec(desired, proc_type, options),
        },
    }
    if not autoscaled:
        body = {"replicas": max(desired.structure.get(proc_type, 0), 0), **body}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            **_meta(name, desired.app, labels),
            "annotations": {ANNOTATION_RELEASE: f"v{desired.version}"},
        },
        "spec": body,
    }


def routable_type(desired: DesiredApp) -> str | None:
    """The type the Service sends traffic to: web, else cmd, if the release runs one."""
    for proc_type in ROUTABLE_TYPES:
        if proc_type in desired.structure:
            return proc_type
    for proc_type in ROUTABLE_TYPES:
        if proc_type in desired.procfile:
            return proc_type
    if desired.kind in ("image", "dockerfile"):
        return "cmd" if "cmd" in desired.structure else "web"
    return "web"


def service(desired: DesiredApp) -> Manifest:
    proc_type = routable_type(desired) or "web"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(service_name(desired.app), desired.app),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(desired.app, proc_type),
            "ports": [
                {
                    "name": PORT_NAME,
                    "port": SERVICE_PORT,
                    "targetPort": port(desired),
                    "protocol": "TCP",
                }
            ],
        },
    }


def autoscaler(app: str, proc_type: str, rule: Mapping[str, int]) -> Manifest:
    """An autoscaling/v2 HorizontalPodAutoscaler from {min, max, cpu_percent}."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(deployment_name(app, proc_type), app, selector(app, proc_type)),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": deployment_name(app, proc_type),
            },
            "minReplicas": int(rule["min"]),
            "maxReplicas": int(rule["max"]),
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": int(rule["cpu_percent"]),
                        },
                    },
                }
            ],
        },
    }


def run_pod(desired: DesiredApp, name: str, line: str, options: Options) -> Manifest:
    """A one-off command as a Pod that runs once and stays to be read."""
    body = pod_spec(desired, RUN_TYPE, options, run=line)
    body["restartPolicy"] = "Never"
    body["activeDeadlineSeconds"] = options.run_deadline_seconds
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta(name, desired.app, pod_labels(desired.app, RUN_TYPE, desired.version)),
        "spec": body,
    }


CRON_TYPE = "cron"
LABEL_CRON = "cron"


def cron_job_name(job_name: str) -> str:
    return f"cron-{job_name}"[:52]  # a CronJob's name leaves 11 characters to its Jobs


def cron_job(desired: DesiredApp, job: cron.Job, options: Options) -> Manifest:
    """One `deis cron` job as a batch/v1 CronJob of the release: its image, config (the
    release's env Secret) and limits, never two runs at once, stopped at its timeout."""
    with_memory = desired
    if job.memory:
        with_memory = replace(desired, memory={**desired.memory, RUN_TYPE: job.memory})
    body = pod_spec(with_memory, RUN_TYPE, options, run=job.command)
    body["restartPolicy"] = "Never"
    labels = {**pod_labels(desired.app, CRON_TYPE, desired.version), LABEL_CRON: job.name}
    spec: dict[str, Any] = {
        "schedule": cron.normalized(cron.parse_schedule(job.schedule)),
        "concurrencyPolicy": "Forbid",
        "suspend": job.suspended,
        "successfulJobsHistoryLimit": 3,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": {
            "metadata": {"labels": labels},
            "spec": {
                "activeDeadlineSeconds": job.timeout,
                "backoffLimit": 0,
                "template": {"metadata": {"labels": labels}, "spec": body},
            },
        },
    }
    if job.tz != "UTC":
        spec["timeZone"] = job.tz
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(cron_job_name(job.name), desired.app, labels),
        "spec": spec,
    }


def cron_jobs(desired: DesiredApp, options: Options) -> list[Manifest]:
    return [cron_job(desired, job, options) for job in cron.jobs_of(desired.cron)]


def runnable_types(desired: DesiredApp, options: Options) -> list[str]:
    """The types of the structure that the release can run, sorted; NotRunnable if one
    that should have replicas cannot run (a type scaled to 0 that cannot is left out)."""
    types = []
    for proc_type, count in sorted(desired.structure.items()):
        try:
            command(desired, proc_type, options)
        except NotRunnable:
            if count > 0:
                raise
            continue
        types.append(proc_type)
    return types


def release_objects(
    desired: DesiredApp,
    options: Options,
    autoscale: Mapping[str, Mapping[str, int]] | None = None,
) -> list[Manifest]:
    """Everything a release needs, in the order to apply it (Deployments last but one:
    the Service and autoscalers follow them)."""
    autoscale = autoscale or {}
    objects: list[Manifest] = [namespace(desired.app), env_secret(desired)]
    if (registry := registry_secret(desired)) is not None:
        objects.append(registry)
    if options.slug_store is not None and fetches_slug(desired, options):
        objects.append(objectstore_secret(desired.app, options.slug_store))
    types = runnable_types(desired, options)
    for proc_type in types:
        objects.append(deployment(desired, proc_type, options, proc_type in autoscale))
    objects.append(service(desired))
    for proc_type, rule in sorted(autoscale.items()):
        if proc_type in types:
            objects.append(autoscaler(desired.app, proc_type, rule))
    return objects


def applied_form(live: Mapping[str, Any]) -> Manifest:
    """What to re-apply to bring back an object read from the cluster (for an undo):
    its identity, labels, annotations and spec; nothing the server owns."""
    meta = live.get("metadata") or {}
    kept = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if meta.get(k)}
    result: Manifest = {"apiVersion": live["apiVersion"], "kind": live["kind"], "metadata": kept}
    if "spec" in live:
        result["spec"] = json.loads(json.dumps(live["spec"]))
    return result
