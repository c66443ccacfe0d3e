"""An add-on on a cluster as manifests, validated against the official schemas."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deis.domain.addons import Addon
from deis.runtime.kubernetes import addons as k8s

from .validation import validate

NOW = datetime(2026, 12, 6, tzinfo=UTC)


@pytest.mark.parametrize(("service", "plan"), [("postgres", "standard"), ("redis", "mini")])
def test_manifests_are_valid_and_admit_only_the_attached_apps(service: str, plan: str) -> None:
    addon = Addon(f"{service}-calm-1234", service, plan, "shop", "alice", "pw", 25000, NOW, NOW)
    found = k8s.manifests(addon, ["shop", "reports"], "registry.example.com/deis/stack-addons:1")
    for manifest in found:
        validate(manifest)
    assert [m["kind"] for m in found] == ["Secret", "Service", "StatefulSet", "NetworkPolicy"]
    assert {m["metadata"]["namespace"] for m in found} == {"shop"}
    stateful = found[2]["spec"]
    claim = stateful["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
    assert claim == ("10Gi" if plan == "standard" else "1Gi")
    container = stateful["template"]["spec"]["containers"][0]
    assert "pw" not in str(container)  # the password comes from the Secret
    policy = found[3]["spec"]
    sources = policy["ingress"][0]["from"]
    assert [s["podSelector"]["matchLabels"]["app"] for s in sources] == ["reports", "shop"]
    assert sources[0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "reports"
    }
    assert addon.url(k8s.service_host(addon)).endswith(
        "@" + f"{addon.name}.shop.svc:25000" + ("/app" if service == "postgres" else "")
    )


def test_detached_from_every_app_nothing_is_admitted() -> None:
    addon = Addon("redis-calm-1234", "redis", "mini", "shop", "alice", "pw", 25000, NOW, NOW)
    policy = k8s.network_policy(addon, [])
    validate(policy)
    assert policy["spec"]["ingress"] == [] and policy["spec"]["policyTypes"] == ["Ingress"]
