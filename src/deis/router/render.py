"""The static nginx.conf, rendered from templates/nginx.conf.j2: a pure function of
`NginxConfig`. Apps are not part of it (they are pushed to Lua at run time)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2

from deis.domain.routing import MAX_CONNECT_TIMEOUT, size_bytes

_AFFINITY = re.compile(r"^(auto|[01]+)( [01]+)*$")
_HOST_PORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")
_ADDRESS = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[0-9.]+|\*)$")


class ConfigError(ValueError):
    """A router setting that cannot be rendered into a valid nginx.conf."""


@dataclass(frozen=True)
class NginxConfig:
    prefix: Path  # STATE/router: nginx's own files (pid, logs, lua, default certificate)
    admin_socket: Path
    temp_dir: Path
    http_port: int
    https_port: int
    platform_domain: str
    controller_address: str  # "host:port"
    listen_addresses: tuple[str, ...] = ("127.0.0.1",)
    modules_dir: Path = Path("/usr/lib/nginx/modules")
    worker_user: str | None = None  # only when nginx runs as root
    worker_processes: str = "auto"
    worker_connections: int = 8192
    worker_cpu_affinity: str | None = None  # e.g. "auto"
    multi_accept: bool = True
    reuseport: bool = False  # a listening socket per worker, the kernel spreads connections
    access_log_buffer: str = "256k"
    error_log_level: str = "notice"
    client_max_body_size: str = "1m"  # an app's limit unless it sets DEIS_ROUTER_BODY_SIZE
    max_body_size: str = "1g"  # the ceiling: no app's DEIS_ROUTER_BODY_SIZE goes above it
    controller_max_body_size: str = "100m"
    client_timeout: int = 60
    client_keepalive_timeout: int = 75
    proxy_connect_timeout: int = 5
    proxy_read_timeout: int = 60  # also the idle limit of a WebSocket
    proxy_send_timeout: int = 60
    controller_timeout: int = 3600  # `deis logs --follow` streams
    # plain HTTP to the controller redirected (308) to https while there is a platform certificate
    controller_tls_enforce: bool = False
    # the address nginx connects to the controller from: the only one the controller
    # takes X-Forwarded-For from (None: nginx picks, and the controller trusts none)
    controller_source: str | None = None
    upstream_keepalive: int = 320
    max_tries: int = 3  # further replicas tried when one cannot be reached
    fail_timeout: int = 10  # seconds a replica that failed is skipped
    shared_dict_size: str = "64m"
    wake_timeout: int = 30  # seconds a request waits for a sleeping app to wake, then 503
    wake_queue: int = 100  # requests that may wait for one app to wake; more: 503 at once

    @property
    def controller_host(self) -> str:
        return f"deis.{self.platform_domain}"

    @property
    def body_size_bytes(self) -> int:
        return size_bytes(self.client_max_body_size)

    @property
    def max_body_size_bytes(self) -> int:
        return size_bytes(self.max_body_size)

    def validate(self) -> None:
        for name in ("http_port", "https_port"):
            port = getattr(self, name)
            if not 0 < port < 65536:
                raise ConfigError(f"{name} must be a port number, not {port}")
        if self.http_port == self.https_port:
            raise ConfigError("the HTTP and HTTPS ports must differ")
        for name in (
            "client_max_body_size",
            "max_body_size",
            "controller_max_body_size",
            "shared_dict_size",
            "access_log_buffer",
        ):
            try:
                size_bytes(getattr(self, name))
            except ValueError as exc:
                raise ConfigError(f"{name}: {exc}") from None
        if self.body_size_bytes > self.max_body_size_bytes:
            raise ConfigError(
                f"the body size of apps ({self.client_max_body_size}) is above the most any"
                f" app may set ({self.max_body_size})"
            )
        if not 0 < self.proxy_connect_timeout <= MAX_CONNECT_TIMEOUT:
            raise ConfigError(f"proxy_connect_timeout must be 1 to {MAX_CONNECT_TIMEOUT} s")
        if not _HOST_PORT.match(self.controller_address):
            raise ConfigError(
                f"the controller address must be host:port, not {self.controller_address!r}"
            )
        if not _HOST.match(self.platform_domain):
            raise ConfigError(f"bad platform domain {self.platform_domain!r}")
        if not self.listen_addresses:
            raise ConfigError("the router needs at least one address to listen on")
        for address in self.listen_addresses:
            if not _ADDRESS.match(address):
                raise ConfigError(f"bad listen address {address!r}")
        for name in (
            "worker_connections",
            "client_timeout",
            "client_keepalive_timeout",
            "proxy_read_timeout",
            "proxy_send_timeout",
            "controller_timeout",
            "upstream_keepalive",
            "fail_timeout",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive")
        if self.worker_cpu_affinity and not _AFFINITY.match(self.worker_cpu_affinity):
            raise ConfigError(f"bad worker_cpu_affinity {self.worker_cpu_affinity!r}")
        if self.max_tries < 0:
            raise ConfigError("max_tries must not be negative")
        for path in (self.prefix, self.admin_socket, self.temp_dir):
            if any(ch in str(path) for ch in " ;{}'\"\\\n"):
                raise ConfigError(f"the path {path} has a character nginx.conf cannot hold")


def _template() -> jinja2.Template:
    text = (resources.files("deis.router") / "templates" / "nginx.conf.j2").read_text()
    env = jinja2.Environment(
        autoescape=False,  # nginx.conf, not HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.from_string(text)


def render(config: NginxConfig) -> str:
    """nginx.conf for `config`; raises ConfigError for settings nginx could not take."""
    config.validate()
    return _template().render(c=config)


def lua_source() -> str:
    """The Lua module nginx loads (written next to nginx.conf at start)."""
    return (resources.files("deis.router") / "lua" / "deis_router.lua").read_text()
