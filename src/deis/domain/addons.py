"""Add-ons (backing services): what the platform offers, names, plans, config vars.

An add-on is one server (PostgreSQL 15 or Redis 7) made for an app and attached to it
(and maybe to others) by a config var holding its URL: `DATABASE_URL`, `REDIS_URL`, or
`NAME_URL` with `--as NAME`. Attaching and detaching make releases, as config changes do.
Pure rules only: the servers run in an adapter (deis.addons).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from deis.domain.errors import Invalid
from deis.domain.names import ADJECTIVES

# The host name every replica resolves to its own end of the platform's link to it (the
# host side of its veth): the platform listens there for the add-ons attached to its app.
HOST = "deis-addons"
# The ports the platform listens on for add-ons, one per add-on (below the kernel's
# ephemeral range, so that no outgoing connection of the host ever holds one).
PORTS = range(25000, 30000)
USER = "app"  # PostgreSQL's role and database in every instance
NAME_LEN = 63
_AS_RE = re.compile(r"[A-Z][A-Z0-9_]*")
_NAME_RE = re.compile(r"(postgres|redis)-[a-z]+-[0-9]{4}")
_BACKUP_RE = re.compile(r"b[0-9]{14}")


@dataclass(frozen=True)
class Plan:
    """A size: memory and CPU of the server's container, and its connections."""

    name: str
    memory_mb: int
    cpus: float
    connections: int
    description: str
    disk_gb: int = 1  # its data's disk: a loop-mounted file on one machine, a claim on a cluster


@dataclass(frozen=True)
class Service:
    name: str
    title: str
    var: str  # the config var of an attachment without --as
    port: int  # the server's own port inside its container
    scheme: str
    plans: tuple[Plan, ...]
    default_plan: str

    def plan(self, name: str | None) -> Plan:
        wanted = name or self.default_plan
        for plan in self.plans:
            if plan.name == wanted:
                return plan
        known = ", ".join(p.name for p in self.plans)
        raise Invalid(f"{self.name} has no plan {wanted!r} (plans: {known}).", field="service")


SERVICES: dict[str, Service] = {
    "postgres": Service(
        name="postgres",
        title="PostgreSQL 15",
        var="DATABASE_URL",
        port=5432,
        scheme="postgres",
        plans=(
            Plan("mini", 128, 0.5, 20, "128 MB, half a core, 20 connections, 1 GB disk", 1),
            Plan("standard", 512, 1.0, 100, "512 MB, 1 core, 100 connections, 10 GB disk", 10),
            Plan("large", 2048, 2.0, 300, "2 GB, 2 cores, 300 connections, 50 GB disk", 50),
        ),
        default_plan="mini",
    ),
    "redis": Service(
        name="redis",
        title="Redis 7",
        var="REDIS_URL",
        port=6379,
        scheme="redis",
        plans=(
            Plan("mini", 64, 0.5, 100, "64 MB, half a core, 100 clients, 1 GB disk", 1),
            Plan("standard", 256, 1.0, 1000, "256 MB, 1 core, 1000 clients, 2 GB disk", 2),
            Plan("large", 1024, 2.0, 10000, "1 GB, 2 cores, 10000 clients, 8 GB disk", 8),
        ),
        default_plan="mini",
    ),
}


@dataclass(frozen=True)
class Addon:
    """One instance. `app` is the app it was made for (its owner's app: who may destroy
    it); `port` is where the platform listens for it on each attached replica's link."""

    name: str
    service: str
    plan: str
    app: str
    owner: str
    password: str
    port: int
    created: datetime
    updated: datetime

    @property
    def kind(self) -> Service:
        return SERVICES[self.service]

    @property
    def sizes(self) -> Plan:
        return self.kind.plan(self.plan)

    def url(self, host: str = HOST, port: int | None = None) -> str:
        """What an attached app's config var holds (on one machine, the forwarder's
        name and the add-on's port; on a cluster, its Service's name and the service's
        own port)."""
        port = self.port if port is None else port
        if self.service == "redis":
            return f"redis://default:{self.password}@{host}:{port}"
        return f"postgres://{USER}:{self.password}@{host}:{port}/{USER}"


