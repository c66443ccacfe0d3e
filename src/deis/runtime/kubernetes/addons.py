"""An add-on on a cluster, as manifests (pure functions; the adapter that applies them is
deis.runtime.kubernetes.addon_servers).

Each add-on lives in a Namespace of its own, named as the add-on (`postgres-calm-1234`),
not in the app's: an app's namespace is deleted with the app, and an add-on attached to
another app outlives the app it was made for. In it: a StatefulSet of one pod with a
PersistentVolumeClaim of the plan's size, a Service on the server's own port, a Secret
with the password, and a NetworkPolicy that admits only the pods of the apps it is
attached to (each in its app's namespace) and the platform's own backup and restore pods.
Attached apps reach it at `url(addon)`.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from deis.domain.addons import USER, Addon, server_settings
from deis.runtime.addon_scripts import start_script
from deis.runtime.kubernetes.manifests import HERITAGE, LABEL_APP, LABEL_HERITAGE, namespace_name

Manifest = dict[str, Any]
LABEL_ADDON = "deis-addon"
# the platform's own pods that connect to an add-on (backups, restores): the NetworkPolicy
# admits the pods of its namespace that carry this label with the add-on's name
LABEL_CLIENT = "deis-addon-client"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
DATA = "/data"
SNAPSHOT = "/tmp/snapshot"

# The jobs' scripts (run by bash in the add-on image, against the add-on's Service). The
# password comes from the Secret as an environment variable, the object store's presigned
# URL (SNAPSHOT_URL) likewise; the snapshot's size is the last line of a backup's log.
POSTGRES_BACKUP = f"""
set -euo pipefail
pg_dump -h "$ADDON_HOST" -U {USER} -Fc {USER} > {SNAPSHOT}
curl -fsS --retry 3 -T {SNAPSHOT} "$SNAPSHOT_URL"
stat -c %s {SNAPSHOT}
"""
POSTGRES_RESTORE = f"""
set -euo pipefail
curl -fsS --retry 3 -o {SNAPSHOT} "$SNAPSHOT_URL"
pg_restore -h "$ADDON_HOST" -U {USER} -d {USER} --clean --if-exists --single-transaction \\
  --no-owner {SNAPSHOT}
"""
REDIS_BACKUP = f"""
set -euo pipefail
redis-cli -h "$ADDON_HOST" --no-auth-warning --rdb {SNAPSHOT} >/dev/null
curl -fsS --retry 3 -T {SNAPSHOT} "$SNAPSHOT_URL"
stat -c %s {SNAPSHOT}
"""
# Redis loads data only from its own files at start. The job serves the snapshot from a
# server of its own and makes the add-on a replica of it: a full resynchronisation
# replaces the add-on's data, then the add-on stands alone again and rewrites its
# append-only file. The add-on never stops.
REDIS_RESTORE = """
set -euo pipefail
port=${SOURCE_PORT:-6379}
mkdir -p /tmp/source && curl -fsS --retry 3 -o /tmp/source/dump.rdb "$SNAPSHOT_URL"
redis-server --port "$port" --bind 0.0.0.0 --protected-mode no --dir /tmp/source \\
  --appendonly no --save '' --requirepass "$REDISCLI_AUTH" --daemonize yes
until redis-cli -p "$port" --no-auth-warning ping 2>/dev/null | grep -q PONG; do sleep 0.2; done
add_on() { redis-cli -h "$ADDON_HOST" --no-auth-warning "$@"; }
add_on CONFIG SET masterauth "$REDISCLI_AUTH" >/dev/null
add_on REPLICAOF "$POD_IP" "$port" >/dev/null
for _ in $(seq 600); do
  info=$(add_on INFO replication)
  if echo "$info" | grep -q 'master_link_status:up' \\
     && echo "$info" | grep -q 'master_sync_in_progress:0'; then break; fi
  sleep 0.5
done
echo "$info" | grep -q 'master_link_status:up' || { echo "the add-on did not sync" >&2; exit 1; }
add_on REPLICAOF NO ONE >/dev/null
add_on CONFIG SET masterauth "" >/dev/null
add_on BGREWRITEAOF >/dev/null
"""


def namespace_of(name: str) -> str:
    """The add-on's own namespace."""
    return name


def labels(addon: Addon) -> dict[str, str]:
    return {LABEL_ADDON: addon.name, LABEL_HERITAGE: HERITAGE}


def service_host(addon: Addon) -> str:
    return f"{addon.name}.{namespace_of(addon.name)}.svc"


def url(addon: Addon) -> str:
    """What an attached app's config var holds on a cluster."""
    return addon.url(service_host(addon), addon.kind.port)


def pod_name(name: str) -> str:
    """The StatefulSet's one pod."""
    return f"{name}-0"


def claim_name(name: str) -> str:
    return f"data-{name}-0"


def _meta(addon: Addon, name: str | None = None) -> dict[str, Any]:
    return {
        "name": name or addon.name,
        "namespace": namespace_of(addon.name),
        "labels": labels(addon),
    }


def namespace(addon: Addon) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace_of(addon.name), "labels": labels(addon)},
    }


def secret(addon: Addon) -> Manifest:
    password = base64.b64encode(addon.password.encode()).decode()
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(addon),
        "type": "Opaque",
        "data": {"password": password},
    }


def service(addon: Addon) -> Manifest:
    port = addon.kind.port
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(addon),
        "spec": {
            "selector": labels(addon),
            "ports": [{"name": addon.service, "port": port, "targetPort": port}],
        },
    }


