"""Build namespaces (deis.runtime.podman.buildnet) made and removed for real: `ip netns`,
slirp4netns, the unreachable routes, and what a builder that died leaves."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from deis.runtime.podman import netns
from deis.runtime.podman.buildnet import BuildNetworks

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")


def instance() -> str:
    return f"test-{os.getpid()}-b{secrets.token_hex(2)}"


def routes(name: str) -> str:
    return netns.ip(["-n", name, "route"])


def in_namespace(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - an argument list
        ["ip", "netns", "exec", name, *args], capture_output=True, text=True, timeout=30
    )


def test_isolated_build_network_goes_out_through_slirp_and_refuses_this_machine(
    tmp_path: Path,
) -> None:
    networks = BuildNetworks(tmp_path, instance())
    started = time.monotonic()
    network = networks.open()
    opened = time.monotonic() - started
    try:
        assert network.podman_args == (f"--network=ns:{network.path}", "--dns=10.0.2.3")
        table = routes(network.name)
        assert "default via 10.0.2.2 dev tap0" in table
        for route in ("10.199.0.0/16", "10.0.2.2", "169.254.0.0/16", "10.0.0.0/8"):
            assert f"unreachable {route} " in table + " ", table
        host = [a for a in netns.host_addresses() if not a.startswith(("127.", "10.199."))]
        assert all(f"unreachable {a} " in table for a in host), table
        pidfile = tmp_path / "runtime" / "egress" / f"{network.name}.pid"
        assert pidfile.is_file()
        print(f"opened in {opened * 1000:.0f} ms")
    finally:
        started = time.monotonic()
        networks.close(network.name)
        print(f"closed in {(time.monotonic() - started) * 1000:.0f} ms")
    assert not netns.namespace_exists(network.name)
    assert not pidfile.exists()
    assert not in_namespace(network.name, "true").returncode == 0


def test_what_the_builder_runs_inside_resolves_names_and_reaches_package_registries(
    tmp_path: Path,
) -> None:
    networks = BuildNetworks(tmp_path, instance())
    network = networks.open()
    try:
        done = subprocess.run(  # noqa: S603 - an argument list
            [*network.run_inside, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
             "-m", "20", "https://pypi.org/simple/pip/"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert done.stdout == "200", done.stderr
        assert Path(f"/etc/netns/{network.name}/resolv.conf").read_text() == (
            "nameserver 10.0.2.3\n"
        )
    finally:
        networks.close(network.name)
    assert not Path(f"/etc/netns/{network.name}").exists()


def test_no_build_network_has_a_loopback_only(tmp_path: Path) -> None:
    networks = BuildNetworks(tmp_path, instance(), mode="none")
    network = networks.open()
    try:
        assert network.podman_args[1] == "--dns=none"
        assert routes(network.name).strip() == ""
    finally:
        networks.close(network.name)


def test_purge_removes_what_a_dead_builder_left(tmp_path: Path) -> None:
    networks = BuildNetworks(tmp_path, instance())
    left = [networks.open(), networks.open()]
    pids = [int((tmp_path / "runtime" / "egress" / f"{n.name}.pid").read_text()) for n in left]
    BuildNetworks(tmp_path, networks.instance_id).purge()  # a new builder, at its start
    assert not any(netns.namespace_exists(n.name) for n in left)
    deadline = time.monotonic() + 5
    while any(
        Path(f"/proc/{pid}").exists() and "slirp" in Path(f"/proc/{pid}/cmdline").read_text()
        for pid in pids
    ):
        assert time.monotonic() < deadline, "slirp4netns still runs"
        time.sleep(0.05)
