"""Outbound access for replicas (off by default): one slirp4netns process per namespace.

`slirp4netns --configure --disable-host-loopback --netns-type=path NS tap0` gives the
namespace a tap0 with a default route through a user-mode NAT: replicas can open
connections to the internet and to any address the host can reach, except the host's
loopback. No firewall rule is used. To keep replicas apart even so, each namespace also
gets an `unreachable 10.199.0.0/16` route (its own /30 stays reachable: it is more
specific). The host's other addresses stay reachable through the NAT: the platform's
own services must bind loopback or specific addresses.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from deis.runtime.podman import netns

SLIRP = "slirp4netns"


class Egress:
    def __init__(self, state_dir: Path) -> None:
        self.directory = state_dir / "runtime" / "egress"
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def _pidfile(self, namespace: str) -> Path:
        return self.directory / f"{namespace}.pid"

    def _alive(self, pidfile: Path) -> int | None:
        try:
            pid = int(pidfile.read_text().strip())
            child = self._children.get(pid)
            if child is not None and child.poll() is not None:  # exited: reaped now
                del self._children[pid]
                return None
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def attach(self, namespace: str) -> None:
        pidfile = self._pidfile(namespace)
        if self._alive(pidfile):
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
            [
                SLIRP,
                "--configure",
                "--disable-host-loopback",
                "--netns-type=path",
                str(netns.NETNS_DIR / namespace),
                "tap0",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # outlives the platform, like the containers
        )
        self._children[process.pid] = process
        pidfile.write_text(str(process.pid))
        netns.ip(["-n", namespace, "route", "add", "unreachable", str(netns.POOL)], check=False)

    def detach(self, namespace: str) -> None:
        pidfile = self._pidfile(namespace)
        if pid := self._alive(pidfile):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        pidfile.unlink(missing_ok=True)

    def detach_all(self) -> None:
        if not self.directory.is_dir():
            return
        for pidfile in self.directory.glob("*.pid"):
            if pid := self._alive(pidfile):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
            pidfile.unlink(missing_ok=True)
