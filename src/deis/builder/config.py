"""The builder's own settings: from the platform's Settings plus DEIS_* variables."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deis.settings import Settings

DEFAULT_BUILD_TIMEOUT = 15 * 60
DEFAULT_MAX_PUSH_SIZE = 1024 * 1024 * 1024  # 1 GiB
DEFAULT_MAX_BUILDS = 2

_SIZE_RE = re.compile(r"(\d+)\s*([kKmMgG]?)[iI]?[bB]?")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str) -> int:
    """Bytes from "1048576", "100M", "1G", "512k"."""
    match = _SIZE_RE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not a size: {text!r}")
    return int(match[1]) * _UNITS[match[2].lower()]


def parse_duration(text: str) -> float:
    """Seconds from "900", "15m", "1h", "30s"."""
    text = text.strip().lower()
    factor = {"s": 1, "m": 60, "h": 3600}.get(text[-1:], None)
    if factor is not None:
        return float(text[:-1]) * factor
    return float(text)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class BuilderConfig:
    state_dir: Path
    bind: str = "127.0.0.1"
    ssh_port: int = 2222
    build_timeout: float = DEFAULT_BUILD_TIMEOUT  # DEIS_BUILD_TIMEOUT
    max_push_size: int = DEFAULT_MAX_PUSH_SIZE  # DEIS_MAX_PUSH_SIZE
    max_builds: int = DEFAULT_MAX_BUILDS  # DEIS_MAX_BUILDS: builds at once, platform-wide
    # DEIS_BUILDS_PER_USER: builds one user may run at once (None: half of max_builds)
    builds_per_user: int | None = None
    docker_build_args: bool = False  # DEIS_DOCKER_BUILD_ARGS_ENABLED
    # Folders a local BUILDPACK_URL may point into (DEIS_BUILDPACK_DIRS, ':'-separated).
    buildpack_dirs: tuple[Path, ...] = field(default_factory=tuple)
    build_memory: str = ""  # DEIS_BUILD_MEMORY, e.g. "2g": podman --memory of a build
    # host:port of the platform's registry Dockerfile builds are pushed to ("": none,
    # the image stays in the platform's podman store only).
    registry: str = ""

    @property
    def home(self) -> Path:
        return self.state_dir / "builder"

    @property
    def repos(self) -> Path:
        return self.home / "repos"

    @property
    def caches(self) -> Path:
        return self.home / "cache"

    @property
    def locks(self) -> Path:
        return self.home / "locks"

    @property
    def work(self) -> Path:
        return self.home / "work"

    @property
    def host_key(self) -> Path:
        return self.home / "ssh_host_ed25519_key"

    @property
    def objects(self) -> Path:
        return self.state_dir / "objects"

    def allowed_buildpack_dirs(self) -> tuple[Path, ...]:
        return (*self.buildpack_dirs, self.state_dir / "buildpacks")

    @classmethod
    def from_settings(
        cls, settings: Settings, env: Mapping[str, str] | None = None, **overrides: object
    ) -> BuilderConfig:
        env = os.environ if env is None else env
        values: dict[str, object] = {
            "state_dir": settings.state_dir,
            "bind": settings.bind,
            "ssh_port": settings.ssh_port,
            "registry": settings.local_registry,
        }
        if env.get("DEIS_BUILD_TIMEOUT"):
            values["build_timeout"] = parse_duration(env["DEIS_BUILD_TIMEOUT"])
        if env.get("DEIS_MAX_PUSH_SIZE"):
            values["max_push_size"] = parse_size(env["DEIS_MAX_PUSH_SIZE"])
        if env.get("DEIS_MAX_BUILDS"):
            values["max_builds"] = max(1, int(env["DEIS_MAX_BUILDS"]))
        if env.get("DEIS_BUILDS_PER_USER"):
            values["builds_per_user"] = max(1, int(env["DEIS_BUILDS_PER_USER"]))
        if "DEIS_DOCKER_BUILD_ARGS_ENABLED" in env:
            values["docker_build_args"] = _flag(env["DEIS_DOCKER_BUILD_ARGS_ENABLED"])
        if env.get("DEIS_BUILDPACK_DIRS"):
            values["buildpack_dirs"] = tuple(
                Path(p).resolve() for p in env["DEIS_BUILDPACK_DIRS"].split(":") if p
            )
        if env.get("DEIS_BUILD_MEMORY"):
            values["build_memory"] = env["DEIS_BUILD_MEMORY"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
