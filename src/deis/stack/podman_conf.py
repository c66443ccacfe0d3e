"""The platform's own podman configuration, under its state directory.

Every podman call gets CONTAINERS_CONF and CONTAINERS_STORAGE_CONF pointing here, so the
platform neither needs nor changes the machine's podman settings.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from deis.stack.definition import STACK_STORE

# A machine-wide, read-only store of stack images every platform instance may read.
SHARED_IMAGE_STORE = STACK_STORE
INSTANCE_FILE = "instance-id"
INSTANCE_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
# podman's run state (runroot, tmp_dir: reboot detection, conmon's sockets) lives on /run,
# per instance, under a short hash: conmon's attach socket lives below the runroot, in a
# path that must stay under the 108 bytes of a Unix socket address. (A runroot under a
# long state dir makes every attached `podman run` hang.)
RUN_ROOT = Path("/run/deis-podman")

NOFILE = "20000:20000"
NPROC = "32768:32768"
LOG_SIZE_MAX = 10 * 1024 * 1024


@dataclass(frozen=True)
class PodmanPaths:
    directory: Path
    containers_conf: Path
    storage_conf: Path
    graphroot: Path
    runroot: Path
    tmp_dir: Path
    run_dir: Path  # on /run: runroot and tmp_dir, gone at reboot as they must be

    def env(self) -> dict[str, str]:
        return {
            "CONTAINERS_CONF": str(self.containers_conf),
            "CONTAINERS_STORAGE_CONF": str(self.storage_conf),
        }


def paths_for(state_dir: Path, instance_id: str) -> PodmanPaths:
    directory = state_dir / "runtime" / "podman"
    run_dir = RUN_ROOT / hashlib.sha256(instance_id.encode()).hexdigest()[:8]
    return PodmanPaths(
        directory=directory,
        containers_conf=directory / "containers.conf",
        storage_conf=directory / "storage.conf",
        graphroot=directory / "storage",
        runroot=run_dir / "storage",
        tmp_dir=run_dir / "tmp",
        run_dir=run_dir,
    )


def _toml_str(value: str | Path) -> str:
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def containers_conf(paths: PodmanPaths) -> str:
    return "\n".join(
        [
            "[containers]",
            f'default_ulimits = ["nofile={NOFILE}", "nproc={NPROC}"]',
            f"log_size_max = {LOG_SIZE_MAX}",
            "",
            "[engine]",
            'runtime = "runc"',
            'cgroup_manager = "cgroupfs"',
            'events_logger = "file"',
            f"events_logfile_path = {_toml_str(paths.directory / 'events.log')}",
            f"tmp_dir = {_toml_str(paths.tmp_dir)}",
            f"static_dir = {_toml_str(paths.graphroot / 'libpod')}",
            f"volume_path = {_toml_str(paths.graphroot / 'volumes')}",
            "",
            "[network]",
            f"network_config_dir = {_toml_str(paths.directory / 'networks')}",
            "",
        ]
    )


def storage_conf(paths: PodmanPaths, shared_store: Path | None) -> str:
    lines = [
        "[storage]",
        'driver = "overlay"',
        f"graphroot = {_toml_str(paths.graphroot)}",
        f"runroot = {_toml_str(paths.runroot)}",
    ]
    if shared_store is not None:
        lines += ["", "[storage.options]", f"additionalimagestores = [{_toml_str(shared_store)}]"]
    return "\n".join(lines) + "\n"


def write_config(
    state_dir: Path, instance_id: str, shared_store: Path | None = SHARED_IMAGE_STORE
) -> PodmanPaths:
    """Write (or rewrite) the configuration; the shared store only when it exists."""
    paths = paths_for(state_dir, instance_id)
    for directory in (paths.directory, paths.graphroot, paths.runroot, paths.tmp_dir):
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    (paths.run_dir / "instance").write_text(instance_id + "\n")  # whose it is, for purges
    store = shared_store if shared_store is not None and shared_store.is_dir() else None
    _write(paths.containers_conf, containers_conf(paths))
    _write(paths.storage_conf, storage_conf(paths, store))
    return paths


def _write(path: Path, text: str) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def validate_instance_id(instance_id: str) -> str:
    if not INSTANCE_RE.fullmatch(instance_id):
        raise ValueError(
            f"instance id {instance_id!r}: use 1-32 of [a-z0-9-], starting with a letter or digit"
        )
    return instance_id


def load_instance_id(state_dir: Path) -> str:
    """The platform instance's id, kept in STATE/runtime/instance-id (made on first use).

    Every container, namespace and address allocation of the instance carries it."""
    path = state_dir / "runtime" / INSTANCE_FILE
    try:
        return validate_instance_id(path.read_text().strip())
    except (OSError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    instance = f"i{secrets.token_hex(4)}"
    path.write_text(instance + "\n")
    return instance
