"""The platform's registry process (Debian's docker-registry): started, adopted, supervised,
stopped and purged; its HTTP API as the collector uses it. Real processes throughout."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from deis.platform.registry import (
    Registry,
    RegistryClient,
    RegistryError,
    purge,
    running_pid,
    split_reference,
)
from tests.platform.conftest import Instance, free_port, http

MakeInstance = Callable[[], Instance]

pytestmark = pytest.mark.skipif(
    shutil.which("docker-registry") is None,
    reason="docker-registry is not installed (scripts/install.sh installs it)",
)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    registry = Registry(tmp_path / "state", free_port(), supervise_interval=0.2)
    try:
        yield registry
    finally:
        registry.stop()


def wait_for(condition: object, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.05)


def test_start_adopt_supervise_and_stop(registry: Registry) -> None:
    registry.start()
    pid = registry.pid()
    assert pid is not None
    wait_for(registry.answers)  # (one slow answer on a loaded machine is no failure)
    config = json.loads(registry.paths.config.read_text())
    assert config["http"]["addr"] == f"127.0.0.1:{registry.port}"
    assert config["storage"]["filesystem"]["rootdirectory"] == str(registry.paths.data)
    assert config["storage"]["delete"]["enabled"] is True
    assert oct(registry.paths.config.stat().st_mode & 0o777) == "0o600"

    again = Registry(registry.paths.root.parent, registry.port)
    again.start()  # a restarted platform adopts the registry that runs
    assert again.pid() == pid
    again._stopping.set()  # stop its supervisor only; the first one stops the process

    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: registry.restarts == 1 and registry.pid() not in (None, pid))
    wait_for(registry.answers)

    registry.stop()
    assert registry.pid() is None and not registry.paths.pid_file.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{registry.url}/v2/", timeout=2, trust_env=False)


def test_a_changed_port_restarts_it(tmp_path: Path) -> None:
    first = Registry(tmp_path / "state", free_port())
    first.start()
    old_pid = first.pid()
    first._stopping.set()
    second = Registry(tmp_path / "state", free_port())
    try:
        second.start()
        assert second.pid() not in (None, old_pid)
        wait_for(second.answers)
        assert not first.answers()
    finally:
        second.stop()


def test_a_port_in_use_is_said_plainly(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        registry = Registry(tmp_path / "state", port)
        with pytest.raises(RegistryError, match=f"cannot listen on 127.0.0.1:{port}: another"):
            registry.start()
    assert registry.pid() is None


def test_a_broken_binary_is_said_plainly(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "state", free_port(), binary=str(tmp_path / "nope"))
    with pytest.raises(RegistryError, match="cannot run"):
        registry.start()


def test_deisctl_runs_it_reports_it_and_purges_it(make_instance: MakeInstance) -> None:
    platform = make_instance()
    port = free_port()
    up = platform.deisctl(
        "up", "--api-port", str(platform.api_port), "--runtime", "record", "--router", "none",
        "--builder", "git", "--ssh-port", str(free_port()), "--registry-port", str(port),
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    paths = Registry(platform.state_dir, port).paths
    pid = running_pid(paths)
    assert pid is not None
    status = platform.deisctl("status").stdout
    assert f"Registry:     127.0.0.1:{port} (docker-registry, pid {pid}, answers /v2/)" in status

    os.kill(int((platform.state_dir / "platform.pid").read_text()), signal.SIGKILL)
    assert running_pid(paths) == pid  # a crashed platform leaves it serving
    assert "not running" in platform.deisctl("status").stdout
    down = platform.deisctl("down", "--purge")
    assert "Stopped the registry (docker-registry) left running." in down.stdout
    assert running_pid(paths) is None
    wait_for(lambda: not _alive(pid))


def test_deisctl_up_refuses_a_registry_port_in_use(make_instance: MakeInstance) -> None:
    platform = make_instance()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        up = platform.deisctl(
            "up", "--api-port", str(platform.api_port), "--runtime", "record", "--router",
            "none", "--builder", "git", "--ssh-port", str(free_port()),
            "--registry-port", str(port),
        )  # fmt: skip
    assert up.returncode == 1
    assert f"the registry cannot listen on 127.0.0.1:{port}: another program" in up.stderr
    with pytest.raises(httpx.ConnectError):
        http("GET", f"{platform.url}/healthz")


def test_platform_without_builder_or_podman_runs_no_registry(make_instance: MakeInstance) -> None:
    platform = make_instance()
    assert platform.up().returncode == 0
    assert (
        "Registry:     none (images are neither built nor run on this machine)"
        in platform.deisctl("status").stdout
    )
    assert not (platform.state_dir / "registry").exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"


# --- the HTTP API, as the collector uses it ----------------------------------------------


def upload(registry: Registry, repository: str, tags: list[str], payload: bytes) -> str:
    """A one-layer image put with the registry's own API; answers the manifest's digest."""
    base = f"{registry.url}/v2/{repository}"
    digests = []
    for blob in (payload, json.dumps({"architecture": "amd64", "os": "linux"}).encode()):
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        start = httpx.post(f"{base}/blobs/uploads/", timeout=10, trust_env=False)
        location = start.headers["Location"]
        location = location if location.startswith("http") else registry.url + location
        sep = "&" if "?" in location else "?"
        done = httpx.put(f"{location}{sep}digest={digest}", content=blob, timeout=10)
        assert done.status_code == 201, done.text
        digests.append((digest, len(blob)))
    (layer, layer_size), (config, config_size) = digests
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": config,
            "size": config_size,
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "digest": layer,
                "size": layer_size,
            }
        ],
    }
    body = json.dumps(manifest).encode()
    for tag in tags:
        put = httpx.put(
            f"{base}/manifests/{tag}",
            content=body,
            headers={"Content-Type": manifest["mediaType"]},  # type: ignore[dict-item]
            timeout=10,
        )
        assert put.status_code == 201, put.text
    return "sha256:" + hashlib.sha256(body).hexdigest()


def test_split_reference() -> None:
    assert split_reference("127.0.0.1:5000/team/api:1.4") == ("127.0.0.1:5000", "team/api", "1.4")
    assert split_reference("127.0.0.1:5000/api") == ("127.0.0.1:5000", "api", "latest")


def test_delete_keeps_a_manifest_a_kept_image_shares(registry: Registry) -> None:
    registry.start()
    client = RegistryClient(registry.address)
    shared = upload(registry, "app", ["git-aaaaaaa", "git-bbbbbbb"], b"layer one")
    own = upload(registry, "app", ["git-ccccccc"], b"layer two")
    old, kept, other = (f"{registry.address}/app:git-{c * 7}" for c in "abc")
    assert client.holds(old) and not client.holds("quay.io/app:1")
    assert client.digest(old) == shared and client.digest(other) == own

    assert client.delete(old, keep={client.digest(kept) or ""}) is False
    assert sorted(client.tags("app")) == ["git-aaaaaaa", "git-bbbbbbb", "git-ccccccc"]

    assert client.delete(other, keep={shared}) is True
    assert sorted(client.tags("app")) == ["git-aaaaaaa", "git-bbbbbbb"]
    assert client.digest(other) is None and client.delete(other, keep=set()) is False

    # The layer only the deleted image used is reclaimed when the registry starts again.
    layer_two = "sha256:" + hashlib.sha256(b"layer two").hexdigest()
    blob = registry.paths.data / "docker/registry/v2/blobs/sha256" / layer_two[7:9] / layer_two[7:]
    assert blob.is_dir()
    registry.stop()
    registry.start()
    assert not blob.exists()
    assert sorted(client.tags("app")) == ["git-aaaaaaa", "git-bbbbbbb"]


def test_purge_without_a_registry_is_quiet(tmp_path: Path) -> None:
    assert purge(tmp_path) is False


@pytest.mark.parametrize(
    ("runtime", "builder", "registry"),
    [
        ("podman", "git", "127.0.0.1:5100"),
        ("podman", "none", "127.0.0.1:5100"),
        ("record", "git", "127.0.0.1:5100"),
        ("record", "none", ""),
        ("kubernetes", "git", ""),  # the cluster has its own registry
    ],
)
def test_which_platforms_run_a_registry(runtime: str, builder: str, registry: str) -> None:
    from deis.settings import Settings

    settings = Settings(runtime=runtime, builder=builder, registry_port=5100)
    assert settings.local_registry == registry
