"""The ports: what the core needs from the world, as Protocols. Adapters implement them.

Services talk to these only; `deis.platform` wires the adapters chosen in settings.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

from deis.domain.acme import AcmeDomain, ClusterCertificate, Issued
from deis.domain.addons import Addon, Attachment
from deis.domain.artifacts import Garbage
from deis.domain.attempts import BuildAttempt
from deis.domain.backup_schedules import BackupSchedule
from deis.domain.cron import Job as CronJob
from deis.domain.cron import Run as CronRun
from deis.domain.deploys import Deployed
from deis.domain.desired import DesiredApp, Pod, RunResult
from deis.domain.records import (
    TLS,
    App,
    AppSettings,
    Build,
    Certificate,
    Config,
    Domain,
    Key,
    Release,
    User,
)
from deis.domain.releases import Released
from deis.domain.routing import AppRoute
from deis.domain.sleep import SleepState
from deis.domain.terminal import Opening

# A page of a list: the items asked for and the total count.
Page = tuple[list, int]  # type: ignore[type-arg]


class Users(Protocol):
    def get(self, username: str) -> User | None: ...
    def get_ignoring_case(self, username: str) -> User | None:
        """A user whose name equals `username` but for case (`Alice` for `alice`)."""

    def get_by_id(self, user_id: int) -> User | None: ...
    def add(
        self,
        *,
        username: str,
        email: str,
        password_hash: str,
        first_name: str,
        last_name: str,
        is_superuser: bool,
        date_joined: datetime,
    ) -> User: ...
    def update(self, user: User) -> None:
        """Write every mutable field: email, names, flags, last_login, password_hash."""

    def delete(self, username: str) -> None: ...
    def count(self) -> int: ...
    def list(self, offset: int, limit: int) -> tuple[list[User], int]: ...
    def list_admins(self, offset: int, limit: int) -> tuple[builtins.list[User], int]: ...


class Tokens(Protocol):
    def add(self, user_id: int, digest: str, created: datetime) -> None: ...
    def user_for(self, digest: str, issued_after: datetime | None = None) -> User | None:
        """The user of a token; with issued_after, only a token made after that time."""

    def revoke_all(self, user_id: int) -> None: ...
    def revoke(self, digest: str) -> None:
        """Remove one token (a dashboard session signing out); unknown digests are no-ops."""


class LoginFailures(Protocol):
    def add(self, username: str, address: str, at: datetime) -> None: ...
    def count_since(
        self, since: datetime, *, username: str | None = None, address: str | None = None
    ) -> int: ...
    def prune(self, before: datetime) -> None: ...


class Apps(Protocol):
    def get(self, app_id: str) -> App | None: ...
    def lock(self, app_id: str) -> App | None:
        """Like get, and holds the app's row for the rest of the write transaction."""

    def add(self, app: App) -> None: ...
    def update(self, app: App) -> None:
        """Write owner, structure and updated."""

    def delete(self, app_id: str) -> None:
        """Delete the app and everything that belongs to it."""

    def list(self, offset: int, limit: int, visible_to: str | None = None) -> tuple[list[App], int]:
        """Apps ordered by id; visible_to (a username) keeps those it owns or shares."""

    def owned_by(self, username: str) -> builtins.list[str]: ...


class Perms(Protocol):
    def users(self, app_id: str) -> list[str]: ...
    def add(self, app_id: str, username: str) -> None: ...
    def remove(self, app_id: str, username: str) -> None: ...
    def has(self, app_id: str, username: str) -> bool: ...


class Builds(Protocol):
    def add(self, build: Build) -> None: ...
    def get(self, app_id: str, uuid: str) -> Build | None: ...
    def list(self, app_id: str, offset: int, limit: int) -> tuple[list[Build], int]:
        """Newest first."""


class Configs(Protocol):
    def add(self, config: Config) -> None: ...
    def get(self, uuid: str) -> Config | None: ...


class Releases(Protocol):
    def add(self, release: Release) -> None: ...
    def get(self, app_id: str, version: int) -> Release | None: ...
    def latest(self, app_id: str) -> Release | None:
        """The highest version, failed or not (the next release numbers from it)."""

    def current(self, app_id: str) -> Release | None:
        """The latest release not marked failed: the one the app runs."""

    def latest_of(self, app_ids: builtins.list[str]) -> dict[str, Release]:
        """The latest release of each app that has one, in one query (the apps list)."""

    def list(self, app_id: str, offset: int, limit: int) -> tuple[list[Release], int]:
        """Newest (highest version) first."""

    def set_failed(
        self, app_id: str, version: int, failed: bool, updated: datetime, failure: str = ""
    ) -> None:
        """Mark a release failed (or not), with what its deploy said."""


