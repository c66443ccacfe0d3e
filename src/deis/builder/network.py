"""Where a build's containers are connected: a port of the builder, given by the platform.

The pusher's code runs as root in the build's containers, so a build never shares the
host's network. On one machine the platform gives `deis.runtime.podman.buildnet`: a
network namespace per build whose only way out is a user-mode NAT that refuses the
platform's services and the replicas. Without one, builds get no network at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class BuildNetwork(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def run_inside(self) -> tuple[str, ...]: ...  # a command prefix: what runs outside

    # containers (git cloning a BUILDPACK_URL) runs in the namespace with it

    @property
    def podman_args(self) -> tuple[str, ...]: ...  # for `podman run` and `podman build`


class BuildNetworks(Protocol):
    def open(self) -> BuildNetwork: ...

    def close(self, name: str) -> None: ...

    def purge(self) -> None: ...  # what a builder that died left


@dataclass(frozen=True)
class Offline:
    name: str = "none"
    run_inside: tuple[str, ...] = ()
    podman_args: tuple[str, ...] = ("--network=none",)


class NoNetworks:
    """Builds with a loopback only (no package can be fetched)."""

    def open(self) -> BuildNetwork:
        return Offline()

    def close(self, name: str) -> None:
        return None

    def purge(self) -> None:
        return None
