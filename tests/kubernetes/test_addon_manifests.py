"""An add-on on a cluster as manifests, validated against the official schemas."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deis.domain.addons import Addon
from deis.runtime.kubernetes import addons as k8s

from .validation import validate

NOW = datetime(2026, 12, 6, tzinfo=UTC)
IMAGE = "registry.example.com/deis/addons:1"


def addon(service: str = "postgres", plan: str = "mini") -> Addon:
    return Addon(f"{service}-calm-1234", service, plan, "shop", "alice", "pw", 25000, NOW, NOW)


@pytest.mark.parametrize(("service", "plan"), [("postgres", "standard"), ("redis", "mini")])
def test_manifests_are_valid_and_admit_only_the_attached_apps(service: str, plan: str) -> None:
    made = addon(service, plan)
    found = [k8s.namespace(made), *k8s.manifests(made, ["shop", "reports"], IMAGE)]
    for manifest in found:
        validate(manifest)
    assert [m["kind"] for m in found] == [
        "Namespace", "Secret", "Service", "NetworkPolicy", "StatefulSet"
    ]  # fmt: skip
    # its own namespace, not the app's: the app's is deleted with the app
    assert found[0]["metadata"]["name"] == made.name
    assert {m["metadata"]["namespace"] for m in found[1:]} == {made.name}
    stateful = found[4]["spec"]
    claim = stateful["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
    assert claim == ("10Gi" if plan == "standard" else "1Gi")
    container = stateful["template"]["spec"]["containers"][0]
    assert "pw" not in str(container)  # the password comes from the Secret
    assert container["resources"]["limits"]["memory"] == f"{made.sizes.memory_mb}Mi"
    probe = " ".join(container["readinessProbe"]["exec"]["command"])
    assert ("ping" if service == "redis" else "pg_isready") in probe
    sources = found[3]["spec"]["ingress"][0]["from"]
    apps = [s["podSelector"]["matchLabels"].get("app") for s in sources]
    assert apps == ["reports", "shop", None]
    assert sources[0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "reports"
    }
    # the platform's backup and restore pods, in the add-on's own namespace
    assert sources[2] == {"podSelector": {"matchLabels": {k8s.LABEL_CLIENT: made.name}}}
    port = 6379 if service == "redis" else 5432
    assert found[2]["spec"]["ports"][0]["port"] == port
    assert k8s.url(made).endswith(
        f"@{made.name}.{made.name}.svc:{port}" + ("/app" if service == "postgres" else "")
    )


def test_detached_from_every_app_only_the_platforms_jobs_are_admitted() -> None:
    policy = k8s.network_policy(addon("redis"), [])
    validate(policy)
    [rule] = policy["spec"]["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {k8s.LABEL_CLIENT: "redis-calm-1234"}}}]
    assert policy["spec"]["policyTypes"] == ["Ingress"]


@pytest.mark.parametrize("service", ["postgres", "redis"])
@pytest.mark.parametrize("action", ["backup", "restore"])
def test_backup_and_restore_pods_hold_no_password_and_no_store_keys(
    service: str, action: str
) -> None:
    made = addon(service)
    url = "https://s3.example.com/bucket/addons/x?X-Amz-Signature=abc"
    pod = k8s.job_pod(made, f"{made.name}-{action}-abc123", action, IMAGE, url, 600)
    validate(pod)
    assert pod["metadata"]["namespace"] == made.name
    assert pod["metadata"]["labels"][k8s.LABEL_CLIENT] == made.name  # admitted by the policy
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["activeDeadlineSeconds"] == 600
    container = pod["spec"]["containers"][0]
    assert "pw" not in str(container)
    env = {e["name"]: e for e in container["env"]}
    assert env["SNAPSHOT_URL"]["value"] == url
    assert env["ADDON_HOST"]["value"] == f"{made.name}.{made.name}.svc"
    secret_var = "REDISCLI_AUTH" if service == "redis" else "PGPASSWORD"
    assert env[secret_var]["valueFrom"]["secretKeyRef"] == {"name": made.name, "key": "password"}
    assert ("POD_IP" in env) == (service == "redis" and action == "restore")
