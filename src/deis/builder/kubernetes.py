"""Builds in the cluster (DEIS_RUNTIME=kubernetes): each build is a Pod.

A buildpack build runs on the slugbuilder image, a Dockerfile build on the dockerbuilder
image (buildah). The builder puts the source tarball in the object store and hands the
pod presigned URLs: the source to read, the slug (or the bin/release output, the build
cache) to write, so the pod holds no credentials. The app's config reaches the pod as a
Secret mounted at /tmp/env. The pod's log is followed and every line goes to the
`git push` terminal as it is written; the build waits for the pod to end, reads its exit
status (and the reason for a pod that never started), and deletes the pod and its Secret.

`ClusterBuilds.run_buildpacks` and `.build_image` take the arguments of the local
functions (`buildpack.run_buildpacks`, `dockerfile.build_image`), so the pipeline runs
either without knowing which.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import tarfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from deis import buildpacks
from deis.builder.buildpack import (
    BuildpackResult,
    BuildpackSource,
    buildpack_failure,
    requested,
    slug_key,
)
from deis.builder.dockerfile import ImageResult, exposed_port
from deis.builder.errors import BuildFailed, BuildRefused
from deis.builder.release_yaml import default_process_types

log = logging.getLogger("deis.builder.kubernetes")

Manifest = dict[str, Any]
Emit = Callable[[str], Awaitable[None]]

BUILTIN_DIR = "/opt/deis/buildpacks"  # in the slugbuilder image
CUSTOM_DIR = "/tmp/buildpacks"
LABEL_COMPONENT = "component"
COMPONENT = "build"
# which image a build pod runs: the install's NetworkPolicies tell them apart (only a
# dockerbuilder pushes to the cluster's registry)
LABEL_BUILDER = "builder"
SLUGBUILDER = "slugbuilder"
DOCKERBUILDER = "dockerbuilder"
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
_ARG_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# the entrypoints' own exit statuses (images/*/…builder.sh)
SOURCE_FAILED = 10
STORE_FAILED = 11
BUILDPACK_FETCH_FAILED = 12
DOCKER_BUILD_FAILED = 20
PUSH_FAILED = 21
RESULT_FAILED = 22  # the image's exposed ports could not be read or stored
# where the dockerbuilder finds the registry's CA (images/dockerbuilder/dockerbuilder.sh)
REGISTRY_CA_DIR = "/var/run/secrets/deis/registry-ca"
# a container waiting for one of these will not start by waiting longer
HOPELESS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


class KubeApi(Protocol):
    """What builds need of the runtime's Kubernetes client (`runtime.kubernetes.Kube`)."""

    def create(self, manifest: Mapping[str, Any]) -> Manifest: ...
    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Manifest | None: ...
    def delete(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> bool: ...
    def follow_log(
        self, namespace: str, pod: str, *, since_time: str | None = None, idle_timeout: float = 60
    ) -> Iterator[tuple[str, str]]: ...


class SignedObjects(Protocol):
    """An object store that can presign URLs (`objects.s3.S3Objects`)."""

    def put(self, key: str, data: bytes | BinaryIO | Path) -> int: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def url(self, key: str, method: str = "GET", expires: int = 3600) -> str: ...


@dataclass(frozen=True)
class ClusterBuildOptions:
    namespace: str = "deis"  # where build pods run (the platform's namespace)
    slugbuilder_image: str = "deis/slugbuilder:latest"
    dockerbuilder_image: str = "deis/dockerbuilder:latest"
    registry: str = "deis-registry.deis.svc.cluster.local:5000"  # where images are pushed
    registry_tls_verify: bool = False
    registry_ca_secret: str = ""  # a Secret whose ca.crt signed the registry's certificate
    image_pull_policy: str = "IfNotPresent"
    memory: str = ""  # DEIS_BUILD_MEMORY as a Kubernetes quantity, e.g. 2Gi
    poll_interval: float = 1.0
    start_timeout: float = 600.0  # how long a pod may stay unscheduled or pulling


@dataclass(frozen=True)
class BuildPod:
    """What one build pod is given."""

    app: str
    sha: str
    name: str
    image: str
    env: dict[str, str]
    deadline_seconds: int
    args: tuple[str, ...] = ()
    secrets: tuple[tuple[str, str], ...] = ()  # more Secret volumes: (Secret, mount path)
    builder: str = SLUGBUILDER  # or DOCKERBUILDER


# --- manifests (pure) -------------------------------------------------------------------


def build_name(app: str, sha: str) -> str:
    return f"{app}-build-{sha[:7]}-{secrets.token_hex(3)}"


def labels(app: str) -> dict[str, str]:
    return {"heritage": "deis", "app": app, LABEL_COMPONENT: COMPONENT}


def env_secret(pod: BuildPod, namespace: str, config: Mapping[str, str]) -> Manifest:
    """The app's config as files for /tmp/env (names a file can have)."""
    data = {k: v for k, v in sorted(config.items()) if _NAME_RE.fullmatch(k)}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"{pod.name}-env", "namespace": namespace, "labels": labels(pod.app)},
        "type": "Opaque",
        "stringData": data,
    }


