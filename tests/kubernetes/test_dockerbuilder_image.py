"""The dockerbuilder image doing a real Dockerfile build as a build pod, outside a cluster.

`ClusterBuilds.build_image` makes its Secret and Pod on the fake API server, and a kubelet
made of podman (podman_kubelet.py) runs that pod: the image of images/dockerbuilder (built
here as `make images` builds it), the env, Secret volume and limits of the pod spec the
code renders, the presigned URLs of moto's S3 server. buildah inside it pulls the app's
`FROM` image from Debian's docker-registry on a free port of 127.0.0.1 (this machine
pulls from no public registry, so the test first pushes the debootstrap base image
there), runs a `RUN` step, and pushes the result back to that registry. The test then
pulls and runs the pushed image with podman.

About 40 s once the images exist (the first run on a machine builds the stack images and
installs buildah into the dockerbuilder image, a few minutes more).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from deis.builder.errors import BuildFailed
from deis.builder.kubernetes import ClusterBuildOptions, ClusterBuilds
from deis.objects.s3 import S3Objects
from deis.platform.registry import Registry
from deis.runtime.kubernetes.client import ApiError, Kube
from deis.stack.definition import base_image

from ..builder.conftest import registry, stack_images  # noqa: F401 - fixtures
from ..coroutines import run as run_coroutine
from ..objects.conftest import s3_endpoint, s3_store  # noqa: F401 - fixtures
from .conftest import REAL, new_app
from .fake_apiserver import FakeApiServer
from .podman_kubelet import PodmanKubelet
from .tls_registry import tls_registry

REPO = Path(__file__).resolve().parents[2]
SHA = "0123456789abcdef0123456789abcdef01234567"
STACK_STORE = "/var/lib/deis/stack-images"
PODMAN = ["podman", "--storage-opt", f"additionalimagestore={STACK_STORE}"]
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""

pytestmark = pytest.mark.skipif(
    bool(REAL), reason="the podman kubelet writes pod logs, which only the fake API server takes"
)


def podman_env(folder: Path) -> dict[str, str]:
    conf = folder / "containers.conf"
    if not conf.exists():
        conf.write_text(CONTAINERS_CONF)
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def podman(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run(  # noqa: S603 - an argument list
        [*PODMAN, *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"podman {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def dockerbuilder(stack_images: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:  # noqa: F811
    """The dockerbuilder image as `make images` builds it, tagged by the hash of its files
    (a machine keeps it, so later runs only check it; checkouts that differ do not share)."""
    files = sorted((REPO / "images" / "dockerbuilder").iterdir())
    digest = hashlib.sha256(b"".join(f.name.encode() + f.read_bytes() for f in files))
    tag = f"test-{digest.hexdigest()[:12]}"
    log = tmp_path_factory.mktemp("dockerbuilder") / "build.log"
    with log.open("w") as out:
        done = subprocess.run(
            ["images/build.sh"],
            cwd=REPO,
            env={
                **os.environ,
                "IMAGES": "dockerbuilder",
                "VERSION": tag,
                "PYTHON": sys.executable,
            },  # fmt: skip
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=1800,
        )
    assert done.returncode == 0, f"make images failed:\n{log.read_text()[-3000:]}"
    return f"deis/dockerbuilder:{tag}"


@dataclass
class Setup:
    kube: Kube
    fake: FakeApiServer
    namespace: str
    objects: S3Objects
    registry: str  # 127.0.0.1:PORT
    base: str  # the FROM image, in that registry
    image: str  # the dockerbuilder
    work: Path
    env: dict[str, str]

    def kubelet(self) -> PodmanKubelet:
        images = {self.image: f"localhost/{self.image}"}
        return PodmanKubelet(self.kube, self.fake, self.namespace, images, PODMAN, self.env,
                             self.work / "pods")  # fmt: skip

    def builds(self, **changes: Any) -> ClusterBuilds:
        options = ClusterBuildOptions(
            namespace=self.namespace,
            dockerbuilder_image=self.image,
            registry=self.registry,
            registry_tls_verify=False,
            memory="2Gi",
            poll_interval=0.2,
        )
        options = dataclasses.replace(options, **changes)
        return ClusterBuilds(self.kube, self.objects, options, api_errors=(ApiError,))

    def app(self, name: str, files: dict[str, str]) -> Path:
        folder = self.work / name / "app"
        folder.mkdir(parents=True)
        for file, text in files.items():
            (folder / file).write_text(text)
        return folder


@pytest.fixture
def setup(
    dockerbuilder: str,
    registry: Registry,  # noqa: F811
    s3_store: S3Objects,  # noqa: F811
    tmp_path: Path,
) -> Iterator[Setup]:
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed")
    env = podman_env(tmp_path)
    address = f"127.0.0.1:{registry.port}"
    base = f"{address}/library/debian:bookworm"
    podman(env, "push", "--tls-verify=false", base_image(), f"docker://{base}")
    server = FakeApiServer().start()
    kube = Kube.connect(str(server.kubeconfig(tmp_path)), timeout=10, backoff=0.01)
    namespace = new_app()
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    try:
        yield Setup(kube, server, namespace, s3_store, address, base, dockerbuilder, tmp_path, env)
    finally:
        kube.close()
        server.stop()


def build(
    setup: Setup,
    kubelet: PodmanKubelet,
    app: str,
    source: Path,
    config: dict[str, str],
    emitted: list[str],
    **options: Any,
) -> Any:
    kubelet.start()

    async def emit(line: str) -> None:
        emitted.append(line)

    try:
        result = run_coroutine(
            setup.builds(**options).build_image(sha=SHA, app=app, app_dir=source, config=config,
                                       build_args=True, timeout=600, emit=emit)
        )  # fmt: skip
    finally:
        kubelet.join(60)
    return result


def test_the_dockerbuilder_builds_and_pushes_a_dockerfile_app(setup: Setup) -> None:
    app = f"db{secrets.token_hex(3)}"
    source = setup.app(app, {
        "Dockerfile": f"FROM {setup.base}\n"
                      "ARG GREETING=unset\n"
                      'RUN echo "$GREETING from buildah" > /greeting && useradd -m web\n'
                      "COPY hello.sh /hello.sh\n"
                      "USER web\n"
                      "EXPOSE 7000\n"
                      'CMD ["/bin/sh", "/hello.sh"]\n',
        "hello.sh": 'cat /greeting; echo "user $(id -un)"\n',
    })  # fmt: skip
    emitted: list[str] = []
    kubelet = setup.kubelet()
    result = build(setup, kubelet, app, source, {"GREETING": "hello", "PORT": "7000"}, emitted)
    image = f"{setup.registry}/{app}:git-0123456"
    assert result.image == image
    assert result.port == 7000  # the image's EXPOSE, through RESULT_URL
    assert "-----> Building the Dockerfile" in emitted
    assert any("STEP 3/7: RUN echo" in line for line in emitted), emitted
    assert f"-----> Pushing {image}" in emitted
    assert all(line.startswith(("-----> ", "       ")) for line in emitted), emitted
    assert kubelet.exit_code == 0
    assert emitted == kubelet.lines  # every line the container wrote reached the push
    with urllib.request.urlopen(f"http://{setup.registry}/v2/{app}/tags/list", timeout=10) as r:
        assert json.load(r)["tags"] == ["git-0123456"]
    try:
        out = podman(setup.env, "run", "--rm", "--network=none", "--tls-verify=false", image)
        assert out.splitlines() == ["hello from buildah", "user web"]
    finally:
        subprocess.run([*PODMAN, "rmi", "-f", image], env=setup.env, capture_output=True)  # noqa: S603
    assert setup.kube.list("v1", "Pod", setup.namespace) == []  # the build cleaned up
    left = setup.kube.list("v1", "Secret", setup.namespace)  # but the namespace's own token
    assert [s for s in left if s.get("type") != "kubernetes.io/service-account-token"] == []


def test_a_failing_run_step_fails_the_build_with_its_output(setup: Setup) -> None:
    app = f"db{secrets.token_hex(3)}"
    source = setup.app(
        app, {"Dockerfile": f"FROM {setup.base}\nRUN echo about to fail && exit 3\n"}
    )
    emitted: list[str] = []
    kubelet = setup.kubelet()
    with pytest.raises(BuildFailed, match="The Dockerfile build failed"):
        build(setup, kubelet, app, source, {}, emitted)
    assert kubelet.exit_code == 20
    assert "       about to fail" in emitted, (emitted, kubelet.lines)
    with urllib.request.urlopen(f"http://{setup.registry}/v2/_catalog", timeout=10) as r:
        assert app not in json.load(r)["repositories"]


def test_a_registry_with_a_private_ca_is_verified_with_the_ca_secret(
    setup: Setup, tmp_path: Path
) -> None:
    with tls_registry(tmp_path / "tls") as private:
        base = f"{private.address}/library/debian:bookworm"
        certs = tmp_path / "certs"
        certs.mkdir()
        shutil.copy(private.ca, certs / "ca.crt")
        podman(setup.env, "push", f"--cert-dir={certs}", base_image(), f"docker://{base}")
        app = f"db{secrets.token_hex(3)}"
        source = setup.app(app, {"Dockerfile": f"FROM {base}\nRUN echo verified > /x\n"})
        tls = {"registry": private.address, "registry_tls_verify": True}
        emitted: list[str] = []
        with pytest.raises(BuildFailed, match="The Dockerfile build failed"):
            build(setup, setup.kubelet(), app, source, {}, emitted, **tls)
        assert any("certificate signed by unknown authority" in line for line in emitted), emitted
        secret = {"apiVersion": "v1", "kind": "Secret",
                  "metadata": {"name": "registry-ca", "namespace": setup.namespace},
                  "stringData": {"ca.crt": private.ca.read_text()}}  # fmt: skip
        setup.kube.create(secret)
        emitted.clear()
        result = build(setup, setup.kubelet(), app, source, {}, emitted,
                       registry_ca_secret="registry-ca", **tls)  # fmt: skip
        assert result.image == f"{private.address}/{app}:git-0123456"
        assert private.get(f"/v2/{app}/tags/list") == {"name": app, "tags": ["git-0123456"]}
