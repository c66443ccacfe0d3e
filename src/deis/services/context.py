"""What every use case needs: the ports and a few platform facts, passed explicitly."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher

from deis.domain.artifacts import DEFAULT_KEEP
from deis.ports import (
    AcmeIssuer,
    AddonServers,
    Artifacts,
    BuildOutputs,
    CronRunner,
    Logs,
    Objects,
    Primary,
    Router,
    Runtime,
    Store,
)


def utc_now() -> datetime:
    """Microseconds kept: the latest of several records made in one second must be clear."""
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Context:
    store: Store
    runtime: Runtime
    logs: Logs
    router: Router
    platform_domain: str = "localhost"
    # host:port of the platform's own image registries: their images are apps' builds
    registry_hosts: tuple[str, ...] = ()
    router_port: int = 80
    registration_mode: str = "enabled"
    login_failures_allowed: int = 10
    token_lifetime: timedelta | None = None  # None: tokens last until revoked (as in Deis)
    clock: Callable[[], datetime] = utc_now
    make_uuid: Callable[[], str] = new_uuid
    rng: random.Random = field(default_factory=random.SystemRandom)
    password_hasher: PasswordHasher = field(default_factory=PasswordHasher)
    # What else keeps files of an app (the builder's repositories, caches, slugs),
    # filled in by the composition root once those parts exist.
    app_removers: list[Callable[[str], None]] = field(default_factory=list)
    # Slugs and images: fetched for `deis pull`, collected after each release (None:
    # nothing to fetch or collect, e.g. when nothing runs on this machine).
    artifacts: Artifacts | None = None
    keep_releases: int = DEFAULT_KEEP  # releases whose builds' artefacts are kept
    # By app uuid: the version up to which this process has collected (releases never
    # change, so a collection only has to look at the releases that left the window since).
    collected_through: dict[str, int] = field(default_factory=dict)
    build_outputs: BuildOutputs | None = None  # build attempts and their output
    # In an extra API process, the primary one, which carries out what a release sets
    # off (services.followups); None in the primary itself.
    primary: Primary | None = None
    # The scheduler of `deis cron` jobs (in the primary process; None elsewhere).
    cron_runner: CronRunner | None = None
    # The platform's ACME CA for automatic TLS (None: the operator gave no --acme-email).
    acme: AcmeIssuer | None = None
    # Idle apps sleep after this many seconds without a request (0: never), unless the
    # app has its own setting (`deis ps:sleep`).
    sleep_after: int = 0
    # Whether apps can sleep here: the runtime stops sleeping types and the router wakes
    # them (podman and nginx; not on Kubernetes yet)
    sleeps: bool = True
    # The servers of add-ons (deis addons): None where this platform runs none.
    addons: AddonServers | None = None
    # The object store (add-ons' backups); None in the extra API processes.
    objects: Objects | None = None

    def app_url(self, app_id: str) -> str:
        host = f"{app_id}.{self.platform_domain}"
        return host if self.router_port in (80, 443) else f"{host}:{self.router_port}"