def _password_env(addon: Addon, name: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": addon.name, "key": "password"}}}


def _ready_command(addon: Addon) -> list[str]:
    """Ready = accepts connections (PostgreSQL: pg_isready; Redis: a signed-in PING)."""
    port = str(addon.kind.port)
    if addon.service == "redis":
        return ["bash", "-c", f"redis-cli -p {port} --no-auth-warning ping | grep -q PONG"]
    return ["pg_isready", "-q", "-h", "127.0.0.1", "-p", port, "-U", USER, "-d", USER]


def stateful_set(
    addon: Addon, image: str, pull_policy: str = "IfNotPresent", claim: str | None = None
) -> Manifest:
    """`claim`: the storage of the live set's claim template, which a StatefulSet never
    changes (a bigger plan grows the claim itself); default: the plan's disk."""
    plan = addon.sizes
    env = [
        _password_env(addon, "ADDON_PASSWORD"),
        _password_env(addon, "REDISCLI_AUTH"),  # for the readiness probe's redis-cli
        *({"name": k, "value": v} for k, v in server_settings(addon).items()),
    ]
    limits = {"memory": f"{plan.memory_mb}Mi", "cpu": f"{int(plan.cpus * 1000)}m"}
    probe = {"exec": {"command": _ready_command(addon)}}
    container = {
        "name": addon.service,
        "image": image,
        "imagePullPolicy": pull_policy,
        "command": ["bash", "-c", start_script(addon)],
        "env": env,
        "ports": [{"name": addon.service, "containerPort": addon.kind.port}],
        "resources": {"limits": limits, "requests": limits},
        "readinessProbe": {**probe, "periodSeconds": 2, "timeoutSeconds": 5},
        "livenessProbe": {
            "tcpSocket": {"port": addon.kind.port},
            "initialDelaySeconds": 30,
            "periodSeconds": 10,
        },
        "volumeMounts": [{"name": "data", "mountPath": DATA}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(addon),
        "spec": {
            "serviceName": addon.name,
            "replicas": 1,
            # a new template (another plan) takes effect when the platform deletes the pod
            "updateStrategy": {"type": "OnDelete"},
            "selector": {"matchLabels": labels(addon)},
            "template": {
                "metadata": {"labels": labels(addon)},
                "spec": {
                    "containers": [container],
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 30,
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data", "labels": labels(addon)},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": claim or f"{plan.disk_gb}Gi"}},
                    },
                }
            ],
        },
    }


def network_policy(addon: Addon, apps: Sequence[str]) -> Manifest:
    """Only the pods of the attached apps (each in its own namespace) and the platform's
    jobs for this add-on may connect."""
    sources: list[dict[str, Any]] = [
        {
            "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: namespace_name(app)}},
            "podSelector": {"matchLabels": {LABEL_APP: app}},
        }
        for app in sorted(set(apps))
    ]
    sources.append({"podSelector": {"matchLabels": {LABEL_CLIENT: addon.name}}})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(addon),
        "spec": {
            "podSelector": {"matchLabels": labels(addon)},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": sources, "ports": [{"port": addon.kind.port}]}],
        },
    }


def manifests(
    addon: Addon,
    apps: Sequence[str],
    image: str,
    pull_policy: str = "IfNotPresent",
    claim: str | None = None,
) -> list[Manifest]:
    """Everything but the Namespace, in the order they are applied."""
    return [
        secret(addon),
        service(addon),
        network_policy(addon, apps),
        stateful_set(addon, image, pull_policy, claim),
    ]


def claim_storage(live: Manifest | None) -> str | None:
    """The storage of a live StatefulSet's claim template."""
    templates = ((live or {}).get("spec") or {}).get("volumeClaimTemplates") or []
    for template in templates:
        storage = ((template.get("spec") or {}).get("resources") or {}).get("requests", {})
        if storage.get("storage"):
            return str(storage["storage"])
    return None


def job_pod(
    addon: Addon,
    name: str,
    action: str,
    image: str,
    snapshot_url: str,
    deadline_seconds: int,
    pull_policy: str = "IfNotPresent",
) -> Manifest:
    """A backup or restore ("backup" / "restore") of the add-on as a pod that runs once:
    the service's client against the add-on's Service, the snapshot moved through a
    presigned URL of the object store (so the pod holds no keys of it)."""
    scripts = {
        ("postgres", "backup"): POSTGRES_BACKUP,
        ("postgres", "restore"): POSTGRES_RESTORE,
        ("redis", "backup"): REDIS_BACKUP,
        ("redis", "restore"): REDIS_RESTORE,
    }
    env = [
        {"name": "ADDON_HOST", "value": service_host(addon)},
        _password_env(addon, "REDISCLI_AUTH" if addon.service == "redis" else "PGPASSWORD"),
        {"name": "SNAPSHOT_URL", "value": snapshot_url},
    ]
    if addon.service == "redis" and action == "restore":
        env.append({"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace_of(addon.name),
            "labels": {LABEL_CLIENT: addon.name, LABEL_HERITAGE: HERITAGE, "job": action},
        },
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": deadline_seconds,
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": action,
                    "image": image,
                    "imagePullPolicy": pull_policy,
                    "command": ["bash", "-c", scripts[(addon.service, action)]],
                    "env": env,
                    "resources": {"limits": {"memory": "256Mi"}, "requests": {"memory": "64Mi"}},
                }
            ],
        },
    }
