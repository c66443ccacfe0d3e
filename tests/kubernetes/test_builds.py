"""Builds as pods (deis.builder.kubernetes), on the fake API server and moto's S3 server.

The test plays the kubelet: it finds the build pod, does what the slugbuilder or the
dockerbuilder would (reads the source from the presigned URL, writes the slug and the
result), and sets the pod's status and log through the API. The log lines are written
one at a time while the build waits, so the build must follow the log to see them. On a
real cluster (DEIS_TEST_KUBECONFIG) the tests that need pod logs are skipped, as a
nodeless cluster serves none.
"""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from deis import buildpacks
from deis.builder.buildpack import slug_key
from deis.builder.errors import BuildFailed, BuildRefused
from deis.builder.kubernetes import (
    ClusterBuildOptions,
    ClusterBuilds,
    env_secret,
    pod_manifest,
)
from deis.objects.filesystem import FilesystemObjects
from deis.objects.s3 import S3Objects
from deis.platform.kubernetes import wiring
from deis.runtime.kubernetes.client import ApiError, Kube, path

from ..coroutines import run as run_coroutine
from ..objects.conftest import s3_endpoint, s3_store  # noqa: F401 - fixtures
from .conftest import REAL, ControlPlane, new_app
from .fake_apiserver import FakeApiServer
from .validation import validate

SHA = "0123456789abcdef0123456789abcdef01234567"
NO_LOGS = "the test writes the build pods' logs on the fake API server only"
needs_logs = pytest.mark.skipif(bool(REAL), reason=NO_LOGS)


@dataclass
class Env:
    kube: Kube
    fake: FakeApiServer | None
    namespace: str
    objects: S3Objects

    def builds(self, **options: Any) -> ClusterBuilds:
        opts = ClusterBuildOptions(namespace=self.namespace, poll_interval=0.05, **options)
        return ClusterBuilds(self.kube, self.objects, opts, api_errors=(ApiError,))


@pytest.fixture(params=["real"] if REAL else ["fake", "real"])
def env(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    s3_store: S3Objects,  # noqa: F811
) -> Iterator[Env]:
    """The fake API server, and a real control plane (no node runs the build pods there:
    the test plays their kubelet by patching their status, as on the fake)."""
    namespace = new_app()
    server = None
    if request.param == "real":
        marker = request.node.get_closest_marker("skipif")
        if marker is not None and marker.kwargs.get("reason") == NO_LOGS:
            pytest.skip(NO_LOGS)
        plane: ControlPlane = request.getfixturevalue("real_control_plane")
        kube = Kube.connect(str(plane.kubeconfig), timeout=10)
    else:
        server = FakeApiServer().start()
        kube = Kube.connect(str(server.kubeconfig(tmp_path)), timeout=5, backoff=0.01)
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    try:
        yield Env(kube, server, namespace, s3_store)
    finally:
        kube.delete("v1", "Namespace", namespace)
        kube.close()
        if server is not None:
            server.stop()


def app_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "work" / "app"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        data: bytes = response.read()
    return data


def upload(url: str, data: bytes) -> None:
    request = urllib.request.Request(
        url, data=data, method="PUT", headers={"Content-Type": "application/octet-stream"}
    )
    urllib.request.urlopen(request, timeout=10).close()