def server_settings(addon: Addon) -> dict[str, str]:
    """The start script's environment from the plan (the password comes apart, from
    where the adapter keeps it): PostgreSQL's shared_buffers a quarter of the memory,
    Redis's maxmemory three quarters."""
    plan = addon.sizes
    return {
        "ADDON_USER": USER,
        "ADDON_CONNECTIONS": str(plan.connections),
        "ADDON_SHARED_BUFFERS": f"{max(plan.memory_mb // 4, 16)}MB",
        "ADDON_MAXMEMORY": f"{max(plan.memory_mb * 3 // 4, 16)}mb",
    }


@dataclass(frozen=True)
class Attachment:
    addon: str
    app: str
    var: str
    created: datetime


def parse_service(value: object) -> tuple[Service, Plan]:
    """`postgres`, `postgres:standard` → the service and the plan."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid("Give a service, e.g. postgres or redis:mini.", field="service")
    name, _, plan = value.strip().partition(":")
    service = SERVICES.get(name)
    if service is None:
        known = ", ".join(SERVICES)
        raise Invalid(f"Unknown service {name!r} (services: {known}).", field="service")
    return service, service.plan(plan or None)


def new_plan(addon: Addon, value: object) -> Plan:
    """The plan an add-on may change to (`deis addons:upgrade`): another plan of its
    service whose disk is not smaller (a disk never shrinks under its data)."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid("Give a plan, e.g. standard.", field="plan")
    try:
        plan = addon.kind.plan(value.strip())
    except Invalid as error:
        raise Invalid(error.message, field="plan") from None
    if plan.name == addon.plan:
        raise Invalid(f"{addon.name} is on {plan.name} already.", field="plan")
    if plan.disk_gb < addon.sizes.disk_gb:
        raise Invalid(
            f"{plan.name}'s disk ({plan.disk_gb} GB) is smaller than {addon.name}'s "
            f"({addon.sizes.disk_gb} GB), and a disk never shrinks: make a {addon.service}:"
            f"{plan.name} add-on and restore a backup into it instead.",
            field="plan",
        )
    return plan


def config_var(service: Service, as_name: object) -> str:
    """The var an attachment sets: the service's own, or NAME_URL with --as NAME."""
    if as_name is None or as_name == "":
        return service.var
    if not isinstance(as_name, str):
        raise Invalid("Must be a name like CACHE.", field="as")
    name = as_name.upper().removesuffix("_URL")
    if not _AS_RE.fullmatch(name) or len(name) > 60:
        raise Invalid(
            "Must start with a letter and hold only letters, digits and _ (e.g. CACHE).",
            field="as",
        )
    return f"{name}_URL"


def check_name(value: object) -> str:
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise Invalid("Not an add-on name (e.g. postgres-calm-1234).", field="name")
    return value


def new_name(service: Service, rng: random.Random, taken: set[str]) -> str:
    """`postgres-calm-1234`: an adjective and four digits, not one of `taken`."""
    for _ in range(1000):
        name = f"{service.name}-{rng.choice(ADJECTIVES)}-{rng.randrange(10000):04d}"
        if name not in taken:
            return name
    raise Invalid("Could not find a free add-on name.", field="service")


def free_port(used: set[int]) -> int:
    for port in PORTS:
        if port not in used:
            return port
    raise Invalid("Every add-on port of the platform is taken.", field="service")


def attached_summary(actor: str, addon: str, var: str, service: Service) -> str:
    suffix = "" if var == service.var else f" as {var}"
    return f"{actor} attached {addon}{suffix}"


def detached_summary(actor: str, addon: str) -> str:
    return f"{actor} detached {addon}"


def backup_id(when: datetime, taken: set[str]) -> str:
    """`b20261206173008`: the time it was taken, one second later if that one is taken."""
    moment = when
    while (name := moment.strftime("b%Y%m%d%H%M%S")) in taken:
        moment = moment + timedelta(seconds=1)
    return name


def check_backup_id(value: object) -> str:
    if not isinstance(value, str) or not _BACKUP_RE.fullmatch(value):
        raise Invalid("Not a backup id (e.g. b20261206173008).", field="backup")
    return value


def backup_key(addon: Addon, backup: str) -> str:
    """Where the snapshot is kept in the object store (its record sits beside it)."""
    extension = "rdb" if addon.service == "redis" else "dump"
    return f"addons/{addon.name}/{backup}.{extension}"


def backups_prefix(name: str) -> str:
    """The object store's folder of the add-on's backups (keys below it: `PREFIX/ID.EXT`)."""
    return f"addons/{name}"
