"""What a build may reach over the network: a pure decision.

A build runs the pusher's code as root, so it gets a network namespace of its own whose
only way out is a user-mode NAT (slirp4netns). Everything a build needs (PyPI, npm,
Debian's mirrors, git hosts) is on the internet; everything it must not reach is on this
machine or next to it: the platform's services, the replicas' addresses, the host's own
addresses, the cloud's metadata service, the operator's private networks. Those are made
`unreachable` routes inside the build's namespace (a route there, never a firewall rule
or a change to the host's routes): a connection to them fails at once with "No route to
host", and everything else goes out through the NAT.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

# slirp4netns's fixed addresses inside the namespace: the gateway that stands for the
# host, and its DNS forwarder (which resolves on the host, with the host's resolver)
SLIRP_GATEWAY = "10.0.2.2"
SLIRP_DNS = "10.0.2.3"

# Never reachable from a build, whatever the operator sets: the gateway that stands for
# the host (slirp4netns's --disable-host-loopback already refuses the host's loopback
# through it), and link-local addresses (cloud metadata services live at 169.254.169.254).
LINK_LOCAL = "169.254.0.0/16"
ALWAYS_DENIED = (f"{SLIRP_GATEWAY}/32", LINK_LOCAL)

# The default of DEIS_BUILD_DENY_NETWORKS: private and shared address space, where the
# operator's own machines (a database, another platform, a mirror) usually are.
DEFAULT_DENIED = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")

MODES = ("isolated", "none")


class InvalidNetwork(ValueError):
    pass


def parse_networks(text: str) -> tuple[str, ...]:
    """`10.0.0.0/8, 192.168.1.7` → ("10.0.0.0/8", "192.168.1.7/32"); "" or "none" → ()."""
    if text.strip().lower() == "none":
        return ()
    found = []
    for part in text.replace(",", " ").split():
        try:
            found.append(str(ipaddress.IPv4Network(part, strict=False)))
        except ValueError as exc:
            raise InvalidNetwork(f"{part!r} is not an IPv4 address or network") from exc
    return tuple(found)


def denied_routes(
    host_addresses: Iterable[str], replica_pool: str, denied: Iterable[str] = DEFAULT_DENIED
) -> list[str]:
    """The `unreachable` routes of a build's namespace: the replicas' pool, each of the
    host's own IPv4 addresses, the always-denied networks and the operator's list.
    slirp4netns's own /24 (where its DNS forwarder is) stays reachable: it is more
    specific than 10.0.0.0/8, and its gateway gets a /32 of its own."""
    networks: list[ipaddress.IPv4Network] = [ipaddress.IPv4Network(replica_pool)]
    for address in host_addresses:
        parsed = ipaddress.ip_address(address)
        if isinstance(parsed, ipaddress.IPv4Address) and not parsed.is_loopback:
            networks.append(ipaddress.IPv4Network(f"{parsed}/32"))
    networks += [ipaddress.IPv4Network(n, strict=False) for n in (*ALWAYS_DENIED, *denied)]
    seen: set[ipaddress.IPv4Network] = set()
    routes = []
    for network in networks:
        if network not in seen:
            seen.add(network)
            routes.append(str(network))
    return routes