class Keys(Protocol):
    def add(self, key: Key) -> None: ...
    def get(self, owner: str, key_id: str) -> Key | None: ...
    def by_fingerprint(self, fingerprint: str) -> Key | None: ...
    def by_public(self, public: str) -> Key | None: ...
    def list(self, owner: str, offset: int, limit: int) -> tuple[list[Key], int]: ...
    def of_users(self, usernames: builtins.list[str]) -> builtins.list[Key]: ...
    def delete(self, owner: str, key_id: str) -> None: ...


class Domains(Protocol):
    def add(self, domain: Domain) -> None: ...
    def get(self, domain: str) -> Domain | None: ...
    def list(self, app_id: str, offset: int, limit: int) -> tuple[list[Domain], int]:
        """Oldest first, so the first is the app's default domain."""

    def under(self, parent: str) -> builtins.list[Domain]:
        """Every app's domains that are names below `parent` (`x.parent`, `*.parent`)."""

    def delete(self, domain: str) -> None: ...


class Certificates(Protocol):
    def add(self, cert: Certificate) -> None: ...
    def get(self, name: str) -> Certificate | None: ...
    def list(
        self, offset: int, limit: int, owner: str | None = None
    ) -> tuple[list[Certificate], int]:
        """Ordered by name; owner (a username) keeps only that user's."""

    def delete(self, name: str) -> None: ...
    def attach(self, name: str, domain: str) -> None: ...
    def detach(self, name: str, domain: str) -> None: ...
    def for_domain(self, domain: str) -> Certificate | None: ...


class Settings(Protocol):
    def latest(self, app_id: str) -> AppSettings | None: ...
    def add(self, settings: AppSettings) -> None: ...


class TLSSettings(Protocol):
    def latest(self, app_id: str) -> TLS | None: ...
    def add(self, tls: TLS) -> None: ...


class CronRuns(Protocol):
    def last(self, app_id: str) -> dict[str, CronRun]:
        """The last run of each job of the app, by job name."""

    def record(self, run: CronRun) -> None:
        """Keep `run` as its job's last run (replacing the one before)."""


class AcmeStates(Protocol):
    """Automatic TLS: which apps have it, and each domain's state."""

    def enabled(self, app_id: str) -> bool: ...
    def enabled_apps(self) -> builtins.list[str]: ...
    def enable(self, app_id: str, when: datetime) -> None: ...
    def disable(self, app_id: str) -> None:
        """The app and its domains' states (the certificates stay)."""

    def domains(self, app_id: str) -> builtins.list[AcmeDomain]: ...
    def save(self, state: AcmeDomain) -> None: ...


class SleepStates(Protocol):
    """Idle apps sleep: each app's setting and whether it is asleep (no row: defaults)."""

    def get(self, app_id: str) -> SleepState | None: ...
    def all(self) -> builtins.list[SleepState]: ...
    def save(self, state: SleepState) -> None: ...


class Addons(Protocol):
    """Add-ons and their attachments to apps."""

    def add(self, addon: Addon) -> None:
        """Raises Conflict when the name is taken."""

    def get(self, name: str) -> Addon | None: ...
    def all(self) -> builtins.list[Addon]: ...
    def of_apps(self, app_ids: builtins.list[str]) -> builtins.list[Addon]:
        """The add-ons made for these apps or attached to one of them."""

    def names(self) -> set[str]: ...
    def ports(self) -> set[int]: ...
    def set_app(self, name: str, app_id: str, updated: datetime) -> None:
        """The app the add-on belongs to (whose owner may destroy it)."""

    def set_plan(self, name: str, plan: str, updated: datetime) -> None: ...

    def delete(self, name: str) -> None:
        """The add-on and its attachments."""

    def attachments(
        self, addon: str | None = None, app_id: str | None = None
    ) -> builtins.list[Attachment]: ...
    def attach(self, attachment: Attachment) -> None:
        """Raises Conflict when it is attached to that app already, or the var is taken."""

    def detach(self, addon: str, app_id: str) -> None: ...


class AddonSchedules(Protocol):
    """Add-ons' daily backups (no row: on demand only); gone with the add-on."""

    def get(self, addon: str) -> BackupSchedule | None: ...
    def all(self) -> builtins.list[BackupSchedule]: ...
    def save(self, schedule: BackupSchedule) -> None:
        """Set (or replace) the add-on's schedule."""

    def delete(self, addon: str) -> None: ...
    def ran(self, addon: str, when: datetime) -> None:
        """Record when the schedule last took a backup."""


