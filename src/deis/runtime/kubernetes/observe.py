"""Reading what the cluster reports, purely: rollout progress and pod states."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from deis.domain.desired import Pod
from deis.runtime import naming
from deis.runtime.kubernetes import manifests

CRASH_REASONS = frozenset(
    {"CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "InvalidImageName",
     "CreateContainerConfigError", "CreateContainerError", "RunContainerError"}
)  # fmt: skip


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def rollout_done(deployment: Mapping[str, Any]) -> bool:
    """True once the controller has seen the latest spec and every replica is updated and
    available, with no old replica left (what `kubectl rollout status` waits for)."""
    meta = deployment.get("metadata") or {}
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    if _int(status.get("observedGeneration")) < _int(meta.get("generation")):
        return False
    want = spec.get("replicas")
    want = 1 if want is None else _int(want)
    updated = _int(status.get("updatedReplicas"))
    if updated < want:
        return False
    if _int(status.get("replicas")) > updated:
        return False
    return _int(status.get("availableReplicas")) >= updated


def deadline_exceeded(deployment: Mapping[str, Any]) -> bool:
    """The controller gave up on the rollout (its progress deadline passed)."""
    for condition in (deployment.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == (
            "ProgressDeadlineExceeded"
        ):
            return True
    return False


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def pod_state(pod: Mapping[str, Any]) -> str:
    """up | starting | crashed | down | terminating, from a Pod's status."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    if meta.get("deletionTimestamp"):
        return "terminating"
    statuses = status.get("containerStatuses") or []
    for item in statuses:
        waiting = (item.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in CRASH_REASONS:
            return "crashed"
    phase = status.get("phase") or "Pending"
    if phase == "Failed":
        return "crashed"
    if phase == "Succeeded":
        return "down"
    if phase == "Running":
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        return "up" if ready else "starting"
    return "starting"


def display_name(pod: Mapping[str, Any]) -> str:
    """The name the Deis client can parse: APP-TYPE-<10 digits>-<5 chars>.

    A Deployment's pods are named DEPLOYMENT-<template hash>-<5 chars>, and the template
    hash has letters on current clusters; the digits here are the release hash of the
    podman runtime, and the last five characters are the pod's own, so the name maps back.
    """
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    name = str(meta.get("name", ""))
    app, proc_type = labels.get(manifests.LABEL_APP), labels.get(manifests.LABEL_TYPE)
    version = _version(labels.get(manifests.LABEL_VERSION))
    if not app or not proc_type or version is None or proc_type == manifests.RUN_TYPE:
        return name
    return f"{app}-{proc_type}-{naming.release_hash(app, proc_type, version)}-{name[-5:]}"


def _version(value: object) -> int | None:
    text = str(value or "").removeprefix("v")
    return int(text) if text.isdigit() else None


def to_pod(pod: Mapping[str, Any]) -> Pod:
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    status = pod.get("status") or {}
    version = _version(labels.get(manifests.LABEL_VERSION))
    return Pod(
        name=display_name(pod),
        state=pod_state(pod),
        type=str(labels.get(manifests.LABEL_TYPE, "")),
        release=f"v{version}" if version is not None else "",
        started=_parse_time(status.get("startTime") or meta.get("creationTimestamp")),
    )


def matches(pod: Mapping[str, Any], name: str) -> bool:
    """Whether a pod is the one a client names, by its own or its display name."""
    own = str((pod.get("metadata") or {}).get("name", ""))
    return name in (own, display_name(pod))


def exit_code(pod: Mapping[str, Any]) -> int | None:
    """The exit code of a finished one-off pod; None while it runs."""
    status = pod.get("status") or {}
    for item in status.get("containerStatuses") or []:
        terminated = (item.get("state") or {}).get("terminated")
        if terminated is not None:
            return _int(terminated.get("exitCode"))
    phase = status.get("phase")
    if phase == "Succeeded":
        return 0
    if phase == "Failed":
        return 1
    return None
