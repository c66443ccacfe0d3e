"""The collector with real podman containers (busybox, as in tests/runtime): what a replica
writes faster than the collector reads is dropped, counted exactly and said as a platform
event; nothing else is lost."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deis.domain.desired import DesiredApp
from deis.logs.collector import CollectingLogs
from tests.logs.live import wait_for
from tests.runtime.conftest import build_image_tarball, podman_missing, purge_leftovers

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(podman_missing() is not None, reason="podman")]

LINES = 30_000
WRITER = (
    f'i=0; while [ $i -lt {LINES} ]; do echo "line $i of a noisy app"; i=$((i+1)); done;'
    " echo done; exec sleep 3600"
)


@pytest.fixture
def podman(tmp_path: Path) -> Iterator[tuple[Any, CollectingLogs, str]]:
    from deis.runtime.podman import PodmanRuntime, purge

    purge_leftovers()
    instance = f"test-{os.getpid()}-{secrets.token_hex(2)}"
    state = tmp_path / "state"
    image = f"localhost/deis-test/busybox:{instance}"
    # a budget far below the writer's pace: 16 KiB a pass, 256 KiB behind before dropping
    logs = CollectingLogs(
        state / "logs" / "apps",
        1_000_000,
        state / "logs" / "containers",
        max_read=16 << 10,
        drop_behind=256 << 10,
    )
    runtime = PodmanRuntime(
        state,
        instance,
        run_stack_image=image,
        grace_seconds=1,
        deploy_timeout=30,
        supervise_interval=0.5,
        shared_image_store=None,
        container_logs=state / "logs" / "containers",
    )
    tarball = tmp_path / "busybox.tar"
    build_image_tarball(tarball)
    runtime.podman.import_image(tarball, image, [f"CMD {json.dumps(['/bin/sh'])}"])
    runtime.start()
    logs.start()
    try:
        yield runtime, logs, image
    finally:
        logs.stop()
        runtime.stop()
        for app in runtime.apps():
            runtime.remove(app)
        runtime.podman.remove_image(image)
        purge(state, instance)


def test_lines_beyond_what_the_collector_keeps_up_with_are_counted_exactly(
    podman: tuple[Any, CollectingLogs, str],
) -> None:
    runtime, logs, image = podman
    app = f"noisy{secrets.token_hex(3)}"
    runtime.deploy(
        DesiredApp(
            app=app,
            version=2,
            image=image,
            kind="image",
            sha="0000002",
            procfile={"worker": WRITER},
            structure={"worker": 1},
            env={},
        )  # fmt: skip
    )

    def all_read() -> bool:
        files = list((logs.container_logs / app).glob("*.log"))
        with logs.collector.lock:
            sources = dict(logs.collector.sources)
        return bool(files) and all(
            f"{app}/{f.name}" in sources
            and sources[f"{app}/{f.name}"].offset == f.stat().st_size > 0
            and b"F done" in f.read_bytes()[-64:]
            for f in files
        )

    wait_for(all_read, 120, "the writer to finish and its file to be read")
    lines = logs.tail(app, 1_000_000).splitlines()
    kept = [line for line in lines if f"{app}[worker." in line and " of a noisy app" in line]
    drops = [line for line in lines if "deis[logs]: dropped " in line]
    assert drops, "the collector kept up: no line was dropped, so nothing was tested"
    dropped = sum(int(line.split("dropped ")[1].split()[0]) for line in drops)
    done = sum(1 for line in lines if line.endswith("]: done"))
    assert len(kept) + done + dropped == LINES + 1
    numbers = [int(line.split("]: line ")[1].split()[0]) for line in kept]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)  # no repeats
    label = drops[0].split(" from ")[1].split()[0]
    assert label.startswith("worker.") and f"{app}[{label}]: " in kept[0]