def pod_manifest(pod: BuildPod, options: ClusterBuildOptions) -> Manifest:
    container: dict[str, Any] = {
        "name": "build",
        "image": pod.image,
        "imagePullPolicy": options.image_pull_policy,
        "env": [{"name": k, "value": v} for k, v in sorted(pod.env.items())],
        "volumeMounts": [{"name": "env", "mountPath": "/tmp/env", "readOnly": True}],
    }
    volumes: list[dict[str, Any]] = [
        {"name": "env", "secret": {"secretName": f"{pod.name}-env", "defaultMode": 0o400}}
    ]
    for n, (secret, mount_path) in enumerate(pod.secrets):
        volumes.append(
            {"name": f"secret-{n}", "secret": {"secretName": secret, "defaultMode": 0o444}}
        )
        container["volumeMounts"].append(
            {"name": f"secret-{n}", "mountPath": mount_path, "readOnly": True}
        )
    if pod.args:
        container["args"] = list(pod.args)
    if options.memory:
        container["resources"] = {"limits": {"memory": options.memory}}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod.name,
            "namespace": options.namespace,
            "labels": {**labels(pod.app), LABEL_BUILDER: pod.builder},
        },
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": pod.deadline_seconds,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "containers": [container],
            "volumes": volumes,
        },
    }


def buildpack_paths(sources: list[BuildpackSource]) -> tuple[list[str], list[str]]:
    """The buildpack folders in the slugbuilder, and the git ones it clones (N=URL#REF)."""
    if not sources:
        return [f"{BUILTIN_DIR}/{name}" for name in buildpacks.BUILTIN_ORDER], []
    paths, clones = [], []
    for n, source in enumerate(sources):
        if source.kind == "builtin":
            paths.append(f"{BUILTIN_DIR}/{source.value}")
        elif source.kind == "git" and not source.value.startswith("file://"):
            paths.append(f"{CUSTOM_DIR}/custom-{n}")
            clones.append(f"{n}={source.value}" + (f"#{source.ref}" if source.ref else ""))
        else:
            raise BuildRefused(
                f"The buildpack {source.value} is a folder of the controller's machine;"
                " builds in the cluster take built-in buildpacks or git URLs only."
            )
    return paths, clones


# --- reading the pod (pure) ---------------------------------------------------------------


@dataclass(frozen=True)
class PodState:
    done: bool
    exit_code: int | None = None
    reason: str = ""  # why it failed or cannot start
    hopeless: bool = False  # waiting for something that will not come


def pod_state(pod: Mapping[str, Any]) -> PodState:
    status = pod.get("status") or {}
    phase = status.get("phase", "Pending")
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if "terminated" in state:
            ended = state["terminated"]
            reason = ended.get("reason", "") or ""
            if ended.get("message"):
                reason = f"{reason}: {ended['message']}" if reason else str(ended["message"])
            return PodState(True, int(ended.get("exitCode", 1)), reason)
        waiting = state.get("waiting") or {}
        if waiting.get("reason") in HOPELESS:
            message = waiting.get("message") or ""
            return PodState(False, None, f"{waiting['reason']} {message}".strip(), True)
    if phase in ("Succeeded", "Failed"):
        code = 0 if phase == "Succeeded" else 1
        return PodState(True, code, status.get("reason") or status.get("message") or "")
    return PodState(False)


def started(pod: Mapping[str, Any]) -> bool:
    for container in (pod.get("status") or {}).get("containerStatuses") or []:
        state = container.get("state") or {}
        if "running" in state or "terminated" in state:
            return True
    return False


def slug_failure(code: int, reason: str) -> BuildFailed:
    if code == SOURCE_FAILED:
        return BuildFailed("The build pod could not fetch the source from the object store.")
    if code == STORE_FAILED:
        return BuildFailed("The build pod could not store the slug in the object store.")
    if code == BUILDPACK_FETCH_FAILED:
        return BuildFailed("The build pod could not fetch a buildpack (its output is above).")
    known = buildpack_failure(code)
    if known is not None:
        return known
    return BuildFailed(f"The build pod failed (exit status {code}). {reason}".strip())


