"""Fixtures of the Kubernetes tests: a cluster to talk to, through the real client.

`cluster` runs each test twice: on the in-process fake API server of fake_apiserver.py
(on a free port of 127.0.0.1), and on a real control plane (`real_control_plane`): the
cluster of DEIS_TEST_KUBECONFIG, else one that scripts/kube-control-plane.sh starts for
the session from the binaries in its machine cache; without either, the real variant is
skipped with a line saying how to get one. A test kubelet (kubelet.py) runs the pods: on a
real API server it registers a Node, binds the tests' pods to it and serves their logs.
With DEIS_TEST_KUBECONFIG set, only the real variant runs.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deis.runtime.kubernetes import Kube, KubernetesRuntime, Options

from .fake_apiserver import FakeApiServer
from .kubelet import Kubelet
from .kubelet_node import Node

REAL = os.environ.get("DEIS_TEST_KUBECONFIG")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "kube-control-plane.sh"
KUBE_CACHE = Path(os.environ.get("KUBE_CACHE", "/var/cache/deis/kube"))
NO_CONTROL_PLANE = (
    "no real Kubernetes control plane: build one with "
    "`KUBE_SRC=/path/to/kubernetes scripts/kube-control-plane.sh build` "
    "(or set DEIS_TEST_KUBECONFIG)"
)


@dataclass
class ControlPlane:
    kubeconfig: Path
    ca_cert: Path | None  # the CA that signs the test kubelet's serving certificate
    ca_key: Path | None


def cached_binaries() -> bool:
    bin_dir = KUBE_CACHE / "current" / "bin"
    return all(
        os.access(bin_dir / b, os.X_OK) for b in ("kube-apiserver", "kube-controller-manager")
    )


def real_available() -> bool:
    return bool(REAL) or (cached_binaries() and shutil.which("etcd") is not None)


@pytest.fixture(scope="session")
def real_control_plane() -> Iterator[ControlPlane]:
    """DEIS_TEST_KUBECONFIG's cluster, or etcd, kube-apiserver and kube-controller-manager
    started by scripts/kube-control-plane.sh in a temporary state directory (about 10 s),
    stopped by the PIDs it wrote at the end of the session."""
    if REAL:
        pki = Path(REAL).parent / "pki"  # the script's layout, when it started that cluster
        ca, key = pki / "ca.crt", pki / "ca.key"
        yield ControlPlane(Path(REAL), ca if ca.exists() else None, key if key.exists() else None)
        return
    if not real_available():
        pytest.skip(NO_CONTROL_PLANE)
    # under TMPDIR/deis-test-*: scripts/clean-test-leftovers.py stops what a killed run left
    state = Path(tempfile.mkdtemp(prefix="deis-test-kube-"))
    (state / "owner.pid").write_text(f"{os.getpid()}\n")
    env = {**os.environ, "KUBE_STATE": str(state), "KUBE_CACHE": str(KUBE_CACHE)}
    started = subprocess.run(  # noqa: S603
        [str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    try:
        if started.returncode != 0:
            pytest.fail(f"{SCRIPT.name} start failed:\n{started.stdout}{started.stderr}")
        yield ControlPlane(state / "kubeconfig", state / "pki" / "ca.crt", state / "pki" / "ca.key")
    finally:
        subprocess.run(  # noqa: S603
            [str(SCRIPT), "stop"], env=env, capture_output=True, timeout=60, check=False
        )
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def real_node(
    real_control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Node]:
    node = Node(
        f"deis-test-node-{secrets.token_hex(3)}",
        tmp_path_factory.mktemp("kubelet"),
        real_control_plane.ca_cert,
        real_control_plane.ca_key,
    ).start(real_control_plane.kubeconfig)
    yield node
    node.stop()


@dataclass
class Cluster:
    kube: Kube
    fake: FakeApiServer | None
    kubelet: Kubelet
    kubeconfig: Path
    node: Node | None = None  # the test kubelet's Node on a real API server

    def set_log(self, namespace: str, pod: str, text: str) -> None:
        """What a pod wrote: on the fake API server, or at the test kubelet's endpoint
        that a real API server proxies `pods/log` to."""
        if self.fake is not None:
            self.fake.set_log(namespace, pod, text)
        elif self.node is not None and self.node.server is not None:
            for line in text.splitlines():
                self.node.write(namespace, pod, line)
        else:
            pytest.skip("this cluster's pods have no logs the test can write")

    @property
    def serves_logs(self) -> bool:
        return self.fake is not None or (self.node is not None and self.node.server is not None)

    def runtime(self, options: Options | None = None) -> KubernetesRuntime:
        return KubernetesRuntime(self.kube, options, poll_interval=0.05, namespace_timeout=30)


def new_app() -> str:
    return f"t{secrets.token_hex(4)}"


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeApiServer]:
    server = FakeApiServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["real"] if REAL else ["fake", "real"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    if request.param == "real":
        plane: ControlPlane = request.getfixturevalue("real_control_plane")
        node: Node = request.getfixturevalue("real_node")
        kube = Kube.connect(str(plane.kubeconfig), timeout=10)
        kubelet = Kubelet(kube, node=node).start()
        try:
            yield Cluster(kube, None, kubelet, plane.kubeconfig, node)
        finally:
            kubelet.stop()
            kube.close()
        return
    # deleted pods stay Terminating a moment, as the real server's do until their kubelet
    # confirms: the contract must hold with that too
    server = FakeApiServer(pod_grace=0.2).start()
    config = server.kubeconfig(tmp_path)
    kube = Kube.connect(str(config), timeout=5, backoff=0.01)
    kubelet = Kubelet(kube, server).start()
    try:
        yield Cluster(kube, server, kubelet, config)
    finally:
        kubelet.stop()
        kube.close()
        server.stop()


@pytest.fixture
def app(cluster: Cluster) -> Iterator[str]:
    name = new_app()
    yield name
    cluster.kube.delete("v1", "Namespace", name)
