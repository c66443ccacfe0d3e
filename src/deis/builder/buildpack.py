"""Buildpack builds: the Heroku buildpack API run inside a build-stack container.

The app is compiled in place at /app (so virtualenvs and the like keep their paths when the
slug runs at /app on the run stack); the slug is a gzipped tarball of /app.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from deis import buildpacks
from deis.builder import proc
from deis.builder.errors import BuildFailed, BuildRefused
from deis.builder.network import BuildNetwork
from deis.builder.podman import podman_args, podman_env
from deis.builder.proc import Emit
from deis.builder.release_yaml import default_process_types
from deis.stack.definition import build_image

CLONE_TIMEOUT = 300
_GIT_URL_RE = re.compile(r"(https?|git|ssh)://\S+|[\w.-]+@[\w.-]+:\S+")
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")

# Exit statuses of runner.sh
NO_BUILDPACK = 3
COMPILE_FAILED = 4
RELEASE_FAILED = 5
HOOK_FAILED = 6
NO_TYPES = 7
NO_PROCESS_TYPES = (
    "No process types: the app has no Procfile and the buildpack gives no default process"
    " types. Add a Procfile (web: <command>)."
)


@dataclass(frozen=True)
class BuildpackResult:
    slug: Path | None  # None: the runner stored it in the object store at slug_key
    default_process_types: dict[str, str]
    buildpacks: list[str]


@dataclass(frozen=True)
class BuildpackSource:
    """One buildpack asked for: a built-in name, a local folder, or a git URL (#ref)."""

    kind: str  # "builtin", "local", "git"
    value: str
    ref: str = ""


def parse_source(text: str) -> BuildpackSource:
    text = text.strip()
    if text in buildpacks.BUILTIN_ORDER:
        return BuildpackSource("builtin", text)
    if text.startswith("builtin:") and text[8:] in buildpacks.BUILTIN_ORDER:
        return BuildpackSource("builtin", text[8:])
    if text.startswith("/"):
        return BuildpackSource("local", text)
    url, _, ref = text.partition("#")
    if url.startswith("file:///"):
        return BuildpackSource("git", url, ref)
    if _GIT_URL_RE.fullmatch(url):
        return BuildpackSource("git", url, ref)
    raise BuildRefused(
        f"BUILDPACK_URL {text!r} is neither a git URL (https://...#ref), a local folder,"
        f" nor a built-in buildpack ({', '.join(buildpacks.BUILTIN_ORDER)})."
    )


def requested(app_dir: Path, config: dict[str, str]) -> list[BuildpackSource]:
    """BUILDPACK_URL from the config, else the lines of .buildpacks; [] for built-ins."""
    url = config.get("BUILDPACK_URL", "").strip()
    if url:
        return [parse_source(url)]
    listing = app_dir / ".buildpacks"
    if listing.is_file() and not listing.is_symlink():
        lines = [
            line.strip()
            for line in listing.read_text(errors="replace").splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
        return [parse_source(line) for line in lines]
    return []


def local_folder(path: str, allowed: tuple[Path, ...]) -> Path:
    real = Path(os.path.realpath(path))
    for folder in allowed:
        base = Path(os.path.realpath(folder))
        if real == base or base in real.parents:
            if not (real / "bin" / "compile").exists():
                raise BuildRefused(f"{path} is not a buildpack: it has no bin/compile.")
            return real
    raise BuildRefused(
        f"The buildpack folder {path} is outside the folders allowed for buildpacks"
        f" ({', '.join(str(p) for p in allowed)}; DEIS_BUILDPACK_DIRS)."
    )


async def clone(
    source: BuildpackSource,
    dest: Path,
    emit: Emit,
    allow_file: bool,
    inside: tuple[str, ...] = (),
) -> None:
    """`git clone` the buildpack, inside the build's network namespace when there is one
    (the URL is the pusher's: it must not reach what the build itself may not)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(dest.parent),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ALLOW_PROTOCOL": "https:http:git:ssh" + (":file" if allow_file else ""),
    }
    label = source.value + (f"#{source.ref}" if source.ref else "")
    await emit(f"-----> Fetching buildpack {label}")
    args = [*inside, "git", "clone", "--quiet", "--depth", "1"]
    if source.ref:
        args += ["--branch", source.ref]
    rc, tail = await proc.stream(
        [*args, source.value, str(dest)], None, timeout=CLONE_TIMEOUT, env=env
    )
    if rc != 0 and source.ref:  # a commit rather than a branch or tag: full clone, checkout
        rc, tail = await proc.stream(
            [*inside, "git", "clone", "--quiet", source.value, str(dest)],
            None,
            timeout=CLONE_TIMEOUT,
            env=env,
        )
        if rc == 0:
            rc, tail = await proc.stream(
                ["git", "-C", str(dest), "checkout", "--quiet", source.ref],
                None,
                timeout=60,
                env=env,
            )
    if rc != 0:
        reason = tail[-1] if tail else f"git exited with status {rc}"
        raise BuildRefused(f"Cannot fetch the buildpack {label}: {reason}")


async def run_buildpacks(
    *,
    app: str,
    sha: str,
    app_dir: Path,
    work: Path,
    cache_dir: Path,
    config: dict[str, str],
    state_dir: Path,
    allowed_dirs: tuple[Path, ...],
    timeout: float,
    emit: Emit,
    network: BuildNetwork,
    memory: str = "",
) -> BuildpackResult:
    sources = requested(app_dir, config)
    mounts: list[str] = ["-v", f"{buildpacks.HERE}:/tmp/buildpacks/builtin:ro"]
    packs: list[str] = []
    for n, source in enumerate(sources):
        if source.kind == "builtin":
            packs.append(f"/tmp/buildpacks/builtin/{source.value}")
        elif source.kind == "local":
            folder = local_folder(source.value, allowed_dirs)
            mounts += ["-v", f"{folder}:/tmp/buildpacks/custom-{n}:ro"]
            packs.append(f"/tmp/buildpacks/custom-{n}")
        else:
            dest = work / "buildpacks" / f"custom-{n}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            allow_file = False
            if source.value.startswith("file://"):
                local_folder(source.value.removeprefix("file://"), allowed_dirs)
                allow_file = True
            await clone(source, dest, emit, allow_file, network.run_inside)
            mounts += ["-v", f"{dest}:/tmp/buildpacks/custom-{n}:ro"]
            packs.append(f"/tmp/buildpacks/custom-{n}")
    explicit = bool(sources)
    if not explicit:
        packs = [f"/tmp/buildpacks/builtin/{name}" for name in buildpacks.BUILTIN_ORDER]

    env_dir = work / "env"
    env_dir.mkdir(mode=0o700)
    for key, value in config.items():
        if _NAME_RE.fullmatch(key):
            fd = os.open(env_dir / key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(value)
    out_dir = work / "out"
    out_dir.mkdir()
    cache_dir.mkdir(parents=True, exist_ok=True)

    name = f"deis-build-{app}-{secrets.token_hex(4)}"
    args = [
        *podman_args(),
        "run",
        "--rm",
        "--name",
        name,
        "--pull=never",
        *network.podman_args,
        "--pids-limit=8192",
        f"--timeout={int(timeout) + 5}",
        "-v",
        f"{app_dir}:/app",
        "-v",
        f"{cache_dir}:/tmp/cache",
        "-v",
        f"{env_dir}:/tmp/env:ro",
        "-v",
        f"{out_dir}:/tmp/out",
        *mounts,
        "-e",
        f"DEIS_BUILDPACKS={' '.join(packs)}",
        "-e",
        f"DEIS_EXPLICIT={1 if explicit else 0}",
        "-e",
        f"SOURCE_VERSION={sha}",
        "-e",
        f"DEIS_APP={app}",
        "-w",
        "/app",
    ]
    if memory:
        args.append(f"--memory={memory}")
    args += [build_image(), "/bin/bash", "/tmp/buildpacks/builtin/runner.sh"]
    penv = podman_env(state_dir)

    async def remove() -> None:
        await proc.run(
            [*podman_args(), "rm", "-f", "-t", "0", name], timeout=60, env=penv, check=False
        )

    rc, tail = await proc.stream(args, emit, timeout=timeout, env=penv, on_kill=remove)
    if (known := buildpack_failure(rc)) is not None:
        raise known
    if rc != 0:
        last = tail[-1] if tail else ""
        raise BuildFailed(f"The build container failed (exit status {rc}). {last}".strip())
    slug = out_dir / "slug.tgz"
    if not slug.is_file():
        raise BuildFailed("The build made no slug.")
    release = out_dir / "release.yml"
    defaults = (
        default_process_types(release.read_text(errors="replace")) if release.exists() else {}
    )
    names_file = out_dir / "buildpacks.txt"
    names = names_file.read_text().split("\n") if names_file.exists() else []
    return BuildpackResult(slug, defaults, [n for n in names if n])


def buildpack_failure(rc: int) -> BuildFailed | None:
    """What an exit status of runner.sh means, when it is one of its own."""
    if rc == NO_BUILDPACK:
        tried = ", ".join(buildpacks.BUILTIN_ORDER)
        return BuildFailed(
            "No buildpack detects this app (tried: "
            f"{tried}). Add a Procfile, a requirements.txt, a package.json, a go.mod or an"
            " index.html, or set BUILDPACK_URL."
        )
    if rc == COMPILE_FAILED:
        return BuildFailed("The buildpack failed to compile the app (its output is above).")
    if rc == RELEASE_FAILED:
        return BuildFailed("The buildpack's bin/release failed.")
    if rc == HOOK_FAILED:
        return BuildFailed("The app's bin/pre_compile or bin/post_compile failed.")
    if rc == NO_TYPES:
        return BuildFailed(NO_PROCESS_TYPES)
    return None


def slug_key(app: str, sha: str) -> str:
    """Where a buildpack build's slug is kept in the object store."""
    return f"slugs/{app}/git-{sha}.tgz"