def docker_failure(code: int, reason: str) -> BuildFailed:
    if code == SOURCE_FAILED:
        return BuildFailed("The build pod could not fetch the source from the object store.")
    if code == DOCKER_BUILD_FAILED:
        return BuildFailed("The Dockerfile build failed (buildah; its output is above).")
    if code == PUSH_FAILED:
        return BuildFailed("The image was built but could not be pushed to the registry.")
    if code == RESULT_FAILED:
        return BuildFailed(
            "The image was pushed, but the build pod could not report its exposed ports"
            " (its output is above)."
        )
    return BuildFailed(f"The build pod failed (exit status {code}). {reason}".strip())


def source_tarball(app_dir: Path, target: Path) -> None:
    """The app folder as a gzipped tarball, written to disk (never held in memory)."""
    with tarfile.open(target, "w:gz", compresslevel=1) as tar:
        for child in sorted(app_dir.iterdir()):
            if child.name != ".git":
                tar.add(child, arcname=child.name)


# --- running a build pod ------------------------------------------------------------------


class ClusterBuilds:
    def __init__(
        self,
        kube: KubeApi,
        objects: SignedObjects,
        options: ClusterBuildOptions | None = None,
        *,
        api_errors: tuple[type[Exception], ...] = (),
    ) -> None:
        self.kube = kube
        self.objects = objects
        self.options = options or ClusterBuildOptions()
        self.api_errors = api_errors

    async def run_buildpacks(
        self,
        *,
        app: str,
        sha: str,
        app_dir: Path,
        work: Path,
        config: dict[str, str],
        timeout: float,
        emit: Emit,
        **_local: Any,  # cache_dir, state_dir, memory, ...: the local runner's
    ) -> BuildpackResult:
        sources = requested(app_dir, config)
        paths, clones = buildpack_paths(sources)
        name = build_name(app, sha)
        result_key = f"builds/{app}/{name}/release.yml"
        cache_key = f"caches/{app}.tgz"
        expires = int(timeout) + 600
        env = {
            "DEIS_APP": app,
            "SOURCE_VERSION": sha,
            "DEIS_BUILDPACKS": " ".join(paths),
            "DEIS_EXPLICIT": "1" if sources else "0",
            "SLUG_URL": self.objects.url(slug_key(app, sha), "PUT", expires),
            "RESULT_URL": self.objects.url(result_key, "PUT", expires),
            "CACHE_URL": self.objects.url(cache_key, "GET", expires),
            "CACHE_PUT_URL": self.objects.url(cache_key, "PUT", expires),
        }
        if clones:
            env["DEIS_BUILDPACK_GIT"] = " ".join(clones)
        pod = BuildPod(app, sha, name, self.options.slugbuilder_image, env, int(timeout) + 5)
        code, reason = await self._run(pod, app_dir, work, config, timeout, emit)
        try:
            if code != 0:
                raise slug_failure(code, reason)
            if not await asyncio.to_thread(self.objects.exists, slug_key(app, sha)):
                raise BuildFailed("The build pod ended without storing a slug.")
            try:
                release = await asyncio.to_thread(self.objects.get, result_key)
            except KeyError:
                release = b""
        finally:
            await asyncio.to_thread(self.objects.delete, result_key)
        defaults = default_process_types(release.decode(errors="replace")) if release else {}
        return BuildpackResult(None, defaults, [])

    async def build_image(
        self,
        *,
        app: str,
        sha: str,
        app_dir: Path,
        config: dict[str, str],
        build_args: bool,
        timeout: float,
        emit: Emit,
        **_local: Any,  # state_dir, network: the local builder's
    ) -> ImageResult:
        dockerfile = (app_dir / "Dockerfile").read_text(errors="replace")
        name = build_name(app, sha)
        image = f"{self.options.registry}/{app}:git-{sha[:7]}"
        result_key = f"builds/{app}/{name}/ports.json"
        env = {
            "IMAGE": image,
            "RESULT_URL": self.objects.url(result_key, "PUT", int(timeout) + 600),
            "DEIS_BUILD_ARGS": "1" if build_args else "0",
            "REGISTRY_TLS_VERIFY": "true" if self.options.registry_tls_verify else "false",
        }
        ca = self.options.registry_ca_secret
        pod = BuildPod(app, sha, name, self.options.dockerbuilder_image, env, int(timeout) + 5,
                       secrets=((ca, REGISTRY_CA_DIR),) if ca else (),
                   builder=DOCKERBUILDER)  # fmt: skip
        work = app_dir.parent  # the pipeline's work folder (the source is work/app)
        args = {k: v for k, v in config.items() if _ARG_RE.fullmatch(k)} if build_args else {}
        code, reason = await self._run(pod, app_dir, work, args, timeout, emit)
        try:
            if code != 0:
                raise docker_failure(code, reason)
            try:
                ports = json.loads(await asyncio.to_thread(self.objects.get, result_key) or b"null")
            except (KeyError, ValueError):
                ports = None
        finally:
            await asyncio.to_thread(self.objects.delete, result_key)
        return ImageResult(image=image, port=exposed_port(ports), dockerfile=dockerfile)

    async def _run(
        self,
        pod: BuildPod,
        app_dir: Path,
        work: Path,
        config: Mapping[str, str],
        timeout: float,
        emit: Emit,
    ) -> tuple[int, str]:
        """Put the source, run the pod to its end streaming its log; (exit code, reason)."""
        source_key = f"builds/{pod.app}/{pod.name}/source.tgz"
        tarball = work / f"{pod.name}-source.tgz"
        await asyncio.to_thread(source_tarball, app_dir, tarball)
        await asyncio.to_thread(self.objects.put, source_key, tarball)
        tarball.unlink(missing_ok=True)
        pod = BuildPod(
            pod.app,
            pod.sha,
            pod.name,
            pod.image,
            {**pod.env, "SOURCE_URL": self.objects.url(source_key, "GET", int(timeout) + 600)},
            pod.deadline_seconds,
            pod.args,
            pod.secrets,
            pod.builder,
        )
        loop = asyncio.get_running_loop()
        stop = threading.Event()

        async def say(line: str) -> None:
            await emit(line)

        def forward(line: str) -> None:
            asyncio.run_coroutine_threadsafe(say(line), loop).result(timeout=60)

        try:
            await asyncio.to_thread(
                self.kube.create, env_secret(pod, self.options.namespace, config)
            )
            await asyncio.to_thread(self.kube.create, pod_manifest(pod, self.options))
            return await asyncio.to_thread(self._follow, pod.name, timeout, forward, stop)
        finally:
            stop.set()
            await asyncio.to_thread(self._cleanup, pod.name, source_key)

    def _follow(
        self, name: str, timeout: float, forward: Callable[[str], None], stop: threading.Event
    ) -> tuple[int, str]:
        """Follow the pod's log until it ends, resuming a broken stream after the last
        line seen; then its exit status."""
        namespace = self.options.namespace
        deadline = time.monotonic() + timeout
        start_deadline = time.monotonic() + min(timeout, self.options.start_timeout)
        last = ""
        while not stop.is_set():
            live = self.kube.get("v1", "Pod", name, namespace)
            if live is None:
                raise BuildFailed("The build pod was deleted before it finished.")
            state = pod_state(live)
            if state.hopeless:
                raise BuildFailed(f"The build pod cannot start: {state.reason}")
            if started(live):
                try:
                    for stamp, line in self.kube.follow_log(namespace, name, since_time=last):
                        if stop.is_set():
                            break
                        if last and stamp <= last:
                            continue  # seen before the stream was resumed
                        last = stamp
                        forward(line)
                except self.api_errors as error:
                    log.info("following the log of %s: %s; resuming", name, error)
                live = self.kube.get("v1", "Pod", name, namespace)
                if live is None:
                    raise BuildFailed("The build pod was deleted before it finished.")
                state = pod_state(live)
            if state.done:
                assert state.exit_code is not None
                return state.exit_code, state.reason
            now = time.monotonic()
            if now >= deadline:
                raise TimeoutError
            if not started(live) and now >= start_deadline:
                raise BuildFailed(
                    "The build pod did not start within"
                    f" {self.options.start_timeout:.0f} seconds ({state.reason or 'Pending'})."
                )
            stop.wait(self.options.poll_interval)
        return 1, "The build was stopped."

    def _cleanup(self, name: str, source_key: str) -> None:
        for kind, what in (("Pod", name), ("Secret", f"{name}-env")):
            try:
                self.kube.delete("v1", kind, what, self.options.namespace)
            except Exception:
                log.exception("deleting the build %s %s failed", kind, what)
        try:
            self.objects.delete(source_key)
        except Exception:
            log.exception("deleting the build source %s failed", source_key)
