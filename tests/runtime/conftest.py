"""Fixtures of the runtime's end-to-end tests: real podman containers, no registry.

The test image is Debian's busybox-static, imported with `podman import` into the test
instance's own storage. Every test session uses its own instance id (`test-<pid>-<rand>`)
and state dir, and first purges what killed sessions left (instances whose pid is gone).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from deis.domain.desired import DesiredApp
from tests.waiting import wait_for  # noqa: F401 - the runtime tests import it from here

BUSYBOX = Path("/bin/busybox")
APPLETS = [
    "sh", "httpd", "nc", "sleep", "cat", "env", "echo", "ls", "mkdir", "wget", "true",
    "false", "kill", "ps", "ip", "grep", "test", "[", "rm", "touch", "pwd",
]  # fmt: skip
# a web process: writes its environment and release where httpd serves them
WEB = (
    "mkdir -p /tmp/www; env > /tmp/www/env.txt; echo $WORKFLOW_RELEASE > /tmp/www/index.html;"
    " exec httpd -f -p $PORT -h /tmp/www"
)
INSTANCE_RE = re.compile(r"test-(\d+)-[a-z0-9-]+")


def podman_missing() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed"
    if not BUSYBOX.is_file():
        return "busybox-static is not installed (apt-get install busybox-static)"
    if os.geteuid() != 0:
        return "the podman runtime needs root (rootful podman, network namespaces)"
    return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_test_instance(instance: str) -> bool:
    match = INSTANCE_RE.fullmatch(instance)
    return bool(match) and not pid_alive(int(match[1]))


def purge_leftovers() -> None:
    """Purge the instances of earlier test sessions whose process is gone."""
    from deis.runtime.podman import netns, purge

    found: dict[str, Path | None] = {}
    for allocation in netns.Ipam().all():
        if dead_test_instance(allocation.instance):
            found[allocation.instance] = Path(allocation.state_dir)
    if netns.NETNS_DIR.is_dir():
        for entry in netns.NETNS_DIR.iterdir():
            instance = entry.name.removeprefix("deis-").rsplit("-", 1)[0]
            if entry.name.startswith("deis-test-") and dead_test_instance(instance):
                found.setdefault(instance, None)
    run_root = Path("/run/deis-podman")
    if run_root.is_dir():
        for entry in run_root.iterdir():
            try:
                instance = (entry / "instance").read_text().strip()
            except OSError:
                continue
            if dead_test_instance(instance):
                found.setdefault(instance, None)
    for instance, state_dir in found.items():
        purge(state_dir or Path("/nonexistent"), instance)


def build_image_tarball(path: Path) -> None:
    with tarfile.open(path, "w") as archive:
        archive.add(BUSYBOX, "bin/busybox")
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            archive.addfile(link)
        bash = b'#!/bin/sh\nexec /bin/sh "$@"\n'  # a stand-in for bash on the "run stack"
        info = tarfile.TarInfo("bin/bash")
        info.size, info.mode = len(bash), 0o755
        import io

        archive.addfile(info, io.BytesIO(bash))
        for directory, mode in (("tmp", 0o1777), ("www", 0o755)):
            entry = tarfile.TarInfo(directory)
            entry.type, entry.mode = tarfile.DIRTYPE, mode
            archive.addfile(entry)


class PeerLog:
    """Records what the runtime tells the router."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str, list[str]]] = []
        self.lock = threading.Lock()

    def __call__(self, app: str, peers: list[str]) -> None:
        with self.lock:
            self.calls.append((time.monotonic(), app, list(peers)))

    def of(self, app: str) -> list[list[str]]:
        with self.lock:
            return [p for _, a, p in self.calls if a == app]

    def last(self, app: str) -> list[str] | None:
        history = self.of(app)
        return history[-1] if history else None


@pytest.fixture(scope="session")
def instance_id() -> str:
    reason = podman_missing()
    if reason:
        pytest.skip(reason)
    purge_leftovers()
    return f"test-{os.getpid()}-{secrets.token_hex(2)}"


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deis-runtime") / "state"


@pytest.fixture(scope="session")
def peer_log() -> PeerLog:
    return PeerLog()


class EventLog:
    """Records the platform events the runtime writes to apps' logs."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, app: str, message: str) -> None:
        with self.lock:
            self.events.append((app, message))

    def of(self, app: str) -> list[str]:
        with self.lock:
            return [m for a, m in self.events if a == app]


@pytest.fixture(scope="session")
def event_log() -> EventLog:
    return EventLog()


@pytest.fixture(scope="session")
def runtime(
    instance_id: str, state_dir: Path, peer_log: PeerLog, event_log: EventLog
) -> Iterator[Any]:
    from deis.runtime.podman import PodmanRuntime, purge

    image = f"localhost/deis-test/busybox:{instance_id}"
    rt = PodmanRuntime(
        state_dir,
        instance_id,
        on_peers=peer_log,
        on_event=event_log,
        run_stack_image=image,
        grace_seconds=1,
        run_timeout=5,
        deploy_timeout=20,
        supervise_interval=0.5,
        shared_image_store=None,
    )
    tarball = state_dir.parent / "busybox.tar"
    build_image_tarball(tarball)
    rt.podman.import_image(
        tarball, image, [f"CMD {json.dumps(['/bin/sh', '-c', WEB])}", "WORKDIR /"]
    )
    rt.test_image = image
    rt.start()
    try:
        yield rt
    finally:
        rt.stop()
        for app in rt.apps():
            rt.remove(app)
        rt.podman.remove_image(image)
        purge(state_dir, instance_id)


@pytest.fixture
def make_desired(runtime: Any) -> Callable[..., DesiredApp]:
    def make(app: str, version: int = 1, **changes: Any) -> DesiredApp:
        values: dict[str, Any] = {
            "app": app,
            "version": version,
            "image": runtime.test_image,
            "kind": "image",
            "sha": f"{version:07d}",
            "procfile": {"web": WEB},
            "structure": {"web": 1},
            "env": {"GREETING": "hello"},
        }
        values.update(changes)
        return DesiredApp(**values)

    return make


@pytest.fixture
def app_name(request: pytest.FixtureRequest, runtime: Any) -> Iterator[str]:
    """A fresh app name for one test; the app is removed afterwards."""
    name = f"t{secrets.token_hex(3)}-{request.node.name[5:20].replace('_', '-').strip('-')}"
    name = re.sub(r"[^a-z0-9-]", "", name.lower()).strip("-")
    yield name
    runtime.remove(name)