class AddonServers(Protocol):
    """Runs the add-ons' servers and lets the attached apps' processes (only those) reach
    them at `url(addon)`."""

    name: str

    def url(self, addon: Addon) -> str:
        """What an attached app's config var holds: where its processes reach the server."""

    def provision(self, addon: Addon) -> None:
        """Make the server (its data kept apart) and return once it accepts connections.
        Raises Unavailable, having removed what it made, when it cannot."""

    def deprovision(self, name: str) -> None:
        """Remove the server and its data; a name it does not know is a no-op."""

    def change_plan(self, old: Addon, new: Addon) -> None:
        """Give the server the sizes of `new`'s plan (never a smaller disk), its data kept;
        return once it accepts connections again. Raises Unavailable when it cannot (the
        server then runs on as before)."""

    def state(self, name: str) -> str:
        """`available`, `starting`, `crashed` or `missing`."""

    def disk_used(self, name: str) -> int | None:
        """Bytes the add-on's data takes on its disk (None where it cannot tell)."""

    def reach(self, addon: Addon, apps: builtins.list[str]) -> None:
        """The apps whose processes may connect to the add-on (replacing the previous)."""

    def adopt(self, addons: builtins.list[tuple[Addon, builtins.list[str]]]) -> None:
        """At platform start: the add-ons the records hold, each with its attached apps;
        supervise them (start what is not running)."""

    def backup(self, addon: Addon, key: str) -> int:
        """A consistent snapshot of the add-on's data (pg_dump; a Redis RDB) stored in the
        object store at `key`; answers its size. Raises Unavailable when it cannot."""

    def restore(self, addon: Addon, key: str) -> None:
        """Replace the add-on's data with the snapshot at `key` of the object store."""

    def terminal(self, addon: Addon, opening: Opening) -> Terminal:
        """The service's own client (psql, redis-cli), signed in, on a pseudo-terminal
        (`deis addons:connect`). Raises Unavailable when it cannot give one."""


class AcmeIssuer(Protocol):
    """An ACME CA (Let's Encrypt): orders a certificate, validating HTTP-01 through the
    responder (the router). Raises deis.domain.acme.AcmeError.

    `delegated`: the cluster gets the certificates itself (cert-manager): the platform
    never calls `issue`, asks for them through the routes (AppRoute.auto_tls) and reads
    their state back with `cluster_certificates`."""

    directory: str
    delegated: bool

    def check(self) -> None:
        """Raise Unavailable, saying why, when it cannot work now."""

    def issue(self, hosts: builtins.list[str], responder: Router) -> Issued: ...
    def cluster_certificates(self, app_id: str) -> builtins.list[ClusterCertificate]: ...


class CronRunner(Protocol):
    """Runs scheduled jobs in the background (the platform's scheduler)."""

    def start(self, app_id: str, job: CronJob, trigger: str) -> bool:
        """Start a run of the job unless one is running (False then)."""


class UnitOfWork(Protocol):
    """One transaction. Committed when its block ends without an error, else rolled back."""

    users: Users
    tokens: Tokens
    login_failures: LoginFailures
    apps: Apps
    perms: Perms
    builds: Builds
    configs: Configs
    releases: Releases
    keys: Keys
    domains: Domains
    certs: Certificates
    settings: Settings
    tls: TLSSettings
    cron_runs: CronRuns
    acme: AcmeStates
    sleep: SleepStates

    addons: Addons
    addon_schedules: AddonSchedules


class Store(Protocol):
    def transaction(
        self, *, write: bool = False, keep: bool = False
    ) -> AbstractContextManager[UnitOfWork]:
        """A unit of work. write=True serializes writers (BEGIN IMMEDIATE on SQLite).

        keep=True (a read): the transaction stays open when the block ends, and the
        thread's next read transaction continues it (one connection and transaction for
        a request's token check and its route); it ends before a write transaction of
        the thread begins, or at `release()`."""

    def release(self) -> None:
        """End this thread's kept transaction, if any."""

    def ping(self) -> None:
        """Raise if the database cannot answer."""


class Primary(Protocol):
    """The API process that holds the adapters that act, as another API process sees it."""

    def follow_up(self, released: Released) -> None:
        """Carry out what the release sets off; raises the domain error it ended in."""
        ...


class Runtime(Protocol):
    """Runs releases. Desired state in, observed state out."""

    name: str

    def deploy(self, desired: DesiredApp) -> None:
        """Converge the app to `desired`. Raises DeployFailed if the release cannot serve."""

    def remove(self, app_id: str) -> None:
        """Remove everything the app runs."""

    def deployed(self, app_id: str) -> Deployed | None:
        """What the app runs: the release and the counts of its last successful deploy
        (after a failed one, those it went back to); None when nothing was deployed."""

    def pods(self, app_id: str, proc_type: str | None = None) -> list[Pod]: ...
    def restart(
        self, app_id: str, proc_type: str | None = None, name: str | None = None
    ) -> list[Pod]: ...
    def run(self, desired: DesiredApp, command: str, timeout: float | None = None) -> RunResult:
        """A one-off command in the release's image; stopped after `timeout` seconds (the
        runtime's own limit when None), with exit code 124 then."""

    def terminal(self, desired: DesiredApp, opening: Opening) -> Terminal:
        """Start a one-off command with a pseudo-terminal (`deis run bash`). Raises
        Unavailable when this runtime cannot give one."""


