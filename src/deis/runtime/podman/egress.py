"""Outbound access for replicas (off by default): one slirp4netns process per namespace.

`slirp4netns --configure --disable-host-loopback --netns-type=path NS tap0` gives the
namespace a tap0 with a default route through a user-mode NAT: replicas can open
connections to the internet and to any address the host can reach, except the host's
loopback. No firewall rule is used. To keep replicas apart even so, each namespace also
gets an `unreachable 10.199.0.0/16` route (its own /30 stays reachable: it is more
specific). The host's other addresses stay reachable through the NAT: the platform's
own services must bind loopback or specific addresses.

Builds use the same (deis.runtime.podman.buildnet) with more unreachable routes: the
host's own addresses, slirp4netns's gateway and the private networks
(deis.domain.buildnet decides which).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
from collections.abc import Sequence
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

    def attach(
        self,
        namespace: str,
        *,
        unreachable: Sequence[str] = (),
        ready_timeout: float | None = None,
        session: bool = True,
    ) -> None:
        """Give the namespace a way out. `unreachable`: more networks to refuse inside it
        (routes set before the NAT starts); `ready_timeout`: wait until slirp4netns says
        the namespace is configured (a build starts at once; a replica need not wait);
        `session`: whether slirp4netns outlives this process (replicas do; a build's
        goes with the builder, and `deisctl down --purge` ends what a crash left)."""
        pidfile = self._pidfile(namespace)
        if self._alive(pidfile):
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        routes = [str(netns.POOL), *unreachable]
        netns.ip_batch(
            [f"route replace unreachable {route}" for route in dict.fromkeys(routes)],
            namespace=namespace,
        )
        ready_read, ready_write = os.pipe() if ready_timeout is not None else (-1, -1)
        ready = ["--ready-fd", str(ready_write)] if ready_timeout is not None else []
        try:
            process = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
                [
                    SLIRP,
                    "--configure",
                    "--disable-host-loopback",
                    *ready,
                    "--netns-type=path",
                    str(netns.NETNS_DIR / namespace),
                    "tap0",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=session,
                pass_fds=(ready_write,) if ready_timeout is not None else (),
            )
        finally:
            if ready_write >= 0:
                os.close(ready_write)
        self._children[process.pid] = process
        pidfile.write_text(str(process.pid))
        if ready_timeout is not None:
            try:
                if not _wait_ready(ready_read, ready_timeout):
                    self.detach(namespace)
                    raise netns.NetworkError(
                        f"slirp4netns did not configure {namespace} within {ready_timeout:g} s"
                    )
            finally:
                os.close(ready_read)

    def detach(self, namespace: str) -> None:
        pidfile = self._pidfile(namespace)
        if pid := self._alive(pidfile):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
            child = self._children.pop(pid, None)
            if child is not None:  # ours: reap it (it ends at once on SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=5)
        pidfile.unlink(missing_ok=True)

    def detach_all(self) -> None:
        if not self.directory.is_dir():
            return
        for pidfile in self.directory.glob("*.pid"):
            if pid := self._alive(pidfile):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
            pidfile.unlink(missing_ok=True)


def _wait_ready(fd: int, timeout: float) -> bool:
    """Whether slirp4netns wrote to its --ready-fd within the timeout."""
    readable, _, _ = select.select([fd], [], [], timeout)
    return bool(readable) and os.read(fd, 1) == b"1"
