"""An add-on on a cluster, as manifests (pure functions; not wired to an adapter yet):
a StatefulSet of one pod with a PersistentVolumeClaim of the plan's size, a Service, a
Secret with the password, and a NetworkPolicy that admits only the pods of the apps it
is attached to (across namespaces for a shared add-on). It lives in the namespace of
the app it was made for; attached apps reach it at `url(service_host(addon))`.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from deis.domain.addons import USER, Addon
from deis.runtime.kubernetes.manifests import HERITAGE, LABEL_APP, LABEL_HERITAGE, namespace_name
from deis.runtime.podman.addons import POSTGRES_SCRIPT, REDIS_SCRIPT

Manifest = dict[str, Any]
LABEL_ADDON = "deis-addon"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"


def labels(addon: Addon) -> dict[str, str]:
    return {LABEL_ADDON: addon.name, LABEL_HERITAGE: HERITAGE}


def service_host(addon: Addon) -> str:
    return f"{addon.name}.{namespace_name(addon.app)}.svc"


def _meta(addon: Addon) -> dict[str, Any]:
    return {"name": addon.name, "namespace": namespace_name(addon.app), "labels": labels(addon)}


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
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(addon),
        "spec": {
            "selector": labels(addon),
            "ports": [{"name": addon.service, "port": addon.port, "targetPort": addon.kind.port}],
        },
    }


def stateful_set(addon: Addon, image: str) -> Manifest:
    plan = addon.sizes
    env = [
        {
            "name": "ADDON_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": addon.name, "key": "password"}},
        },
        {"name": "ADDON_USER", "value": USER},
        {"name": "ADDON_CONNECTIONS", "value": str(plan.connections)},
        {"name": "ADDON_SHARED_BUFFERS", "value": f"{max(plan.memory_mb // 4, 16)}MB"},
        {"name": "ADDON_MAXMEMORY", "value": f"{max(plan.memory_mb * 3 // 4, 16)}mb"},
    ]
    script = REDIS_SCRIPT if addon.service == "redis" else POSTGRES_SCRIPT
    limits = {"memory": f"{plan.memory_mb}Mi", "cpu": f"{int(plan.cpus * 1000)}m"}
    container = {
        "name": addon.service,
        "image": image,
        "command": ["bash", "-c", script],
        "env": env,
        "ports": [{"name": addon.service, "containerPort": addon.kind.port}],
        "resources": {"limits": limits, "requests": limits},
        "readinessProbe": {"tcpSocket": {"port": addon.kind.port}, "periodSeconds": 2},
        "livenessProbe": {
            "tcpSocket": {"port": addon.kind.port},
            "initialDelaySeconds": 30,
            "periodSeconds": 10,
        },
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _meta(addon),
        "spec": {
            "serviceName": addon.name,
            "replicas": 1,
            "selector": {"matchLabels": labels(addon)},
            "template": {
                "metadata": {"labels": labels(addon)},
                "spec": {"containers": [container], "automountServiceAccountToken": False},
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": f"{plan.disk_gb}Gi"}},
                    },
                }
            ],
        },
    }


def network_policy(addon: Addon, apps: Sequence[str]) -> Manifest:
    """Only the pods of the attached apps (each in its own namespace) may connect."""
    sources = [
        {
            "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: namespace_name(app)}},
            "podSelector": {"matchLabels": {LABEL_APP: app}},
        }
        for app in sorted(set(apps))
    ]
    ingress = [{"from": sources, "ports": [{"port": addon.kind.port}]}] if sources else []
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(addon),
        "spec": {
            "podSelector": {"matchLabels": labels(addon)},
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        },
    }


def manifests(addon: Addon, apps: Sequence[str], image: str) -> list[Manifest]:
    return [secret(addon), service(addon), stateful_set(addon, image), network_policy(addon, apps)]
