"""Network namespaces and addresses: one namespace per replica, a veth pair on a /30.

Addresses come from 10.199.0.0/16, allocated machine-wide so that two platform instances
on one machine never collide: an exclusive flock on IPAM_DIR/lock, and one file per
allocated /30 (named by its network address) recording the instance, the state dir, the
namespace, the veth and the container. The host end of the pair gets .1, the replica .2;
the replica has no default route, so it reaches the host only (and nothing else, not
even another replica), and no firewall rule is ever needed.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from deis.runtime import naming

IPAM_DIR = Path("/run/deis-ipam")
NETNS_DIR = Path("/run/netns")
POOL = ipaddress.IPv4Network("10.199.0.0/16")
IP = "ip"
TIMEOUT = 20.0


class NetworkError(RuntimeError):
    pass


@dataclass(frozen=True)
class Allocation:
    network: str  # "10.199.0.4" (the /30's network address)
    instance: str
    state_dir: str
    netns: str
    veth: str
    container: str

    @property
    def host_address(self) -> str:
        return str(ipaddress.IPv4Address(self.network) + 1)

    @property
    def address(self) -> str:
        return str(ipaddress.IPv4Address(self.network) + 2)

    @property
    def netns_path(self) -> Path:
        return NETNS_DIR / self.netns


def ip(args: Sequence[str], *, check: bool = True, stdin: str | None = None) -> str:
    done = subprocess.run(  # noqa: S603 - an argument list, never a shell
        [IP, *args],
        input=(stdin or "").encode(),
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    if check and done.returncode != 0:
        raise NetworkError(f"ip {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode(errors="replace")


def ip_batch(lines: Sequence[str], namespace: str | None = None, check: bool = True) -> None:
    """Run `ip -b FILE` (inside `namespace` with -n): one process for many commands."""
    with tempfile.NamedTemporaryFile("w", prefix="deis-ip-", suffix=".batch") as batch:
        batch.write("\n".join(lines) + "\n")
        batch.flush()
        args = ["-n", namespace] if namespace else []
        ip([*args, "-b", batch.name], check=check)


def namespace_exists(name: str) -> bool:
    return os.path.ismount(NETNS_DIR / name)


def delete_namespace(name: str) -> None:
    """Delete a namespace (its veth pair goes with it); a stale file is removed too."""
    if namespace_exists(name):
        ip(["netns", "del", name], check=False)
    with contextlib.suppress(OSError):
        (NETNS_DIR / name).unlink()


def create_isolated(name: str) -> Path:
    """A namespace with only a loopback (for one-off runs)."""
    delete_namespace(name)
    ip(["netns", "add", name])
    ip(["-n", name, "link", "set", "lo", "up"])
    return NETNS_DIR / name


class Ipam:
    """Machine-wide /30 allocations, one file each, under an exclusive lock."""

    def __init__(self, directory: Path = IPAM_DIR, pool: ipaddress.IPv4Network = POOL) -> None:
        self.directory = directory
        self.pool = pool

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o755)
        with open(self.directory / "lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self, path: Path) -> Allocation | None:
        try:
            return Allocation(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def all(self) -> list[Allocation]:
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.iterdir():
            if path.name.startswith("10.") and (allocation := self._read(path)):
                found.append(allocation)
        return found

    def of_instance(self, instance: str) -> list[Allocation]:
        return [a for a in self.all() if a.instance == instance]

    def allocate(self, instance: str, state_dir: Path, container: str) -> Allocation:
        with self.locked():
            taken = {p.name for p in self.directory.iterdir()}
            for subnet in self.pool.subnets(new_prefix=30):
                network = str(subnet.network_address)
                if network in taken:
                    continue
                allocation = Allocation(
                    network=network,
                    instance=instance,
                    state_dir=str(state_dir),
                    netns=naming.netns_name(instance, container),
                    veth=naming.veth_name(instance, container),
                    container=container,
                )
                target = self.directory / network
                temporary = self.directory / f".{network}.tmp"
                temporary.write_text(json.dumps(asdict(allocation)))
                os.replace(temporary, target)
                return allocation
        raise NetworkError(f"no free /30 left in {self.pool}")

    def release(self, allocation: Allocation) -> None:
        with self.locked():
            path = self.directory / allocation.network
            current = self._read(path)
            if current is not None and current.instance == allocation.instance:
                path.unlink(missing_ok=True)


def setup(allocation: Allocation) -> None:
    """Make the namespace and its veth pair (about 10 ms, two `ip -b` batches)."""
    delete_namespace(allocation.netns)
    ip(["link", "del", allocation.veth], check=False)
    ip_batch(
        [
            f"netns add {allocation.netns}",
            f"link add {allocation.veth} type veth peer name eth0 netns {allocation.netns}",
            f"addr add {allocation.host_address}/30 dev {allocation.veth}",
            f"link set {allocation.veth} up",
        ]
    )
    ip_batch(
        [
            f"addr add {allocation.address}/30 dev eth0",
            "link set eth0 up",
            "link set lo up",
        ],
        namespace=allocation.netns,
    )


def ensure(allocation: Allocation) -> None:
    """Set the namespace up again if it is gone (after a reboot, or a purge by hand)."""
    if not namespace_exists(allocation.netns):
        setup(allocation)


def teardown(allocation: Allocation) -> None:
    delete_namespace(allocation.netns)
    ip(["link", "del", allocation.veth], check=False)


def host_addresses() -> list[str]:
    """The IPv4 addresses of this host's interfaces (in the namespace this runs in)."""
    out = ip(["-o", "-4", "addr", "show"], check=False)
    found = []
    for line in out.splitlines():
        fields = line.split()
        if "inet" in fields:
            found.append(fields[fields.index("inet") + 1].split("/", 1)[0])
    return found


def host_links() -> list[str]:
    out = ip(["-o", "link", "show"], check=False)
    names = []
    for line in out.splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            names.append(parts[1].strip().split("@", 1)[0])
    return names


def purge_instance(instance: str, ipam: Ipam) -> None:
    """Remove every namespace, veth and allocation of one instance."""
    prefix = naming.netns_prefix(instance)
    if NETNS_DIR.is_dir():
        for entry in NETNS_DIR.iterdir():
            if entry.name.startswith(prefix):
                delete_namespace(entry.name)
    veth_prefix = naming.veth_prefix(instance)
    for link in host_links():
        if link.startswith(veth_prefix):
            ip(["link", "del", link], check=False)
    for allocation in ipam.of_instance(instance):
        teardown(allocation)
        ipam.release(allocation)
