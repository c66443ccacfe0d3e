"""Applying the rendered manifests to a cluster, through the runtime's client."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from deis.platform.kubernetes.render import Manifest
from deis.runtime.kubernetes import observe
from deis.runtime.kubernetes.client import Kube

GATEWAY_API = "gateway.networking.k8s.io/v1"


class InstallError(Exception):
    pass


def existing_builder_key(kube: Kube, namespace: str) -> str | None:
    """The builder key of an earlier install, so that installing again keeps it."""
    secret = kube.get("v1", "Secret", "deis-builder-key", namespace)
    if secret is None:
        return None
    import base64

    value = (secret.get("data") or {}).get("DEIS_BUILDER_KEY")
    return base64.b64decode(value).decode() if value else None


def preflight(kube: Kube, manifests: list[Manifest]) -> None:
    """Refuse before writing anything when the cluster cannot take the manifests."""
    needs_gateway = any(m["apiVersion"].startswith("gateway.networking.k8s.io/") for m in manifests)
    if needs_gateway and not kube.has_api(GATEWAY_API):
        raise InstallError(
            "The cluster does not serve the Gateway API (gateway.networking.k8s.io/v1): "
            "install its CRDs and a Gateway controller, or use --routing ingress."
        )


def install(
    kube: Kube,
    manifests: list[Manifest],
    *,
    wait: float = 0.0,
    echo: Callable[[str], Any] = lambda _line: None,
    poll: float = 1.0,
) -> None:
    """Apply every manifest in order (server-side apply: installing again updates); with
    `wait`, wait that many seconds at most for the platform's Deployments to roll out."""
    preflight(kube, manifests)
    for manifest in manifests:
        meta = manifest["metadata"]
        where = f"{meta['namespace']}/" if meta.get("namespace") else ""
        kube.apply(manifest)
        echo(f"applied {manifest['kind']} {where}{meta['name']}")
    if wait <= 0:
        return
    deployments = [m for m in manifests if m["kind"] == "Deployment"]
    deadline = time.monotonic() + wait
    for manifest in deployments:
        meta = manifest["metadata"]
        while True:
            live = kube.get("apps/v1", "Deployment", meta["name"], meta["namespace"])
            if live is not None and observe.rollout_done(live):
                echo(f"ready: {meta['namespace']}/{meta['name']}")
                break
            if time.monotonic() >= deadline:
                raise InstallError(f"{meta['namespace']}/{meta['name']} is not ready in time")
            time.sleep(poll)
