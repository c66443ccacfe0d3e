"""The client's retries, backoff and timeouts."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deis.runtime.kubernetes.client import ApiError, Kube, path

from .fake_apiserver import FakeApiServer


@pytest.fixture
def config(fake: FakeApiServer, tmp_path: Path) -> Path:
    return fake.kubeconfig(tmp_path)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def kube(config: Path, sleeps: list[float]) -> Iterator[Kube]:
    client = Kube.connect(str(config), timeout=2, attempts=4, backoff=0.1, sleep=sleeps.append)
    yield client
    client.close()


NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}


def test_transient_failures_are_retried_with_growing_backoff(
    kube: Kube, fake: FakeApiServer, sleeps: list[float]
) -> None:
    fake.fail_next = [503, 429, 500]
    assert kube.apply(NS)["metadata"]["name"] == "n"
    assert len(sleeps) == 3
    assert sleeps[0] <= 0.1 and sleeps[2] > sleeps[0]  # jittered, doubling


def test_it_gives_up_after_its_attempts(kube: Kube, fake: FakeApiServer) -> None:
    fake.fail_next = [503] * 4
    with pytest.raises(ApiError) as error:
        kube.get("v1", "Namespace", "n")
    assert error.value.status == 503
    assert fake.fail_next == []


def test_conflicts_of_applies_are_retried_but_not_of_creates(
    kube: Kube, fake: FakeApiServer
) -> None:
    fake.fail_next = [409]
    kube.apply(NS)
    with pytest.raises(ApiError) as error:
        kube.create(NS)
    assert error.value.status == 409
    fake.fail_next = [404]
    assert kube.get("v1", "Namespace", "n") is None  # a 404 is an answer, not a failure


def test_requests_time_out(kube: Kube, fake: FakeApiServer) -> None:
    fake.delay = 1.0
    started = time.monotonic()
    with pytest.raises(ApiError) as error:
        kube.request("GET", path("v1", "Namespace", "n"), timeout=0.2)
    assert error.value.status == 0  # unreachable in time, after the attempts
    assert time.monotonic() - started < 3.5  # four 1 s answers would take 4 s


def test_an_unreachable_server(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a free port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "config"
    config.write_text(
        '{"apiVersion": "v1", "kind": "Config", "current-context": "c",'
        f' "clusters": [{{"name": "c", "cluster": {{"server": "http://127.0.0.1:{port}"}}}}],'
        ' "users": [{"name": "u", "user": {"token": "t"}}],'
        ' "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}'
    )
    slept: list[float] = []
    kube = Kube.connect(str(config), timeout=1, attempts=3, sleep=slept.append)
    with pytest.raises(ApiError) as error:
        kube.get("v1", "Namespace", "n")
    assert error.value.status == 0 and len(slept) == 2


def test_the_token_is_sent(kube: Kube, fake: FakeApiServer) -> None:
    seen: list[str] = []
    original = fake.handle

    def spy(method, url, headers, raw):  # type: ignore[no-untyped-def]
        seen.append(headers.get("Authorization", ""))
        return original(method, url, headers, raw)

    fake.handle = spy  # type: ignore[method-assign]
    kube.get("v1", "Namespace", "n")
    assert seen == ["Bearer fake-token"]


def test_unknown_kinds_and_missing_namespaces_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        path("v1", "Nonsense", "n", "x")
    with pytest.raises(ValueError):
        path("v1", "Secret", None, "x")
    assert path("v1", "Namespace", None, "n") == "/api/v1/namespaces/n"
    assert path("apps/v1", "Deployment", "a", "b", "status") == (
        "/apis/apps/v1/namespaces/a/deployments/b/status"
    )
