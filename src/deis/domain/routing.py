"""What the router must do for one app: a pure function of the app's records."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from deis.domain.domains import resolve_host
from deis.domain.errors import Invalid
from deis.domain.records import TLS, AppSettings, Certificate, Domain

# App config keys the router reads (the app sees them in its environment too). Unset,
# the platform's defaults apply.
BODY_SIZE_KEY = "DEIS_ROUTER_BODY_SIZE"
TIMEOUT_KEYS = {
    "DEIS_ROUTER_CONNECT_TIMEOUT": "connect_timeout",
    "DEIS_ROUTER_READ_TIMEOUT": "read_timeout",
    "DEIS_ROUTER_SEND_TIMEOUT": "send_timeout",
}
ROUTER_KEYS = (BODY_SIZE_KEY, *TIMEOUT_KEYS)
MAX_CONNECT_TIMEOUT = 75  # nginx: "usually cannot exceed 75 seconds"
MAX_TIMEOUT = 86_400

_SIZE = re.compile(r"^([0-9]{1,12})([kKmMgG]?)$")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_SECONDS = re.compile(r"^([0-9]{1,6})s?$")


def size_bytes(text: str) -> int:
    """An nginx size ("512k", "10m", "1g", "4096") in bytes; ValueError if it is not one."""
    m = _SIZE.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a size like 512k, 10m or 1g")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def check_router_value(key: str, value: str) -> str:
    """The value of a router config key, checked; raises Invalid with what to write."""
    text = value.strip()
    if key == BODY_SIZE_KEY:
        try:
            if size_bytes(text) > 0:
                return text
        except ValueError:
            pass
        raise Invalid(
            f"{key} must be a size in bytes with an optional unit, like 512k, 10m or 1g"
            f" (not {value!r}).",
            field="values",
        )
    limit = MAX_CONNECT_TIMEOUT if key == "DEIS_ROUTER_CONNECT_TIMEOUT" else MAX_TIMEOUT
    m = _SECONDS.match(text)
    if not m or not 1 <= int(m.group(1)) <= limit:
        raise Invalid(
            f"{key} must be a number of seconds from 1 to {limit}, like 30 or 30s (not {value!r}).",
            field="values",
        )
    return text


@dataclass(frozen=True)
class RouteLimits:
    """An app's own request limits; None: the router's default."""

    body_size: int | None = None  # bytes
    connect_timeout: int | None = None  # seconds
    read_timeout: int | None = None
    send_timeout: int | None = None


def route_limits(values: Mapping[str, str]) -> RouteLimits:
    """The app's limits from its config values. A value the config checks would refuse
    today (set before they existed) is left out: the default applies."""
    found: dict[str, int] = {}
    for key in ROUTER_KEYS:
        raw = values.get(key)
        if raw is None:
            continue
        try:
            text = check_router_value(key, raw)
        except Invalid:
            continue
        if key == BODY_SIZE_KEY:
            found["body_size"] = size_bytes(text)
        else:
            found[TIMEOUT_KEYS[key]] = int(text.rstrip("s"))
    return RouteLimits(**found)


@dataclass(frozen=True)
class TLSCertificate:
    name: str
    hosts: tuple[str, ...]  # the app's hosts this certificate is attached to
    certificate: str = field(repr=False)  # PEM chain
    key: str = field(repr=False)  # PEM private key


@dataclass(frozen=True)
class AppRoute:
    app: str
    hosts: tuple[str, ...]  # full host names: APP.<platform domain>, custom, "*.x" wildcards
    certificates: tuple[TLSCertificate, ...] = ()
    https_enforced: bool = False
    maintenance: bool = False
    routable: bool = True
    whitelist: tuple[str, ...] = ()  # CIDR networks or addresses; empty allows everyone
    limits: RouteLimits = RouteLimits()
    # hosts whose certificates the cluster's certificate manager gets (automatic TLS on
    # Kubernetes, with cert-manager); empty where the platform orders them itself
    auto_tls: tuple[str, ...] = ()
    # the platform's own ACME client validates the hosts over HTTP-01: a router that does
    # not answer the challenges itself (a cluster's) sends their path to the controller
    acme_challenges: bool = False
    # the app may sleep: a request finding no ready replica is held while the platform
    # wakes the app (deis.domain.sleep), instead of a 503 at once
    wakes: bool = False


def app_route(
    app_id: str,
    domains: list[Domain],
    certificates: list[Certificate],
    settings: AppSettings,
    tls: TLS,
    platform_domain: str,
    config_values: Mapping[str, str] | None = None,
    auto_tls: bool = False,
    acme_challenges: bool = False,
    wakes: bool = False,
) -> AppRoute:
    """What the router serves for an app. `auto_tls`: the cluster's certificate manager
    gets a certificate for each host that has none of the user's and is not a wildcard."""
    hosts = tuple(resolve_host(d.domain, platform_domain) for d in domains)
    attached = []
    for cert in certificates:
        covered = tuple(
            resolve_host(d, platform_domain)
            for d in cert.domains
            if d in {x.domain for x in domains}
        )
        if covered:
            attached.append(TLSCertificate(cert.name, covered, cert.certificate, cert.key))
    return AppRoute(
        app=app_id,
        hosts=hosts,
        certificates=tuple(attached),
        https_enforced=tls.https_enforced,
        maintenance=settings.maintenance,
        routable=settings.routable,
        whitelist=tuple(settings.whitelist),
        limits=route_limits(config_values or {}),
        auto_tls=_without_certificate(hosts, attached) if auto_tls else (),
        acme_challenges=acme_challenges,
        wakes=wakes,
    )


def _without_certificate(hosts: tuple[str, ...], attached: list[TLSCertificate]) -> tuple[str, ...]:
    covered = {host for cert in attached for host in cert.hosts}
    return tuple(h for h in dict.fromkeys(hosts) if h not in covered and not h.startswith("*."))