class Terminal(Protocol):
    """A one-off process on a pseudo-terminal. One thread reads while another writes and
    resizes; the runtime enforces the time limit and the idle limit."""

    def read(self, timeout: float) -> bytes | None:
        """What the terminal printed; None when nothing came within `timeout` seconds;
        b"" once the process has ended and everything it printed was read."""

    def write(self, data: bytes) -> None: ...
    def resize(self, cols: int, rows: int) -> None: ...
    def wait(self) -> int:
        """The exit code, after read gave b"" (124 when a limit stopped the process)."""

    def close(self) -> None:
        """Stop the process if it runs and remove all it had; safe to call again."""


@runtime_checkable
class CpuMeter(Protocol):
    """A runtime that measures its replicas' CPU, so the platform autoscales them itself
    (the podman runtime; Kubernetes' HorizontalPodAutoscalers do it in a cluster)."""

    def cpu_usage(self, app_id: str, proc_type: str, window: float) -> list[float]:
        """Millicores each ready replica of the type used over the last `window` seconds."""


class Logs(Protocol):
    def tail(self, app_id: str, lines: int, keep: Callable[[str], bool] | None = None) -> str:
        """The last lines (of those `keep` answers true for), oldest first."""

    def follow(
        self, app_id: str, lines: int, keep: Callable[[str], bool] | None = None
    ) -> Iterator[str]:
        """The last lines, then new ones as they come; "" now and then while idle."""

    def write(self, app_id: str, source: str, message: str, *, by_app: bool = False) -> None:
        """Record a platform event about the app as a log line (`deis[SOURCE]: ...`), or
        with by_app=True, what the app's own process printed (`APP[SOURCE]: ...`)."""

    def remove(self, app_id: str) -> None: ...


class BuildOutputs(Protocol):
    """Build attempts and their output, kept outside the database, the last N per app."""

    def start(self, attempt: BuildAttempt) -> None: ...
    def write(self, app_id: str, uuid: str, text: str) -> None:
        """Append output (lines ending in newlines) to the attempt."""

    def finish(self, attempt: BuildAttempt) -> None: ...
    def list(self, app_id: str) -> builtins.list[BuildAttempt]:
        """Newest first."""

    def get(self, app_id: str, uuid: str) -> BuildAttempt | None: ...
    def output(self, app_id: str, uuid: str) -> str: ...
    def end_unfinished(self, when: datetime, reason: str) -> int:
        """Mark the attempts left building by a builder that died as failed."""

    def remove(self, app_id: str) -> None: ...


class Router(Protocol):
    """Sends each app's hosts to its ready web replicas."""

    name: str

    def apply(self, route: AppRoute) -> None:
        """Hosts, certificates and settings of one app; replaces what it had."""

    def remove(self, app_id: str) -> None: ...
    def set_peers(self, app_id: str, peers: builtins.list[str]) -> None:
        """The app's ready web replicas as "host:port"; applied without a reload."""

    def metrics(self, app_id: str) -> dict[str, Any]:
        """Requests, status classes, bytes and latency the router counted for the app."""

    def set_challenge(self, host: str, token: str, key_authorization: str) -> None:
        """Answer http://HOST/.well-known/acme-challenge/TOKEN with the key authorization
        (ACME HTTP-01), whatever the app's state; without a reload."""

    def remove_challenge(self, token: str) -> None: ...
    def challenge_answer(self, host: str, token: str) -> str | None:
        """The key authorization of a pending challenge for the host, for a router that
        sends the challenge path to the controller (a cluster's); None if there is none."""


class Objects(Protocol):
    """Blobs by key (slugs, build caches, push archives): a filesystem or an S3 bucket."""

    def put(self, key: str, data: bytes | BinaryIO | Path) -> int:
        """Store the blob, replacing any at that key; answers its size in bytes."""

    def get(self, key: str) -> bytes: ...
    def open(self, key: str) -> BinaryIO: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def keys(self, prefix: str = "") -> builtins.list[str]: ...
    def path(self, key: str) -> Path:
        """Where a local process can read the blob (the runtime extracts slugs from it)."""


class Artifacts(Protocol):
    """What builds leave: slugs in the object store, images in the registry and in the
    runtime's image store."""

    def fetch_image(self, image: str, credentials: dict[str, str]) -> None:
        """Make the image runnable here (pull it now, with the app's registry credentials).
        Raises Invalid with the reason when it cannot."""

    def discard(self, garbage: Garbage) -> builtins.list[str]:
        """Delete what the decision says may go; answers what was deleted."""

    def available(self, build: Build) -> bool:
        """Whether the build's slug or image is still there (False once collected)."""
