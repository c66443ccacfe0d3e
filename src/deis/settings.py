"""The platform's settings: one typed object, read from the environment and flags.

Every layer may read it; only `deis.platform` builds it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from deis.domain import buildnet, sleep
from deis.domain.errors import Invalid

REGISTRATION_MODES = ("enabled", "disabled", "admin_only")


def default_state_dir() -> Path:
    return Path(os.path.expanduser("~/.deis-platform"))


def default_workers() -> int:
    """One API process per core, up to 4: a process answers on one core at a time."""
    return max(1, min(os.cpu_count() or 1, 4))


ROUTER_SOURCE = "127.0.0.2"  # on the loopback (127.0.0.0/8): only nginx binds it


@dataclass(frozen=True)
class Settings:
    state_dir: Path = field(default_factory=default_state_dir)
    database_url: str = ""  # empty: SQLite in the state dir
    bind: str = "127.0.0.1"
    api_port: int = 8000
    ssh_port: int = 2222
    router_port: int = 8080
    router_https_port: int = 8443
    registry_port: int = 5000
    keep_releases: int = 10  # releases whose builds keep their slug or image
    domain: str = "localhost"  # apps answer at APP.<domain>
    registration_mode: str = "enabled"
    runtime: str = "podman"  # the runtime adapter, by name: podman, kubernetes, record
    builder: str = "git"  # git: SSH and smart HTTP pushes; none: no builder
    egress: bool = False  # may apps open connections to the outside?
    # The add-ons' servers (deis addons): podman, record (records only, runs nothing),
    # none; empty: as the runtime (podman with podman, record with record, else none)
    addons: str = ""
    # Builds on this machine: "isolated" (a namespace of their own, out through a NAT that
    # refuses this machine and the networks below) or "none" (no network); docs/builder.md
    build_network: str = "isolated"
    build_deny_networks: str = ",".join(buildnet.DEFAULT_DENIED)  # or "none"
    logs: str = "file"  # the logs adapter, by name
    objects: str = "filesystem"  # the object store: filesystem, s3 (DEIS_S3_* settings)
    router: str = "nginx"  # the router adapter, by name: nginx, kubernetes, none
    # What the router allows each app unless its config says otherwise
    # (DEIS_ROUTER_BODY_SIZE, DEIS_ROUTER_*_TIMEOUT config keys), and the most any app may set.
    router_body_size: str = "1m"
    router_max_body_size: str = "1g"
    router_connect_timeout: int = 5  # seconds
    router_read_timeout: int = 60
    router_send_timeout: int = 60
    # Answer plain HTTP to deis.<domain> with a 308 to https while the platform has a
    # certificate (deisctl certs:set); off by default: clients of http:// keep working.
    tls_enforce: bool = False
    # Automatic TLS (deis tls:auto): the ACME CA's directory, the account's contact email
    # (empty: no automatic TLS), and a CA bundle to verify the directory's HTTPS (a
    # private CA such as pebble; empty: the system's)
    acme_email: str = ""
    acme_directory: str = "https://acme-v02.api.letsencrypt.org/directory"
    acme_ca_bundle: str = ""
    acme_interval: float = 60.0  # seconds between passes of the renewal job
    # A certificate for the controller's own name deis.<domain> from the same CA
    acme_platform: bool = False
    # External account binding, for CAs that require one (ZeroSSL, Google, a company CA):
    # the key id and the base64url HMAC key the CA gave (both, or neither)
    acme_eab_kid: str = ""
    acme_eab_hmac_key: str = ""
    log_retention: int = 10_000  # lines kept per app
    build_log_retention: int = 20  # build attempts (and their output) kept per app
    builder_key: str = ""  # shared secret of the builder's hooks; empty: read from the state dir
    max_body_bytes: int = 1024 * 1024
    login_failures_allowed: int = 10  # per minute, per (user, address) and per address
    token_lifetime: int = 0  # seconds a token signs in for after it was made; 0: until revoked
    workers: int = field(default_factory=default_workers)  # API processes (docs/operators.md)
    api_threads: int = 1  # threads of each process for quick sync routes (docs/operators.md)
    api_blocking_threads: int = 32  # threads for routes that wait long (deploys, run, logs -f)
    # Argon2 cost of password hashes (OWASP's defaults); tests lower it to stay fast.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    # autoscaling on runtimes that measure CPU (podman): seconds between passes (and the
    # span CPU is averaged over), and the scale-down stabilization window
    autoscale_interval: float = 15.0
    autoscale_down_window: float = 300.0
    # `deis cron`: a run missed while the platform was down runs once at start if it was
    # due less than this many seconds ago (0: no catch-up)
    cron_catch_up: float = 0.0
    # Idle apps sleep (docs/sleep.md): seconds without a request before an app sleeps
    # unless it has its own setting (0: never), seconds between the sleep loop's passes,
    # how long the router holds a request while its app wakes (then 503), and how many
    # requests it holds per app (more: 503 at once)
    sleep_after: int = 0
    sleep_interval: float = 10.0
    sleep_wake_timeout: int = 30
    sleep_wake_queue: int = 100
    # seconds between passes of the loop that takes add-ons' scheduled backups
    addon_backup_interval: float = 60.0

    @property
    def addons_adapter(self) -> str:
        if self.addons:
            return self.addons
        return self.runtime if self.runtime in ("podman", "record", "kubernetes") else "none"

    @property
    def sqlite_path(self) -> Path:
        return self.state_dir / "deis.db"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def local_registry(self) -> str:
        """host:port of the registry this instance runs (Debian's docker-registry, on the
        loopback), where images are built or run on this machine; "" when it runs none
        (on Kubernetes, the cluster has its own)."""
        if self.runtime == "kubernetes" or (self.builder != "git" and self.runtime != "podman"):
            return ""
        return f"127.0.0.1:{self.registry_port}"

    @property
    def router_source(self) -> str | None:
        """The address the router connects to the controller from, which nothing else on
        the machine uses: the controller takes the client's address from X-Forwarded-For
        only on connections from it. None when the API is bound to an IPv6 address."""
        return None if ":" in self.bind else ROUTER_SOURCE

    @property
    def controller_url(self) -> str:
        return f"http://{self.bind}:{self.api_port}"

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def duration(raw: str | int) -> int:
    """Seconds of a duration setting: "30m", "2h", "90", or "never" (0)."""
    if isinstance(raw, int):
        return raw
    if raw.strip().lower() == "never":
        return 0
    try:
        return sleep.parse_after(raw)
    except Invalid as exc:
        raise ValueError(exc.message) from None


_ENV: dict[str, tuple[str, Callable[[str], Any]]] = {
    "DEIS_STATE_DIR": ("state_dir", Path),
    "DEIS_DATABASE_URL": ("database_url", str),
    "DEIS_BIND": ("bind", str),
    "DEIS_API_PORT": ("api_port", int),
    "DEIS_SSH_PORT": ("ssh_port", int),
    "DEIS_ROUTER_PORT": ("router_port", int),
    "DEIS_ROUTER_HTTPS_PORT": ("router_https_port", int),
    "DEIS_BUILDER": ("builder", str),
    "DEIS_EGRESS": ("egress", lambda raw: raw.lower() in ("1", "true", "yes", "on")),
    "DEIS_REGISTRY_PORT": ("registry_port", int),
    "DEIS_BUILD_NETWORK": ("build_network", str),
    "DEIS_BUILD_DENY_NETWORKS": ("build_deny_networks", str),
    "DEIS_KEEP_RELEASES": ("keep_releases", int),
    "DEIS_DOMAIN": ("domain", str),
    "DEIS_REGISTRATION_MODE": ("registration_mode", str),
    "DEIS_RUNTIME": ("runtime", str),
    "DEIS_ADDONS": ("addons", str),
    "DEIS_LOGS": ("logs", str),
    "DEIS_OBJECTS": ("objects", str),
    "DEIS_ROUTER": ("router", str),
    "DEIS_ROUTER_BODY_SIZE": ("router_body_size", str),
    "DEIS_ROUTER_MAX_BODY_SIZE": ("router_max_body_size", str),
    "DEIS_ROUTER_CONNECT_TIMEOUT": ("router_connect_timeout", int),
    "DEIS_ROUTER_READ_TIMEOUT": ("router_read_timeout", int),
    "DEIS_ROUTER_SEND_TIMEOUT": ("router_send_timeout", int),
    "DEIS_TLS_ENFORCE": ("tls_enforce", lambda raw: raw.lower() in ("1", "true", "yes", "on")),
    "DEIS_ACME_EMAIL": ("acme_email", str),
    "DEIS_ACME_DIRECTORY": ("acme_directory", str),
    "DEIS_ACME_CA_BUNDLE": ("acme_ca_bundle", str),
    "DEIS_ACME_INTERVAL": ("acme_interval", float),
    "DEIS_ACME_PLATFORM": (
        "acme_platform",
        lambda raw: raw.lower() in ("1", "true", "yes", "on"),
    ),
    "DEIS_ACME_EAB_KID": ("acme_eab_kid", str),
    "DEIS_ACME_EAB_HMAC_KEY": ("acme_eab_hmac_key", str),
    "DEIS_LOG_RETENTION": ("log_retention", int),
    "DEIS_BUILD_LOG_RETENTION": ("build_log_retention", int),
    "DEIS_BUILDER_KEY": ("builder_key", str),
    "DEIS_MAX_BODY_BYTES": ("max_body_bytes", int),
    "DEIS_LOGIN_FAILURES_ALLOWED": ("login_failures_allowed", int),
    "DEIS_TOKEN_LIFETIME": ("token_lifetime", int),
    "DEIS_WORKERS": ("workers", int),
    "DEIS_API_THREADS": ("api_threads", int),
    "DEIS_API_BLOCKING_THREADS": ("api_blocking_threads", int),
    "DEIS_ARGON2_TIME_COST": ("argon2_time_cost", int),
    "DEIS_ARGON2_MEMORY_KIB": ("argon2_memory_kib", int),
    "DEIS_AUTOSCALE_INTERVAL": ("autoscale_interval", float),
    "DEIS_AUTOSCALE_DOWN_WINDOW": ("autoscale_down_window", float),
    "DEIS_CRON_CATCH_UP": ("cron_catch_up", float),
    "DEIS_SLEEP_AFTER": ("sleep_after", duration),
    "DEIS_SLEEP_INTERVAL": ("sleep_interval", float),
    "DEIS_SLEEP_WAKE_TIMEOUT": ("sleep_wake_timeout", int),
    "DEIS_SLEEP_WAKE_QUEUE": ("sleep_wake_queue", int),
    "DEIS_ADDON_BACKUP_INTERVAL": ("addon_backup_interval", float),
}


class SettingsError(ValueError):
    pass


_SIZE = re.compile(r"^[0-9]{1,12}[kKmMgG]?$")


def _bytes(size: str) -> int:
    unit = size[-1].lower()
    factor = {"k": 1024, "m": 1024**2, "g": 1024**3}.get(unit)
    return int(size[:-1]) * factor if factor else int(size)


def _check_router_limits(settings: Settings) -> None:
    for name in ("router_body_size", "router_max_body_size"):
        if not _SIZE.match(getattr(settings, name)):
            raise SettingsError(f"{name} must be a size like 512k, 10m or 1g")
    for name in ("router_connect_timeout", "router_read_timeout", "router_send_timeout"):
        if getattr(settings, name) <= 0:
            raise SettingsError(f"{name} must be a positive number of seconds")
    if _bytes(settings.router_body_size) > _bytes(settings.router_max_body_size):
        raise SettingsError(
            f"router_body_size ({settings.router_body_size}) is above router_max_body_size"
            f" ({settings.router_max_body_size}), the most any app may set"
        )
    if settings.router_connect_timeout > 75:
        raise SettingsError("router_connect_timeout must be at most 75 seconds")


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def _check_acme(settings: Settings) -> None:
    if settings.acme_email and not _EMAIL.match(settings.acme_email):
        raise SettingsError(
            f"--acme-email (DEIS_ACME_EMAIL) must be an email address, not {settings.acme_email!r}"
        )
    if not settings.acme_directory.startswith(("https://", "http://")):
        raise SettingsError(
            "--acme-directory (DEIS_ACME_DIRECTORY) must be the URL of an ACME directory,"
            f" not {settings.acme_directory!r}"
        )
    if settings.acme_interval <= 0:
        raise SettingsError("DEIS_ACME_INTERVAL must be a positive number of seconds")
    if bool(settings.acme_eab_kid) != bool(settings.acme_eab_hmac_key):
        raise SettingsError(
            "--acme-eab-kid and --acme-eab-hmac-key (DEIS_ACME_EAB_KID, DEIS_ACME_EAB_HMAC_KEY)"
            " go together"
        )
    if settings.acme_eab_hmac_key and not _BASE64URL.match(settings.acme_eab_hmac_key):
        raise SettingsError(
            "--acme-eab-hmac-key (DEIS_ACME_EAB_HMAC_KEY) must be the base64url key the CA gave"
        )
    if settings.acme_platform and not settings.acme_email:
        raise SettingsError("--acme-platform needs --acme-email (the ACME account's contact)")


def _check_sleep(settings: Settings) -> None:
    if settings.sleep_interval <= 0:
        raise SettingsError("DEIS_SLEEP_INTERVAL must be a positive number of seconds")
    if not 1 <= settings.sleep_wake_timeout <= 600:
        raise SettingsError("DEIS_SLEEP_WAKE_TIMEOUT must be 1 to 600 seconds")
    if settings.sleep_wake_queue < 1:
        raise SettingsError("DEIS_SLEEP_WAKE_QUEUE must be at least 1")


def _check_addon_backups(settings: Settings) -> None:
    if settings.addon_backup_interval <= 0:
        raise SettingsError("DEIS_ADDON_BACKUP_INTERVAL must be a positive number of seconds")


def from_env(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from DEIS_* variables, then explicit overrides (flags) on top."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for var, (name, kind) in _ENV.items():
        raw = env.get(var)
        if raw is None or raw == "":
            continue
        try:
            values[name] = kind(raw)
        except ValueError as exc:
            raise SettingsError(
                f"{var}={raw!r} is not a valid {getattr(kind, '__name__', 'value')}"
            ) from exc
    values.update({k: v for k, v in overrides.items() if v is not None})
    if isinstance(values.get("sleep_after"), str):  # a flag: --sleep-after 30m
        try:
            values["sleep_after"] = duration(values["sleep_after"])
        except ValueError as exc:
            raise SettingsError(f"--sleep-after (DEIS_SLEEP_AFTER): {exc}") from exc
    if "state_dir" in values:
        values["state_dir"] = Path(values["state_dir"]).expanduser().resolve()
    settings = Settings(**values)
    _check_router_limits(settings)
    _check_acme(settings)
    if settings.token_lifetime < 0:
        raise SettingsError(
            f"DEIS_TOKEN_LIFETIME must be 0 (tokens last until revoked) or a number of "
            f"seconds, not {settings.token_lifetime}"
        )
    _check_sleep(settings)
    _check_addon_backups(settings)
    if settings.keep_releases < 1:
        raise SettingsError(f"DEIS_KEEP_RELEASES must be at least 1, not {settings.keep_releases}")
    if settings.log_retention < 1 or settings.build_log_retention < 1:
        raise SettingsError("DEIS_LOG_RETENTION and DEIS_BUILD_LOG_RETENTION must be at least 1")
    try:
        buildnet.parse_networks(settings.build_deny_networks)
    except buildnet.InvalidNetwork as exc:
        raise SettingsError(f"DEIS_BUILD_DENY_NETWORKS: {exc}") from exc
    if settings.build_network not in buildnet.MODES:
        raise SettingsError(
            f"DEIS_BUILD_NETWORK must be one of {', '.join(buildnet.MODES)},"
            f" not {settings.build_network!r}"
        )
    if settings.registration_mode not in REGISTRATION_MODES:
        raise SettingsError(
            f"registration mode must be one of {', '.join(REGISTRATION_MODES)},"
            f" not {settings.registration_mode!r}"
        )
    for name, var in (
        ("workers", "DEIS_WORKERS"),
        ("api_threads", "DEIS_API_THREADS"),
        ("api_blocking_threads", "DEIS_API_BLOCKING_THREADS"),
    ):
        if getattr(settings, name) < 1:
            raise SettingsError(f"{var} must be at least 1, not {getattr(settings, name)}")
    return settings
