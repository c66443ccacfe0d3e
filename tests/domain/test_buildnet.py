"""What a build may reach: the unreachable routes of its namespace (a pure decision)."""

from __future__ import annotations

import pytest

from deis.domain import buildnet
from deis.settings import SettingsError, from_env


def test_denied_routes_cover_the_pool_the_host_and_the_private_networks() -> None:
    routes = buildnet.denied_routes(
        ["127.0.0.1", "192.0.2.2", "10.199.0.1", "fe80::1"], "10.199.0.0/16"
    )
    assert routes == [
        "10.199.0.0/16",
        "192.0.2.2/32",
        "10.199.0.1/32",
        "10.0.2.2/32",
        "169.254.0.0/16",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
    ]


def test_the_operator_list_replaces_the_private_networks_but_not_the_rest() -> None:
    routes = buildnet.denied_routes(["198.51.100.7"], "10.199.0.0/16", denied=())
    assert routes == ["10.199.0.0/16", "198.51.100.7/32", "10.0.2.2/32", "169.254.0.0/16"]
    # slirp4netns's DNS forwarder stays reachable: its /24 route is more specific
    assert "10.0.2.0/24" not in routes and f"{buildnet.SLIRP_DNS}/32" not in routes


def test_settings_read_the_build_network_and_the_denied_networks() -> None:
    settings = from_env({"DEIS_BUILD_DENY_NETWORKS": "10.0.0.0/8, 192.168.1.7"})
    assert settings.build_network == "isolated"
    parsed = buildnet.parse_networks(settings.build_deny_networks)
    assert parsed == ("10.0.0.0/8", "192.168.1.7/32")
    assert buildnet.parse_networks("none") == ()
    assert buildnet.parse_networks(from_env({}).build_deny_networks) == buildnet.DEFAULT_DENIED
    assert from_env({"DEIS_BUILD_NETWORK": "none"}).build_network == "none"
    with pytest.raises(SettingsError, match="DEIS_BUILD_NETWORK"):
        from_env({"DEIS_BUILD_NETWORK": "host"})
    with pytest.raises(SettingsError, match="DEIS_BUILD_DENY_NETWORKS"):
        from_env({"DEIS_BUILD_DENY_NETWORKS": "10.0.0.300/8"})
