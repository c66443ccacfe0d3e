"""What a replica that is not ready listens on, and what that says (pure).

The runtime reads the TCP sockets of a replica's network namespace (`/proc/PID/net/tcp`
and `tcp6` of its process) and says why the router cannot reach it: "web listens on
3000, but $PORT is 5000", "listens on 127.0.0.1:5000 only", or "listens on no TCP port
yet". Heroku's R10 says only "failed to bind to $PORT within 60 seconds".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

LISTEN = "0A"  # the TCP state of a listening socket in /proc/net/tcp


def _address(hex_address: str) -> str:
    """/proc/net/tcp's address: 32-bit words in the host's (little-endian) order."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def parse_proc_net_tcp(text: str) -> list[tuple[str, int]]:
    """The (address, port) of every listening socket in a /proc/net/tcp or tcp6 table."""
    found = set()
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != LISTEN:
            continue
        address, _, port = fields[1].partition(":")
        try:
            found.add((_address(address), int(port, 16)))
        except ValueError:
            continue
    return sorted(found)


@dataclass(frozen=True)
class Diagnosis:
    message: str
    wrong: bool  # it listens, but not where the router can reach it: waiting will not help


def diagnose(proc_type: str, port: int, sockets: Iterable[tuple[str, int]]) -> Diagnosis | None:
    """Why a replica of `proc_type` that should listen on `port` ($PORT) gets no
    traffic; None when it listens there on an address the host reaches."""
    sockets = list(sockets)
    on_port = sorted({a for a, p in sockets if p == port})
    if any(not ipaddress.ip_address(a).is_loopback for a in on_port):
        return None
    if on_port:
        return Diagnosis(
            f"{proc_type} listens on {on_port[0]}:{port} only, which the router cannot"
            f" reach: listen on 0.0.0.0:$PORT",
            wrong=True,
        )
    others = sorted({p for _, p in sockets})
    if others:
        listed = ", ".join(str(p) for p in others)
        return Diagnosis(f"{proc_type} listens on {listed}, but $PORT is {port}", wrong=True)
    return Diagnosis(
        f"{proc_type} listens on no TCP port yet (it must listen on $PORT, {port})",
        wrong=False,
    )
