"""How one process of a release runs: image, command, environment, labels, limits. Pure.

- image and Dockerfile apps: the `cmd` type (and `web` when the Procfile has no `web`)
  runs the image's own command; other types run their Procfile command with `sh -c`.
- buildpack apps: the slug, extracted on the host, is mounted at /app as an overlay on the
  run stack image, and `bash -c` sources /app/.profile.d/*.sh and execs the command.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deis.domain.config import cpu_millicores, limit_part, memory_bytes
from deis.domain.desired import DesiredApp

DEFAULT_PORT = 5000
IMAGE_COMMAND_TYPES = ("cmd",)
BUILDPACK = "buildpack"

LABEL_APP = "deis.app"
LABEL_TYPE = "deis.type"
LABEL_VERSION = "deis.version"
LABEL_INSTANCE = "deis.instance"
LABEL_HERITAGE = "heritage"
LABEL_PORT = "deis.port"
HERITAGE = "deis"

# Variables podman itself reads: an app's value for them is passed on the command line.
PODMAN_OWN_ENV = frozenset({"PATH", "HOME", "TMPDIR", "USER", "LANG", "SHELL"})
PODMAN_OWN_PREFIXES = ("CONTAINERS_", "XDG_", "LC_", "PODMAN_", "REGISTRY_", "STORAGE_")
LOCAL_REGISTRY_HOSTS = ("127.0.0.1", "localhost")


class NotRunnable(ValueError):
    """The release cannot run this process type."""


@dataclass(frozen=True)
class Launch:
    image: str
    args: tuple[str, ...] = ()  # after the image; empty: the image's own command
    entrypoint: str | None = None  # None: the image's own
    volumes: tuple[str, ...] = ()
    workdir: str | None = None


@dataclass(frozen=True)
class Limits:
    memory: int | None = None  # bytes
    cpus: float | None = None
    pids: int = 4096
    oom_score_adj: int = 500  # the kernel picks apps before the platform when memory runs out


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    launch: Launch
    env: dict[str, str]
    labels: dict[str, str]
    limits: Limits = field(default_factory=Limits)
    init: bool = True


def slug_script(command: str) -> str:
    """In /app with HOME=/app (Heroku's convention, which buildpacks' .profile.d scripts
    rely on), source /app/.profile.d/*.sh, then run the command in its own `bash -c` (so
    that a Procfile command of several statements runs whole: a bare `exec CMD` would not)."""
    return (
        "export HOME=/app; cd /app; "
        'for f in /app/.profile.d/*.sh; do [ -f "$f" ] && . "$f"; done; '
        f"exec /bin/bash -c {shlex.quote(command)}"
    )


def buildpack_launch(command: str, slug_dir: Path, run_stack_image: str) -> Launch:
    return Launch(
        image=run_stack_image,
        entrypoint="/bin/bash",
        args=("-c", slug_script(command)),
        volumes=(f"{slug_dir}:/app:O",),
        workdir="/app",
    )


def process_launch(
    desired: DesiredApp, proc_type: str, slug_dir: Path | None, run_stack_image: str
) -> Launch:
    """What runs for one process type; NotRunnable when the release has no such process."""
    if desired.image is None:
        raise NotRunnable(f"v{desired.version} has no build to run")
    command = desired.procfile.get(proc_type)
    if desired.kind == BUILDPACK:
        if not command:
            raise NotRunnable(f"the Procfile of v{desired.version} has no {proc_type!r} process")
        if slug_dir is None:
            raise NotRunnable("the slug is not extracted")
        return buildpack_launch(command, slug_dir, run_stack_image)
    if proc_type in IMAGE_COMMAND_TYPES or (not command and proc_type == "web"):
        return Launch(image=desired.image)
    if not command:
        raise NotRunnable(f"the Procfile of v{desired.version} has no {proc_type!r} process")
    return Launch(image=desired.image, entrypoint="/bin/sh", args=("-c", command))


def run_launch(
    desired: DesiredApp, command: str, slug_dir: Path | None, run_stack_image: str
) -> Launch:
    """A one-off command (`deis run`) in the release's image or on its slug."""
    if desired.image is None:
        raise NotRunnable(f"v{desired.version} has no build to run")
    if desired.kind == BUILDPACK:
        if slug_dir is None:
            raise NotRunnable("the slug is not extracted")
        return buildpack_launch(command, slug_dir, run_stack_image)
    return Launch(image=desired.image, entrypoint="/bin/sh", args=("-c", command))


def port_for(desired: DesiredApp, exposed: int | None) -> int:
    """PORT from the config if set, else the image's exposed port, else 5000."""
    configured = desired.env.get("PORT", "")
    if configured.isdigit() and 0 < int(configured) < 65536:
        return int(configured)
    if desired.kind != BUILDPACK and exposed:
        return exposed
    return DEFAULT_PORT


def environment(desired: DesiredApp, port: int) -> dict[str, str]:
    return {
        **desired.env,
        "PORT": str(port),
        "DEIS_APP": desired.app,
        "WORKFLOW_RELEASE": f"v{desired.version}",
        "SOURCE_VERSION": desired.sha,
    }


def labels(desired: DesiredApp, proc_type: str, instance: str, port: int) -> dict[str, str]:
    return {
        LABEL_APP: desired.app,
        LABEL_TYPE: proc_type,
        LABEL_VERSION: str(desired.version),
        LABEL_HERITAGE: HERITAGE,
        LABEL_INSTANCE: instance,
        LABEL_PORT: str(port),
    }


def limits(desired: DesiredApp, proc_type: str, pids: int) -> Limits:
    memory: int | None = None
    cpus: float | None = None
    if raw := desired.memory.get(proc_type):
        try:
            memory = memory_bytes(limit_part(raw))
        except ValueError:
            memory = None
    if raw := desired.cpu.get(proc_type):
        try:
            cpus = cpu_millicores(limit_part(raw)) / 1000
        except ValueError:
            cpus = None
    return Limits(memory=memory, cpus=cpus, pids=pids)


def run_args(
    spec: ContainerSpec,
    netns_path: Path | str,
    log_path: Path | None = None,
    hosts: Mapping[str, str] | None = None,
) -> list[str]:
    """`podman run` arguments (without `run` and `-d`). Environment values stay off the
    command line: `-e NAME` makes podman take each value from its own environment.
    log_path: where podman writes what the process prints (read by the log collector).
    hosts: names the container resolves (/etc/hosts), to addresses."""
    args = ["--name", spec.name, "--network", f"ns:{netns_path}", *pull_args(spec.launch.image)]
    for host, address in sorted((hosts or {}).items()):
        args += ["--add-host", f"{host}:{address}"]
    if log_path is not None:
        args += ["--log-driver", "k8s-file", "--log-opt", f"path={log_path}"]
    args += ["--hostname", spec.name[:63].rstrip("-")]
    if spec.init:
        args.append("--init")
    for key, value in sorted(spec.labels.items()):
        args += ["--label", f"{key}={value}"]
    for name, value in sorted(spec.env.items()):
        args += ["-e", f"{name}={value}" if _on_argv(name) else name]
    lim = spec.limits
    if lim.memory is not None:
        args += ["--memory", str(lim.memory)]
    if lim.cpus is not None:
        args += ["--cpus", f"{lim.cpus:g}"]
    args += ["--pids-limit", str(lim.pids), "--oom-score-adj", str(lim.oom_score_adj)]
    launch = spec.launch
    for volume in launch.volumes:
        args += ["-v", volume]
    if launch.workdir:
        args += ["--workdir", launch.workdir]
    if launch.entrypoint is not None:
        args += ["--entrypoint", launch.entrypoint]
    # "--": the image (a user's value) is never read as an option
    return [*args, "--", launch.image, *launch.args]


def _on_argv(name: str) -> bool:
    return name in PODMAN_OWN_ENV or name.startswith(PODMAN_OWN_PREFIXES)


def podman_env(spec: ContainerSpec) -> dict[str, str]:
    """The values podman reads for `-e NAME` (those of its own variables go on argv)."""
    return {k: v for k, v in spec.env.items() if not _on_argv(k)}


def pull_args(image: str) -> list[str]:
    """Pull only from the platform's own registry on this machine (plain HTTP); everything
    else must already be in the local store, as no other registry can be reached."""
    host = image.split("/", 1)[0] if "/" in image else ""
    if host.split(":", 1)[0] in LOCAL_REGISTRY_HOSTS and ":" in host:
        return ["--pull", "missing", "--tls-verify=false"]
    return ["--pull", "never"]


def describe(launch: Launch) -> str:
    return shlex.join([launch.entrypoint or "", *launch.args]).strip()
