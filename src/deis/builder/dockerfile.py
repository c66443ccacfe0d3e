"""Dockerfile builds: `podman build` into the platform instance's podman store, tagged
`REGISTRY/APP:git-SHA7` and pushed to the platform's registry (plain HTTP on the loopback).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from deis.builder import proc
from deis.builder.errors import BuildFailed
from deis.builder.network import BuildNetwork
from deis.builder.podman import podman_args, podman_env
from deis.builder.proc import Emit

_ARG_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class ImageResult:
    image: str
    port: int | None
    dockerfile: str


def image_name(app: str, sha: str, registry: str = "") -> str:
    """REGISTRY/APP:git-SHA7; localhost/APP:git-SHA7 when the platform has no registry."""
    return f"{registry or 'localhost'}/{app}:git-{sha[:7]}"


def exposed_port(exposed: object) -> int | None:
    """The lowest TCP port of an image's ExposedPorts ({"8080/tcp": {}})."""
    if not isinstance(exposed, dict):
        return None
    ports = []
    for spec in exposed:
        number, _, protocol = str(spec).partition("/")
        if protocol in ("", "tcp") and number.isdigit():
            ports.append(int(number))
    return min(ports) if ports else None


async def build_image(
    *,
    app: str,
    sha: str,
    app_dir: Path,
    config: dict[str, str],
    build_args: bool,
    state_dir: Path,
    timeout: float,
    emit: Emit,
    network: BuildNetwork,
    registry: str = "",
    registry_login: Mapping[str, str] | None = None,
) -> ImageResult:
    image = image_name(app, sha, registry)
    dockerfile = (app_dir / "Dockerfile").read_text(errors="replace")
    args = [
        *podman_args(),
        "build",
        "--pull=never",
        *network.podman_args,
        "--layers",
        "-t",
        image,
        "-f",
        str(app_dir / "Dockerfile"),
    ]
    if build_args:
        for key, value in sorted(config.items()):
            if _ARG_RE.fullmatch(key):
                args += ["--build-arg", f"{key}={value}"]
    args.append(str(app_dir))
    env = podman_env(state_dir)
    await emit("-----> Building the Dockerfile")
    rc, tail = await proc.stream(args, emit, timeout=timeout, env=env, prefix="       ")
    if rc != 0:
        raise BuildFailed(f"The Dockerfile build failed (podman build exited with status {rc}).")
    _, out, _ = await proc.run(
        [*podman_args(), "image", "inspect", "--format", "{{json .Config.ExposedPorts}}", image],
        timeout=60,
        env=env,
    )
    try:
        port = exposed_port(json.loads(out.decode() or "null"))
    except ValueError:
        port = None
    if registry:
        await push_image(image, registry, env, timeout, emit, registry_login)
    return ImageResult(image=image, port=port, dockerfile=dockerfile)


@contextlib.contextmanager
def auth_file(registry: str, login: Mapping[str, str]) -> Iterator[Path]:
    """An auth file (0600, in a private folder removed after) with the login for the
    registry, or none: never the machine's own podman logins."""
    directory = Path(tempfile.mkdtemp(prefix="deis-push-auth-"))
    try:
        auths = {}
        if login.get("username") and login.get("password"):
            pair = f"{login['username']}:{login['password']}".encode()
            auths[registry] = {"auth": base64.b64encode(pair).decode()}
        path = directory / "auth.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"auths": auths}, out)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def push_image(
    image: str,
    registry: str,
    env: dict[str, str],
    timeout: float,
    emit: Emit,
    login: Mapping[str, str] | None = None,
) -> None:
    """`podman push` to the platform's registry: plain HTTP, on this machine only, with
    the app's push credentials (in an auth file of its own, removed after)."""
    await emit(f"-----> Pushing the image to {registry}")
    with auth_file(registry, login or {}) as path:
        rc, _ = await proc.stream(
            [*podman_args(), "push", "--tls-verify=false", "--quiet", "--authfile", str(path),
             image],
            emit,
            timeout=timeout,
            env=env,
            prefix="       ",
        )  # fmt: skip
    if rc != 0:
        raise BuildFailed(
            f"Pushing {image} to the platform's registry failed (podman push exited with"
            f" status {rc}); is the registry running? `deisctl status` says."
        )