def tgz(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def untgz(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


@dataclass
class PlayedKubelet:
    """Plays the kubelet for the one build pod of a namespace, in a thread."""

    env: Env
    act: Callable[[PlayedKubelet, dict[str, Any]], None]
    emitted: list[str] = field(default_factory=list)
    seen: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> PlayedKubelet:
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                pods = self.env.kube.list("v1", "Pod", self.env.namespace)
                if pods:
                    pod = pods[0]
                    secret = self.env.kube.get(
                        "v1", "Secret", f"{pod['metadata']['name']}-env", self.env.namespace
                    )
                    self.seen = {"pod": pod, "secret": secret}
                    self.act(self, pod)
                    return
                time.sleep(0.02)
            raise AssertionError("no build pod was made")
        except BaseException as error:
            self.error = error

    def env_of(self, pod: dict[str, Any]) -> dict[str, str]:
        return {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}

    def status(self, pod: dict[str, Any], state: dict[str, Any], phase: str) -> None:
        container = {"name": "build", "image": "x", "imageID": "", "ready": False,
                     "restartCount": 0, "state": state}  # fmt: skip
        self.env.kube.merge_patch(
            path("v1", "Pod", self.env.namespace, pod["metadata"]["name"]),
            {"status": {"phase": phase, "containerStatuses": [container]}},
            "status",
        )

    def running(self, pod: dict[str, Any]) -> None:
        self.status(pod, {"running": {"startedAt": "2026-01-01T00:00:00Z"}}, "Running")

    def exit(self, pod: dict[str, Any], code: int) -> None:
        state = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error"}}
        self.status(pod, state, "Succeeded" if code == 0 else "Failed")

    def say(self, pod: dict[str, Any], line: str) -> None:
        """A line of the container's output; returns once the build has shown it."""
        assert self.env.fake is not None
        self.env.fake.append_log(self.env.namespace, pod["metadata"]["name"], line)
        deadline = time.monotonic() + 30
        while line not in self.emitted:
            assert time.monotonic() < deadline, f"the build did not stream {line!r}"
            time.sleep(0.01)


def run(coroutine: Any) -> Any:
    return run_coroutine(coroutine)


async def build(kubelet: PlayedKubelet, builds: ClusterBuilds, **args: Any) -> Any:
    async def emit(line: str) -> None:
        kubelet.emitted.append(line)

    kubelet.start()
    method = builds.build_image if "build_args" in args else builds.run_buildpacks
    try:
        return await method(sha=SHA, emit=emit, **args)
    finally:
        kubelet.thread.join(10)
        if kubelet.error is not None:
            raise kubelet.error


def gone(env: Env, name: str) -> bool:
    return (
        env.kube.get("v1", "Pod", name, env.namespace) is None
        and env.kube.get("v1", "Secret", f"{name}-env", env.namespace) is None
    )


# --- manifests ------------------------------------------------------------------------


@pytest.mark.parametrize("memory", ["", "2147483648"])
def test_build_manifests_validate(memory: str) -> None:
    from deis.builder.kubernetes import BuildPod

    options = ClusterBuildOptions(namespace="deis", memory=memory)
    pod = BuildPod("myapp", SHA, "myapp-build-0123456-abcdef", "deis/slugbuilder:1",
                   {"SOURCE_URL": "http://s3/x", "SLUG_URL": "http://s3/y"}, 905, ("--verbose",))  # fmt: skip
    manifest = pod_manifest(pod, options)
    validate(manifest)
    validate(env_secret(pod, "deis", {"A": "1", "not a file/name": "x", "DATABASE_URL": "pg://"}))
    spec = manifest["spec"]
    assert spec["restartPolicy"] == "Never" and spec["activeDeadlineSeconds"] == 905
    assert spec["automountServiceAccountToken"] is False
    secret = env_secret(pod, "deis", {"A": "1", "not a file/name": "x"})
    assert secret["stringData"] == {"A": "1"}
    if memory:
        assert spec["containers"][0]["resources"] == {"limits": {"memory": memory}}


def test_a_dockerbuilder_pod_mounts_the_registry_ca_secret() -> None:
    from deis.builder.kubernetes import REGISTRY_CA_DIR, BuildPod

    pod = BuildPod("myapp", SHA, "myapp-build-0123456-abcdef", "deis/dockerbuilder:1",
                   {"IMAGE": "r:5000/myapp:git-0123456"}, 905,
                   secrets=(("registry-ca", REGISTRY_CA_DIR),))  # fmt: skip
    manifest = pod_manifest(pod, ClusterBuildOptions(namespace="deis"))
    validate(manifest)
    (container,) = manifest["spec"]["containers"]
    assert container["volumeMounts"][1] == {
        "name": "secret-0", "mountPath": REGISTRY_CA_DIR, "readOnly": True
    }  # fmt: skip
    volume = manifest["spec"]["volumes"][1]
    assert volume == {
        "name": "secret-0",
        "secret": {"secretName": "registry-ca", "defaultMode": 0o444},
    }
    settings = wiring.KubernetesSettings.from_env({"DEIS_KUBERNETES_REGISTRY_CA_SECRET": "reg-ca"})
    assert settings.builds.registry_ca_secret == "reg-ca"
    assert wiring.KubernetesSettings.from_env({}).builds.registry_ca_secret == ""


# --- buildpack builds ------------------------------------------------------------------


@needs_logs
def test_a_buildpack_build_runs_as_a_pod_and_streams_its_log(env: Env, tmp_path: Path) -> None:
    source = app_dir(tmp_path, {"app.py": "print('hi')\n", "requirements.txt": "flask\n"})
    slug = tgz({"./app.py": b"compiled"})

    def act(k: PlayedKubelet, pod: dict[str, Any]) -> None:
        given = k.env_of(pod)
        k.seen["source"] = untgz(fetch(given["SOURCE_URL"]))
        k.running(pod)
        k.say(pod, "-----> Python app detected")
        upload(given["SLUG_URL"], slug)
        upload(given["RESULT_URL"], b"default_process_types:\n  web: python app.py\n")
        k.say(pod, "-----> Compressing...")
        k.exit(pod, 0)

    kubelet = PlayedKubelet(env, act)
    result = run(
        build(kubelet, env.builds(), app="myapp", app_dir=source, work=tmp_path / "work",
              config={"SECRET": "s3cr3t", "BUILDPACK_X": "y"}, timeout=60)
    )  # fmt: skip
    assert kubelet.emitted == ["-----> Python app detected", "-----> Compressing..."]
    assert result.slug is None  # the pod stored it
    assert result.default_process_types == {"web": "python app.py"}
    assert env.objects.get(slug_key("myapp", SHA)) == slug
    assert kubelet.seen["source"] == {"app.py": b"print('hi')\n", "requirements.txt": b"flask\n"}
    pod = kubelet.seen["pod"]
    given = kubelet.env_of(pod)
    assert given["DEIS_EXPLICIT"] == "0"
    assert given["DEIS_BUILDPACKS"].split() == [
        f"/opt/deis/buildpacks/{name}" for name in buildpacks.BUILTIN_ORDER
    ]
    assert given["SOURCE_VERSION"] == SHA and given["DEIS_APP"] == "myapp"
    assert "s3cr3t" not in json.dumps(pod)  # the config is in the Secret only
    assert kubelet.seen["secret"] is not None
    assert gone(env, pod["metadata"]["name"])
    assert env.objects.keys("builds") == []  # the source and the result are removed


@needs_logs
def test_a_failed_buildpack_build_says_why(env: Env, tmp_path: Path) -> None:
    source = app_dir(tmp_path, {"README": "nothing to build\n"})

    def act(k: PlayedKubelet, pod: dict[str, Any]) -> None:
        k.running(pod)
        k.say(pod, "-----> looking for a buildpack")
        k.exit(pod, 3)  # runner.sh: no buildpack detects the app

    kubelet = PlayedKubelet(env, act)
    with pytest.raises(BuildFailed, match="No buildpack detects this app"):
        run(build(kubelet, env.builds(), app="myapp", app_dir=source, work=tmp_path / "work",
                  config={}, timeout=60))  # fmt: skip
    assert kubelet.emitted == ["-----> looking for a buildpack"]
    assert gone(env, kubelet.seen["pod"]["metadata"]["name"])
    assert not env.objects.exists(slug_key("myapp", SHA))


def test_a_pod_that_cannot_start_fails_the_build(env: Env, tmp_path: Path) -> None:
    source = app_dir(tmp_path, {"index.html": "hi\n"})

    def act(k: PlayedKubelet, pod: dict[str, Any]) -> None:
        k.status(pod, {"waiting": {"reason": "ImagePullBackOff",
                                    "message": "Back-off pulling image deis/slugbuilder"}},
                 "Pending")  # fmt: skip

    kubelet = PlayedKubelet(env, act)
    with pytest.raises(BuildFailed, match="cannot start: ImagePullBackOff Back-off pulling"):
        run(build(kubelet, env.builds(), app="myapp", app_dir=source, work=tmp_path / "work",
                  config={}, timeout=60))  # fmt: skip
    assert gone(env, kubelet.seen["pod"]["metadata"]["name"])


def test_a_build_past_its_time_is_stopped(env: Env, tmp_path: Path) -> None:
    source = app_dir(tmp_path, {"index.html": "hi\n"})
    kubelet = PlayedKubelet(env, lambda k, pod: None)  # never scheduled
    with pytest.raises(TimeoutError):
        run(build(kubelet, env.builds(), app="myapp", app_dir=source, work=tmp_path / "work",
                  config={}, timeout=1))  # fmt: skip
    assert gone(env, kubelet.seen["pod"]["metadata"]["name"])


def test_git_buildpacks_are_cloned_in_the_pod_and_local_ones_refused(
    env: Env, tmp_path: Path
) -> None:
    source = app_dir(tmp_path, {".buildpacks": "python\nhttps://example.com/bp.git#v2\n"})

    def act(k: PlayedKubelet, pod: dict[str, Any]) -> None:
        k.exit(pod, 4)

    kubelet = PlayedKubelet(env, act)
    with pytest.raises(BuildFailed, match="failed to compile"):
        run(build(kubelet, env.builds(), app="myapp", app_dir=source, work=tmp_path / "work",
                  config={}, timeout=60))  # fmt: skip
    given = kubelet.env_of(kubelet.seen["pod"])
    assert given["DEIS_BUILDPACKS"] == "/opt/deis/buildpacks/python /tmp/buildpacks/custom-1"
    assert given["DEIS_BUILDPACK_GIT"] == "1=https://example.com/bp.git#v2"
    assert given["DEIS_EXPLICIT"] == "1"
    with pytest.raises(BuildRefused, match="git URLs only"):
        run(env.builds().run_buildpacks(app="myapp", sha=SHA, app_dir=source,
                                        work=tmp_path / "work", config={"BUILDPACK_URL": "/srv/bp"},
                                        timeout=60, emit=lambda line: asyncio.sleep(0)))  # fmt: skip


# --- Dockerfile builds -------------------------------------------------------------------


@needs_logs
def test_a_dockerfile_build_runs_on_the_dockerbuilder(env: Env, tmp_path: Path) -> None:
    source = app_dir(tmp_path, {"Dockerfile": "FROM debian:bookworm\nEXPOSE 8080\n"})

    def act(k: PlayedKubelet, pod: dict[str, Any]) -> None:
        given = k.env_of(pod)
        assert "Dockerfile" in untgz(fetch(given["SOURCE_URL"]))
        k.running(pod)
        k.say(pod, "-----> Building the Dockerfile")
        upload(given["RESULT_URL"], b'{"8080/tcp": {}}')
        k.exit(pod, 0)

    kubelet = PlayedKubelet(env, act)
    result = run(
        build(kubelet, env.builds(registry="registry.test:5000", dockerbuilder_image="db:1"),
              app="myapp", app_dir=source, config={"TOKEN": "t"}, build_args=True, timeout=60)
    )  # fmt: skip
    assert result.image == "registry.test:5000/myapp:git-0123456"
    assert result.port == 8080
    assert "EXPOSE 8080" in result.dockerfile
    pod = kubelet.seen["pod"]
    given = kubelet.env_of(pod)
    assert pod["spec"]["containers"][0]["image"] == "db:1"
    assert given["IMAGE"] == result.image and given["DEIS_BUILD_ARGS"] == "1"
    assert given["REGISTRY_TLS_VERIFY"] == "false"
    assert kubelet.seen["secret"]["data"]["TOKEN"]  # build args come from the Secret
    assert gone(env, pod["metadata"]["name"])


@needs_logs
@pytest.mark.parametrize(
    ("code", "message"),
    [(21, "could not be pushed to the registry"), (22, "could not report its exposed ports")],
)
def test_a_failed_push_is_named(env: Env, tmp_path: Path, code: int, message: str) -> None:
    source = app_dir(tmp_path, {"Dockerfile": "FROM debian:bookworm\n"})

    def act(k: PlayedKubelet, pod: dict[str, Any]) -> None:
        k.running(pod)
        k.say(pod, "-----> Pushing")
        k.exit(pod, code)

    kubelet = PlayedKubelet(env, act)
    with pytest.raises(BuildFailed, match=message):
        run(build(kubelet, env.builds(), app="myapp", app_dir=source, config={},
                  build_args=False, timeout=60))  # fmt: skip
    assert kubelet.seen["secret"].get("data") in (None, {})  # no build args: no config


# --- wiring ------------------------------------------------------------------------------


def test_builds_in_the_cluster_need_a_store_that_signs_urls(tmp_path: Path) -> None:
    settings = wiring.KubernetesSettings.from_env(
        {"DEIS_KUBERNETES_NAMESPACE": "plat", "DEIS_BUILD_MEMORY": "2g",
         "DEIS_KUBERNETES_SLUGBUILDER_IMAGE": "r.example/deis/slugbuilder:1"}
    )  # fmt: skip
    assert settings.builds.namespace == "plat"
    assert settings.builds.memory == str(2 * 1024**3)
    assert settings.builds.slugbuilder_image == "r.example/deis/slugbuilder:1"
    assert settings.builds.registry == "deis-registry.plat.svc.cluster.local:5000"
    with pytest.raises(wiring.KubernetesSettingsError, match="DEIS_OBJECTS=s3"):
        wiring.make_builds(settings, object(), FilesystemObjects(tmp_path))  # type: ignore[arg-type]


@needs_logs
def test_a_pod_that_stores_no_slug_fails_the_build(env: Env, tmp_path: Path) -> None:
    source = app_dir(tmp_path, {"index.html": "hi\n"})

    def act(k: PlayedKubelet, pod: dict[str, Any]) -> None:
        k.running(pod)
        k.say(pod, "-----> Static app detected")
        k.exit(pod, 0)  # but nothing was uploaded

    kubelet = PlayedKubelet(env, act)
    with pytest.raises(BuildFailed, match="without storing a slug"):
        run(build(kubelet, env.builds(), app="myapp", app_dir=source, work=tmp_path / "work",
                  config={}, timeout=60))  # fmt: skip
