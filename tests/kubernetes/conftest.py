"""Fixtures of the Kubernetes tests: a cluster to talk to, through the real client.

With DEIS_TEST_KUBECONFIG the tests use that API server (a cluster without nodes is
enough: a test kubelet patches pod status); without it, the in-process fake API server
of fake_apiserver.py, on a free port of 127.0.0.1.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deis.runtime.kubernetes import Kube, KubernetesRuntime, Options

from .fake_apiserver import FakeApiServer
from .kubelet import Kubelet

REAL = os.environ.get("DEIS_TEST_KUBECONFIG")


@dataclass
class Cluster:
    kube: Kube
    fake: FakeApiServer | None
    kubelet: Kubelet
    kubeconfig: Path

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


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    if REAL:
        kube = Kube.connect(REAL, timeout=10)
        kubelet = Kubelet(kube).start()
        try:
            yield Cluster(kube, None, kubelet, Path(REAL))
        finally:
            kubelet.stop()
            kube.close()
        return
    server = FakeApiServer().start()
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
