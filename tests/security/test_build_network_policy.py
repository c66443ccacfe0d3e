"""Issue 17, item 2 on Kubernetes: build pods get NetworkPolicies to the same effect as
the build namespaces on one machine.

There is no cluster here, so the install's rendered policies (validated against the
official schemas by tests/kubernetes/test_render.py) are read with NetworkPolicy's
documented semantics (a pod selected by a policy of a type may only do what one of
those policies' rules allows; ipBlock `except` removes addresses; peers with both
selectors need both to match), applied to a build pod built by the builder's own
`pod_manifest` and to the addresses an attacker would try.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pytest

from deis.builder.kubernetes import (
    DOCKERBUILDER,
    BuildPod,
    ClusterBuildOptions,
    pod_manifest,
)
from deis.platform.kubernetes.render import InstallOptions, render

OPTIONS = InstallOptions(
    domain="apps.example.com",
    database_url="postgresql://deis:pw@db.example.com:5432/deis",
    builder_key="k" * 64,
    s3_endpoint="https://s3.example.com",
)
CONTROLLER = {"heritage": "deis", "app": "deis", "component": "controller"}
REGISTRY = {"heritage": "deis", "app": "deis", "component": "registry"}
KUBE_DNS = {"k8s-app": "kube-dns"}


@dataclass(frozen=True)
class Peer:
    """Where a connection goes: an address, and the pod there (if any)."""

    address: str
    port: int
    protocol: str = "TCP"
    labels: dict[str, str] = field(default_factory=dict)
    namespace: str = "deis"
    namespace_labels: dict[str, str] = field(default_factory=dict)


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, selector  # what the install uses
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def peer_matches(rule_peer: dict[str, Any], peer: Peer, policy_namespace: str) -> bool:
    if "ipBlock" in rule_peer:
        block = rule_peer["ipBlock"]
        address = ipaddress.ip_address(peer.address)
        inside = address in ipaddress.ip_network(block["cidr"])
        excepted = any(address in ipaddress.ip_network(n) for n in block.get("except", []))
        return inside and not excepted
    if not peer.labels:  # not a pod: only an ipBlock can match it
        return False
    if "namespaceSelector" in rule_peer:
        if not selects(rule_peer["namespaceSelector"], peer.namespace_labels):
            return False
    elif peer.namespace != policy_namespace:
        return False
    return selects(rule_peer.get("podSelector", {}), peer.labels)


def ports_match(rule: dict[str, Any], peer: Peer) -> bool:
    ports = rule.get("ports")
    return not ports or any(
        p.get("port") == peer.port and p.get("protocol", "TCP") == peer.protocol for p in ports
    )


def egress_allowed(policies: list[dict[str, Any]], pod: dict[str, Any], peer: Peer) -> bool:
    labels, namespace = pod["metadata"]["labels"], pod["metadata"]["namespace"]
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == namespace
        and selects(p["spec"]["podSelector"], labels)
        and "Egress" in p["spec"]["policyTypes"]
    ]
    if not selecting:
        return True
    return any(
        ports_match(rule, peer)
        and any(peer_matches(to, peer, namespace) for to in rule.get("to", []))
        for policy in selecting
        for rule in policy["spec"].get("egress", [])
    )


def ingress_isolated(policies: list[dict[str, Any]], pod: dict[str, Any]) -> bool:
    labels = pod["metadata"]["labels"]
    selecting = [
        p
        for p in policies
        if selects(p["spec"]["podSelector"], labels) and "Ingress" in p["spec"]["policyTypes"]
    ]
    return bool(selecting) and all(not p["spec"].get("ingress") for p in selecting)


def build_pod(builder: str = "slugbuilder") -> dict[str, Any]:
    pod = BuildPod("mallory-app", "0" * 40, "mallory-app-build-0000000-abcdef",
                   f"deis/{builder}:1", {}, 905, builder=builder)  # fmt: skip
    return pod_manifest(pod, ClusterBuildOptions(namespace=OPTIONS.namespace))


def policies(options: InstallOptions = OPTIONS) -> list[dict[str, Any]]:
    return [m for m in render(options) if m["kind"] == "NetworkPolicy"]


# what a build tried on one machine, as addresses in a cluster
FORBIDDEN = {
    "registry": Peer("10.244.1.7", 5000, labels=REGISTRY),
    "controller API": Peer("10.244.1.5", 8000, labels=CONTROLLER),
    "builder SSH": Peer("10.244.1.5", 2222, labels=CONTROLLER),
    "another app's pod": Peer("10.244.2.9", 5000, labels={"app": "bob-app"}, namespace="bob-app"),
    "a Service's cluster IP": Peer("10.96.0.10", 80),
    "a node's kubelet": Peer("192.168.49.2", 10250),
    "cloud metadata": Peer("169.254.169.254", 80),
    "a private network": Peer("172.20.0.4", 5432),
}
ALLOWED = {
    "PyPI": Peer("151.101.0.223", 443),
    "npm": Peer("104.16.1.35", 443),
    "cluster DNS": Peer("10.244.0.3", 53, "UDP", KUBE_DNS, "kube-system", {"name": "kube-system"}),
}


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
@pytest.mark.parametrize("builder", ["slugbuilder", DOCKERBUILDER])
def test_build_pod_cannot_reach_the_platform_or_other_pods(builder: str, name: str) -> None:
    peer = FORBIDDEN[name]
    allowed = egress_allowed(policies(), build_pod(builder), peer)
    if builder == DOCKERBUILDER and name == "registry":
        assert allowed  # it pushes the image it built
    else:
        assert not allowed, f"a {builder} pod reaches {name}"


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_build_pod_reaches_package_registries_and_dns(name: str) -> None:
    assert egress_allowed(policies(), build_pod(), ALLOWED[name])


def test_build_pod_takes_no_connection() -> None:
    assert ingress_isolated(policies(), build_pod())
    assert ingress_isolated(policies(), build_pod(DOCKERBUILDER))


def test_build_pods_without_the_policies_reached_everything() -> None:
    """What the install gave before: no policy, every address reachable."""
    pod = build_pod()
    assert all(egress_allowed([], pod, peer) for peer in FORBIDDEN.values())


def test_build_policies_follow_the_operator() -> None:
    from dataclasses import replace

    store = Peer("10.244.3.4", 9000, labels={"app": "minio"})
    assert not egress_allowed(policies(), build_pod(), store)
    allowing = replace(OPTIONS, build_allow_cidrs=("10.244.3.0/24",))
    assert egress_allowed(policies(allowing), build_pod(), store)
    other = replace(OPTIONS, build_deny_cidrs=("10.0.0.0/8",))
    assert egress_allowed(policies(other), build_pod(), FORBIDDEN["a private network"])
    assert not egress_allowed(policies(other), build_pod(), FORBIDDEN["cloud metadata"])
