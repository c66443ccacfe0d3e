"""Wiring the Kubernetes adapters from DEIS_KUBERNETES_* variables (the composition root
calls these when DEIS_RUNTIME=kubernetes / DEIS_ROUTER=kubernetes / DEIS_LOGS=kubernetes).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deis.builder.config import parse_size
from deis.builder.kubernetes import ClusterBuildOptions, ClusterBuilds
from deis.objects.s3 import ObjectStoreError, S3Config
from deis.ports import Logs, Objects
from deis.router.cert_manager import CertManager
from deis.router.kubernetes import KubernetesRouter, RouterOptions, parse_issuer
from deis.runtime import policy
from deis.runtime.kubernetes import ApiError, Kube, KubernetesRuntime, Options
from deis.runtime.kubernetes.addon_servers import AddonOptions, KubernetesAddons
from deis.runtime.kubernetes.logs import KubernetesLogs
from deis.runtime.kubernetes.manifests import SlugStore


class KubernetesSettingsError(ValueError):
    pass


def _pair(value: str, default_namespace: str) -> tuple[str, str]:
    namespace, _, name = value.rpartition("/")
    return namespace or default_namespace, name


@dataclass(frozen=True)
class KubernetesSettings:
    kubeconfig: str | None = None  # None: $KUBECONFIG/~/.kube/config, or in-cluster
    context: str | None = None
    api_timeout: float = 15.0
    runtime: Options = field(default_factory=Options)
    router: RouterOptions = field(default_factory=RouterOptions)
    builds: ClusterBuildOptions = field(default_factory=ClusterBuildOptions)
    addons: AddonOptions = field(default_factory=AddonOptions)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KubernetesSettings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(f"DEIS_KUBERNETES_{name}", "").strip()
            return value or None

        try:
            platform_ns = get("NAMESPACE") or "deis"
            gateway_ns, gateway = _pair(get("GATEWAY") or "deis", platform_ns)
            maint_ns, maint = _pair(get("MAINTENANCE_SERVICE") or "deis-maintenance", platform_ns)
            batches = get("DEPLOY_BATCHES") or env.get(policy.BATCHES_KEY)
            timeout = get("DEPLOY_TIMEOUT") or env.get(policy.TIMEOUT_KEY)
            routing = get("ROUTING") or "auto"
            if routing not in ("auto", "gateway", "ingress"):
                raise ValueError("DEIS_KUBERNETES_ROUTING must be auto, gateway or ingress")
            runtime = Options(
                slug_store=slug_store(env),
                slugrunner_image=get("SLUGRUNNER_IMAGE") or Options.slugrunner_image,
                run_deadline_seconds=int(get("RUN_TIMEOUT") or Options.run_deadline_seconds),
                default_batches=int(batches) if batches else None,
                default_timeout=float(timeout) if timeout else policy.DEFAULT_TIMEOUT,
            )
            router = RouterOptions(
                cert_issuer=parse_issuer(get("CERT_ISSUER")),
                mode=routing,
                gateway_name=gateway,
                gateway_namespace=gateway_ns,
                http_listener=get("HTTP_LISTENER") or "http",
                https_listener=get("HTTPS_LISTENER") or "https",
                ingress_class=get("INGRESS_CLASS"),
                maintenance_service=maint,
                maintenance_namespace=maint_ns,
                controller_service=get("CONTROLLER_SERVICE") or "deis-controller",
                controller_namespace=platform_ns,
            )
            memory = env.get("DEIS_BUILD_MEMORY", "").strip()
            builds = ClusterBuildOptions(
                namespace=platform_ns,
                slugbuilder_image=get("SLUGBUILDER_IMAGE") or ClusterBuildOptions.slugbuilder_image,
                dockerbuilder_image=get("DOCKERBUILDER_IMAGE")
                or ClusterBuildOptions.dockerbuilder_image,
                registry=env.get("DEIS_REGISTRY_HOST", "").strip()
                or f"deis-registry.{platform_ns}.svc.cluster.local:5000",
                registry_tls_verify=(get("REGISTRY_TLS_VERIFY") or "false").lower()
                in ("1", "true", "yes", "on"),
                registry_ca_secret=get("REGISTRY_CA_SECRET") or "",
                memory=str(parse_size(memory)) if memory else "",
            )
            addons = AddonOptions(
                image=get("ADDON_IMAGE") or AddonOptions.image,
                ready_timeout=float(get("ADDON_TIMEOUT") or AddonOptions.ready_timeout),
            )
            return cls(
                addons=addons,
                kubeconfig=env.get("DEIS_KUBECONFIG") or None,
                context=get("CONTEXT"),
                api_timeout=float(get("API_TIMEOUT") or 15.0),
                runtime=runtime,
                router=router,
                builds=builds,
            )
        except ValueError as error:
            raise KubernetesSettingsError(str(error)) from None


def slug_store(env: Mapping[str, str]) -> SlugStore | None:
    """With DEIS_OBJECTS=s3, the store apps' pods fetch slugs from (its DEIS_S3_* settings)."""
    if env.get("DEIS_OBJECTS", "").strip() != "s3":
        return None
    try:
        config = S3Config.from_env(env)
    except ObjectStoreError as error:
        raise ValueError(error.message) from None
    return SlugStore(
        endpoint=config.endpoint or f"https://s3.{config.region}.amazonaws.com",
        bucket=config.bucket,
        region=config.region,
        prefix=config.prefix,
        access_key=config.access_key,
        secret_key=config.secret_key,
    )


