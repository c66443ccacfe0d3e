"""The platform instance's podman: its own store under the state dir, reading the
machine-wide stack images through `additionalimagestores`.

The runtime must run app images with the same store (same storage.conf), since the images
that Dockerfile builds make are kept here (`localhost/APP:git-SHA7`).
"""

from __future__ import annotations

import hashlib
import os
import resource as resource_module
from pathlib import Path

from deis.stack.definition import STACK_STORE


def storage_conf_path(state_dir: Path) -> Path:
    return state_dir / "podman" / "storage.conf"


def runroot(state_dir: Path) -> Path:
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:10]
    return Path("/run/deis") / f"podman-{digest}"


def storage_conf(state_dir: Path) -> str:
    graphroot = state_dir.resolve() / "podman" / "storage"
    return (
        "[storage]\n"
        'driver = "overlay"\n'
        f'graphroot = "{graphroot}"\n'
        f'runroot = "{runroot(state_dir)}"\n'
        "\n[storage.options]\n"
        f'additionalimagestores = ["{STACK_STORE}"]\n'
    )


def ensure_storage_conf(state_dir: Path) -> Path:
    (state_dir / "podman" / "storage").mkdir(parents=True, exist_ok=True)
    return _write(storage_conf_path(state_dir), storage_conf(state_dir))


def ensure_containers_conf(state_dir: Path) -> Path:
    return _write(state_dir / "podman" / "containers.conf", containers_conf())


def _cgroups_v2_with_systemd() -> bool:
    return (
        Path("/sys/fs/cgroup/cgroup.controllers").exists() and Path("/run/systemd/system").exists()
    )


def _hard_limit(resource: int, ceiling: int) -> int:
    _soft, hard = resource_module.getrlimit(resource)
    return ceiling if hard == resource_module.RLIM_INFINITY else min(hard, ceiling)


def containers_conf() -> str:
    """Settings chosen from what the machine has (measured: cgroups v1 here needs runc,
    cgroupfs, file events and ulimits no higher than the host's hard limits)."""
    nofile = _hard_limit(resource_module.RLIMIT_NOFILE, 20000)
    nproc = _hard_limit(resource_module.RLIMIT_NPROC, 32768)
    lines = [
        "[containers]",
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]',
        "",
        "[engine]",
        'events_logger = "file"',
    ]
    if not _cgroups_v2_with_systemd():
        lines += ['runtime = "runc"', 'cgroup_manager = "cgroupfs"']
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> Path:
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(text)
        temporary.replace(path)
    return path


def podman_env(state_dir: Path) -> dict[str, str]:
    """The environment a podman command of this instance runs with."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CONTAINERS_", "DEIS_", "GIT_", "SSH_"))
    }
    env["CONTAINERS_STORAGE_CONF"] = str(ensure_storage_conf(state_dir))
    env["CONTAINERS_CONF"] = str(ensure_containers_conf(state_dir))
    return env


def podman_args() -> list[str]:
    """The podman command (its settings come from podman_env's containers.conf)."""
    return ["podman"]
