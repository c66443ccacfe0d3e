"""What the runtime should make true for one app: a pure function of its records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from deis.domain.records import App, Build, Config, Release


@dataclass(frozen=True)
class DesiredApp:
    app: str
    version: int  # the release to run
    image: str | None  # None: the release has no build, nothing can run
    kind: str | None  # "buildpack" | "dockerfile" | "image" | None
    sha: str
    procfile: dict[str, str]
    structure: dict[str, int]
    env: dict[str, str]
    memory: dict[str, str] = field(default_factory=dict)
    cpu: dict[str, str] = field(default_factory=dict)
    healthcheck: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    registry: dict[str, str] = field(default_factory=dict)
    # process type -> {min, max, cpu_percent}: the app's autoscale settings
    autoscale: dict[str, dict[str, int]] = field(default_factory=dict)
    # name -> the job (deis.domain.cron.Job.to_json): runtimes that schedule jobs
    # themselves (Kubernetes CronJobs) run them; the others leave them to the platform
    cron: dict[str, dict[str, Any]] = field(default_factory=dict)
    # the process types asleep (deis.domain.sleep): the runtime keeps them stopped while
    # `structure` stays what the user scaled to
    asleep: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pod:
    name: str
    state: str  # up | down | crashed | starting | ...
    type: str
    release: str  # "v3"
    started: datetime | None
    detail: str = ""  # a crashed replica's back-off: "crashed 5 times; next start in 32 s"


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    output: str


def build_kind(build: Build | None) -> str | None:
    """buildpack (a sha, no Dockerfile), dockerfile, or image (deployed with `deis pull`)."""
    if build is None:
        return None
    if build.dockerfile:
        return "dockerfile"
    if build.sha:
        return "buildpack"
    return "image"


def desired_state(
    app: App,
    release: Release,
    build: Build | None,
    config: Config,
    autoscale: Mapping[str, Mapping[str, int]] | None = None,
    asleep: tuple[str, ...] = (),
) -> DesiredApp:
    return DesiredApp(
        app=app.id,
        version=release.version,
        image=build.image if build else None,
        kind=build_kind(build),
        sha=build.sha if build else "",
        procfile=dict(build.procfile) if build else {},
        structure=dict(app.structure),
        env=dict(config.values),
        memory=dict(config.memory),
        cpu=dict(config.cpu),
        healthcheck=dict(config.healthcheck),
        tags=dict(config.tags),
        registry=dict(config.registry),
        autoscale={t: dict(rule) for t, rule in (autoscale or {}).items()},
        cron={name: dict(job) for name, job in config.cron.items()},
        asleep=tuple(asleep),
    )
