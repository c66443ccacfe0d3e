"""KubernetesAddons: the AddonServers port on a cluster (DEIS_ADDONS=kubernetes).

Each add-on is the objects of deis.runtime.kubernetes.addons in a namespace of its own,
applied with server-side apply (so adopting at start, or provisioning again after a crash
in the middle, converges). The cluster runs and restarts the server; its data is on the
PersistentVolumeClaim of the StatefulSet; deleting the namespace deletes it all, the
claim too. Backups and restores are pods of the add-on image that move the snapshot
through presigned URLs of the object store.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from deis.domain.addons import Addon
from deis.domain.errors import Unavailable
from deis.domain.terminal import Opening
from deis.ports import Terminal
from deis.runtime.kubernetes import addons as manifests
from deis.runtime.kubernetes import observe
from deis.runtime.kubernetes.client import ApiError, Kube, path
from deis.runtime.kubernetes.failures import HOPELESS, unavailable_on_api_error, waiting_reason

log = logging.getLogger(__name__)

NAMESPACE = ("v1", "Namespace")
NO_TERMINAL = (
    "addons:connect needs an interactive terminal, which the kubernetes runtime does not "
    "give (as for deis run); connect from a pod of an attached app instead, e.g. "
    '`kubectl exec -it -n APP POD -- psql "$DATABASE_URL"`.'
)


class PresignedObjects(Protocol):
    """An object store that presigns URLs (`objects.s3.S3Objects`)."""

    def url(self, key: str, method: str = "GET", expires: int = 3600) -> str: ...
    def exists(self, key: str) -> bool: ...


@dataclass(frozen=True)
class AddonOptions:
    image: str = "deis/addons:latest"  # PostgreSQL 15, Redis 7 and curl (images/addons)
    image_pull_policy: str = "IfNotPresent"
    ready_timeout: float = 300.0  # a claim to bind, the image to pull, initdb
    job_deadline_seconds: int = 3600  # a backup or a restore is stopped after this


def ours(namespace: Mapping[str, Any], name: str) -> bool:
    labels = (namespace.get("metadata") or {}).get("labels") or {}
    return labels.get(manifests.LABEL_ADDON) == name


def _claim_phase(claim: Mapping[str, Any] | None) -> str:
    return str(((claim or {}).get("status") or {}).get("phase") or "")


class KubernetesAddons:
    name = "kubernetes"

    def __init__(
        self,
        kube: Kube,
        options: AddonOptions | None = None,
        objects: PresignedObjects | None = None,
        *,
        poll_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.kube = kube
        self.options = options or AddonOptions()
        self.objects = objects
        self.poll_interval = poll_interval
        self.clock = clock
        self.sleep = sleep

    # --- the AddonServers port ----------------------------------------------------------

    def url(self, addon: Addon) -> str:
        return manifests.url(addon)

    def provision(self, addon: Addon) -> None:
        """Apply its objects and wait until its pod is ready (accepts connections)."""
        try:
            self._apply(addon, [addon.app])
            self._wait_ready(addon)
        except BaseException as error:
            try:
                self.deprovision(addon.name)
            except Unavailable:
                log.exception("could not remove the half-made add-on %s", addon.name)
            if isinstance(error, ApiError):
                raise Unavailable(f"The Kubernetes API failed: {error}") from None
            raise

    @unavailable_on_api_error
    def deprovision(self, name: str) -> None:
        """Delete its namespace (and so the claim and the data); only one the platform made
        for this add-on."""
        namespace = manifests.namespace_of(name)
        live = self.kube.get(*NAMESPACE, namespace)
        if live is not None and ours(live, name):
            self.kube.delete(*NAMESPACE, namespace)

    @unavailable_on_api_error
    def change_plan(self, old: Addon, new: Addon) -> None:
        """Grow the claim when the plan's disk is bigger (the StorageClass must allow
        volume expansion), apply the StatefulSet with the plan's sizes and replace its pod
        (the set's update strategy is OnDelete); the data stays on the claim."""
        namespace = manifests.namespace_of(new.name)
        if new.sizes.disk_gb > old.sizes.disk_gb:
            self._grow_claim(new)
        pod = manifests.pod_name(new.name)
        live = self.kube.get("v1", "Pod", pod, namespace)
        before = (live or {}).get("metadata", {}).get("uid")
        self._apply_set(new)
        self.kube.delete("v1", "Pod", pod, namespace)
        try:
            self._wait_ready(new, replaced=before)
        except Unavailable as error:
            self._apply_set(old)
            self.kube.delete("v1", "Pod", pod, namespace)
            raise Unavailable(
                f"{new.name} did not start with the plan {new.plan} ({error}); "
                f"it is started again on {old.plan}."
            ) from None

    def _grow_claim(self, addon: Addon) -> None:
        namespace = manifests.namespace_of(addon.name)
        size = f"{addon.sizes.disk_gb}Gi"
        url = path("v1", "PersistentVolumeClaim", namespace, manifests.claim_name(addon.name))
        try:
            self.kube.merge_patch(url, {"spec": {"resources": {"requests": {"storage": size}}}})
        except ApiError as error:
            if error.status not in (403, 422):
                raise
            raise Unavailable(
                f"The cluster would not grow the volume claim of {addon.name} to {size} "
                f"({error}): it must be bound, and its StorageClass must allow volume "
                "expansion. The plan is unchanged."
            ) from None

    @unavailable_on_api_error
    def state(self, name: str) -> str:
        namespace = manifests.namespace_of(name)
        if self.kube.get("apps/v1", "StatefulSet", name, namespace) is None:
            return "missing"
        pod = self.kube.get("v1", "Pod", manifests.pod_name(name), namespace)
        if pod is None:
            return "starting"
        return {"up": "available", "crashed": "crashed"}.get(observe.pod_state(pod), "starting")

    def disk_used(self, name: str) -> int | None:
        return None  # a claim's usage is the kubelet's metrics, not the API's

    @unavailable_on_api_error
    def reach(self, addon: Addon, apps: list[str]) -> None:
        if self.kube.get(*NAMESPACE, manifests.namespace_of(addon.name)) is None:
            return  # gone (being destroyed): nothing to admit to
        self.kube.apply(manifests.network_policy(addon, apps))

    def adopt(self, addons: list[tuple[Addon, list[str]]]) -> None:
        """Apply every add-on's objects again: what was deleted behind the platform's back
        comes back (a claim that was deleted comes back empty); the cluster runs them."""
        for addon, apps in addons:
            try:
                self._apply(addon, apps)
            except (ApiError, Unavailable) as error:
                log.warning("could not adopt the add-on %s: %s", addon.name, error)

    def backup(self, addon: Addon, key: str) -> int:
        objects = self._objects()
        output = self._job(addon, "backup", objects.url(key, "PUT"))
        last = output.strip().splitlines()[-1:] or [""]
        if not last[0].isdigit() or not objects.exists(key):
            raise Unavailable(f"The backup of {addon.name} did not store a snapshot: {output}")
        return int(last[0])

    def restore(self, addon: Addon, key: str) -> None:
        objects = self._objects()
        self._job(addon, "restore", objects.url(key, "GET"))

    def terminal(self, addon: Addon, opening: Opening) -> Terminal:
        raise Unavailable(NO_TERMINAL)

    # --- helpers --------------------------------------------------------------------------

    def _objects(self) -> PresignedObjects:
        if self.objects is None:
            raise Unavailable(
                "Backups of add-ons on a cluster need an object store that presigns URLs "
                "(DEIS_OBJECTS=s3)."
            )
        return self.objects

    def _apply(self, addon: Addon, apps: list[str]) -> None:
        namespace = manifests.namespace_of(addon.name)
        live = self.kube.get(*NAMESPACE, namespace)
        if live is not None and not ours(live, addon.name):
            raise Unavailable(
                f"The namespace {namespace} exists and is not the platform's: the add-on "
                "cannot be made under that name."
            )
        if live is not None and (live.get("metadata") or {}).get("deletionTimestamp"):
            raise Unavailable(f"The namespace {namespace} is still being deleted.")
        self.kube.apply(manifests.namespace(addon))
        options = self.options
        claim = self._claim_template(addon)
        for manifest in manifests.manifests(
            addon, apps, options.image, options.image_pull_policy, claim
        ):
            self.kube.apply(manifest)

    def _claim_template(self, addon: Addon) -> str | None:
        namespace = manifests.namespace_of(addon.name)
        live = self.kube.get("apps/v1", "StatefulSet", addon.name, namespace)
        return manifests.claim_storage(live)

    def _apply_set(self, addon: Addon) -> None:
        options = self.options
        claim = self._claim_template(addon)
        self.kube.apply(
            manifests.stateful_set(addon, options.image, options.image_pull_policy, claim)
        )

    def _wait_ready(self, addon: Addon, replaced: str | None = None) -> None:
        """Until its pod (not the one of uid `replaced`) is ready."""
        namespace = manifests.namespace_of(addon.name)
        deadline = self.clock() + self.options.ready_timeout
        why = "its pod was not made"
        while self.clock() < deadline:
            pod = self.kube.get("v1", "Pod", manifests.pod_name(addon.name), namespace)
            if pod is not None and replaced and pod["metadata"].get("uid") == replaced:
                why = "its old pod is still being deleted"
            elif pod is not None:
                state = observe.pod_state(pod)
                if state == "up":
                    return
                reason, message = waiting_reason(pod)
                if reason in HOPELESS:
                    raise Unavailable(f"{addon.name} cannot start: {reason} {message}".strip())
                why = self._why_starting(addon, pod, state, reason)
            self.sleep(self.poll_interval)
        raise Unavailable(
            f"{addon.name} was not ready within {self.options.ready_timeout:g} seconds ({why})."
        )

    def _why_starting(self, addon: Addon, pod: Mapping[str, Any], state: str, reason: str) -> str:
        if reason:
            return f"its container waits: {reason}"
        if not (pod.get("spec") or {}).get("nodeName"):
            namespace = manifests.namespace_of(addon.name)
            claim = self.kube.get(
                "v1", "PersistentVolumeClaim", manifests.claim_name(addon.name), namespace
            )
            phase = _claim_phase(claim)
            if phase and phase != "Bound":
                return f"its volume claim is {phase}: is there a default StorageClass?"
            return "its pod is not scheduled"
        return f"its pod is {state}"

    @unavailable_on_api_error
    def _job(self, addon: Addon, action: str, snapshot_url: str) -> str:
        """Run a backup or restore pod to its end; its output, or Unavailable with it."""
        namespace = manifests.namespace_of(addon.name)
        name = f"{addon.name}-{action}-{secrets.token_hex(3)}"
        deadline_seconds = self.options.job_deadline_seconds
        pod = manifests.job_pod(
            addon,
            name,
            action,
            self.options.image,
            snapshot_url,
            deadline_seconds,
            self.options.image_pull_policy,
        )
        self.kube.create(pod)
        try:
            deadline = self.clock() + deadline_seconds + 30
            while True:
                live = self.kube.get("v1", "Pod", name, namespace)
                if live is None:
                    raise Unavailable(f"The {action} pod {name} disappeared.")
                code = observe.exit_code(live)
                if code is not None:
                    output = self._log(namespace, name)
                    if code != 0:
                        raise Unavailable(
                            f"The {action} of {addon.name} failed (exit code {code}): "
                            f"{output.strip()[-2000:]}"
                        )
                    return output
                reason, message = waiting_reason(live)
                if reason in HOPELESS:
                    raise Unavailable(f"The {action} pod cannot start: {reason} {message}")
                if self.clock() >= deadline:
                    raise Unavailable(f"The {action} of {addon.name} did not end in time.")
                self.sleep(self.poll_interval)
        finally:
            self.kube.delete("v1", "Pod", name, namespace)

    def _log(self, namespace: str, name: str) -> str:
        try:
            return self.kube.log(namespace, name)
        except ApiError as error:
            if error.status in (400, 404):
                return ""
            raise