def connect(settings: KubernetesSettings) -> Kube:
    return Kube.connect(settings.kubeconfig, settings.context, timeout=settings.api_timeout)


def make_runtime(settings: KubernetesSettings, kube: Kube) -> KubernetesRuntime:
    return KubernetesRuntime(kube, settings.runtime)


def make_router(settings: KubernetesSettings, kube: Kube) -> KubernetesRouter:
    router = KubernetesRouter(kube, settings.router, api_errors=(ApiError,))
    router.start()  # asks the cluster once whether it serves the Gateway API
    return router


def make_cert_manager(settings: KubernetesSettings, kube: Kube) -> CertManager:
    issuer = settings.router.cert_issuer
    assert issuer is not None, "only wired when the operator named an issuer"
    return CertManager(kube, issuer, api_errors=(ApiError,))


def make_addons(kube: Kube, objects: Objects) -> KubernetesAddons:
    """The add-ons' servers on the cluster; backups need presigned URLs (DEIS_OBJECTS=s3)."""
    settings = KubernetesSettings.from_env()
    signed: Any = objects if callable(getattr(objects, "url", None)) else None
    return KubernetesAddons(kube, settings.addons, signed)


def make_logs(runtime: KubernetesRuntime, events: Logs) -> KubernetesLogs:
    return KubernetesLogs(runtime, events)


def make_builds(settings: KubernetesSettings, kube: Kube, objects: Objects) -> ClusterBuilds:
    """Builds as pods; they need an object store that presigns URLs (DEIS_OBJECTS=s3)."""
    if not callable(getattr(objects, "url", None)):
        raise KubernetesSettingsError(
            "Builds in the cluster need an object store the build pods can reach:"
            " set DEIS_OBJECTS=s3 (and DEIS_S3_ENDPOINT, DEIS_S3_BUCKET, keys)."
        )
    signed: Any = objects
    return ClusterBuilds(kube, signed, settings.builds, api_errors=(ApiError,))


def use_cluster_builds(pipeline: Any, objects: Objects) -> ClusterBuilds:
    """Point the builder's pipeline at build pods instead of local podman."""
    settings = KubernetesSettings.from_env()
    builds = make_builds(settings, connect(settings), objects)
    pipeline.run_buildpacks = builds.run_buildpacks
    pipeline.build_image = builds.build_image
    return builds
