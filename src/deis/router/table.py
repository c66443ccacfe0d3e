"""The routing table the adapter keeps: what it pushes to nginx, in the admin socket's
text format, and what it saves to table.json. Pure, except `save` and `load`."""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from deis.domain.routing import AppRoute, RouteLimits, TLSCertificate
from deis.router.certs import PlatformCertificate, write_private

log = logging.getLogger(__name__)

Peer = tuple[str, int]  # (IP address, port)

_APP = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_HOSTNAME = re.compile(
    r"^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$"
)


class TableError(ValueError):
    pass


_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
_KEY_AUTHORIZATION = re.compile(r"^[A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{1,200}$")


def check_challenge(host: str, token: str, key_authorization: str) -> str:
    """An ACME HTTP-01 challenge checked before it reaches nginx; answers the host in the
    form nginx keeps it."""
    name = host.strip().lower().rstrip(".")
    if not _HOSTNAME.match(name) or name.startswith("*."):
        raise TableError(f"bad challenge host {host!r}")
    if not _TOKEN.match(token) or not _KEY_AUTHORIZATION.match(key_authorization):
        raise TableError("bad challenge token or key authorization")
    return name


def check_app(app_id: str) -> str:
    if not _APP.match(app_id):
        raise TableError(f"bad app id {app_id!r}")
    return app_id


def split_peer(text: str) -> tuple[str, int]:
    """ "host:port" or "[v6]:port" → (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise TableError(f"a peer must be host:port, not {text!r}")
    return host, int(port)


def encode_peers(peers: list[Peer]) -> str:
    return "".join(f"{ip} {port}\n" for ip, port in peers)


def _allow_lines(whitelist: tuple[str, ...]) -> list[str]:
    lines = ["allowlist 1"]
    for entry in whitelist:
        try:
            net = ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            log.warning("ignoring the allow-list entry %r: not an address or network", entry)
            continue
        lines.append(f"allow {net.version} {net.network_address.packed.hex()} {net.prefixlen}")
    return lines


def route_hosts(route: AppRoute) -> set[str]:
    """The app's hosts in the form nginx keeps them."""
    return {h.strip().lower().rstrip(".") for h in route.hosts}


def encode_route(route: AppRoute) -> str:
    """The admin socket's body for PUT /apps/APP: settings, hosts, certificates.

    An allow-list whose entries are all invalid still denies everyone (never opens up)."""
    lines = [
        f"maintenance {int(route.maintenance)}",
        f"routable {int(route.routable)}",
        f"https {int(route.https_enforced)}",
    ]
    if route.wakes:
        lines.append("wakes 1")
    if route.whitelist:
        lines.extend(_allow_lines(route.whitelist))
    limits = route.limits
    if limits.body_size is not None:
        lines.append(f"body_size {limits.body_size}")
    for name in ("connect_timeout", "read_timeout", "send_timeout"):
        value = getattr(limits, name)
        if value is not None:
            lines.append(f"{name} {value}")
    for host in route.hosts:
        host = host.strip().lower().rstrip(".")
        if not _HOSTNAME.match(host):
            log.warning("ignoring the host %r of %s: not a host name", host, route.app)
            continue
        lines.append(f"host {host}")
    for cert in route.certificates:
        pem = base64.b64encode(cert.certificate.encode()).decode()
        key = base64.b64encode(cert.key.encode()).decode()
        for host in cert.hosts:
            host = host.strip().lower().rstrip(".")
            if _HOSTNAME.match(host):
                lines.append(f"cert {host} {pem} {key}")
    return "\n".join(lines) + "\n"


def encode_platform(cert: PlatformCertificate, default: bool) -> str:
    """The admin socket's body for PUT /platform: the names the platform's certificate
    covers, whether it is also the default one, and the pair (base64)."""
    lines = [f"name {n}" for n in cert.names if _HOSTNAME.match(n)]
    lines.append(f"default {int(default)}")
    pem = base64.b64encode(cert.certificate.encode()).decode()
    key = base64.b64encode(cert.key.encode()).decode()
    lines.append(f"cert {pem} {key}")
    return "\n".join(lines) + "\n"


def route_to_json(route: AppRoute) -> dict[str, Any]:
    return asdict(route)


def route_from_json(data: dict[str, Any]) -> AppRoute:
    certs = tuple(
        TLSCertificate(c["name"], tuple(c["hosts"]), c["certificate"], c["key"])
        for c in data.get("certificates", ())
    )
    return AppRoute(
        app=data["app"],
        hosts=tuple(data.get("hosts", ())),
        certificates=certs,
        https_enforced=bool(data.get("https_enforced", False)),
        maintenance=bool(data.get("maintenance", False)),
        routable=bool(data.get("routable", True)),
        whitelist=tuple(data.get("whitelist", ())),
        limits=RouteLimits(**data.get("limits", {})),
        wakes=bool(data.get("wakes", False)),
    )


def save(path: Path, routes: dict[str, AppRoute], peers: dict[str, list[Peer]]) -> None:
    """table.json, 0600: it holds private keys."""
    data = {
        "version": 1,
        "routes": {app: route_to_json(r) for app, r in sorted(routes.items())},
        "peers": {
            app: [f"{ip}:{port}" if ":" not in ip else f"[{ip}]:{port}" for ip, port in p]
            for app, p in sorted(peers.items())
        },
    }
    write_private(path, json.dumps(data, indent=1))


def load(path: Path) -> tuple[dict[str, AppRoute], dict[str, list[Peer]]]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}, {}
    except (OSError, ValueError) as exc:
        log.error("cannot read the routing table %s (%s): starting empty", path, exc)
        return {}, {}
    routes = {app: route_from_json(r) for app, r in data.get("routes", {}).items()}
    peers = {app: [split_peer(p) for p in ps] for app, ps in data.get("peers", {}).items()}
    return routes, peers
