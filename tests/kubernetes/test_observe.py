"""Reading the cluster's reports: rollouts, pod states, names the Deis client parses."""

from __future__ import annotations

import re
from typing import Any

import pytest

from deis.runtime.kubernetes import observe


def deployment(generation: int = 2, **status: Any) -> dict[str, Any]:
    return {"metadata": {"generation": generation}, "spec": {"replicas": 3}, "status": status}


@pytest.mark.parametrize(
    ("status", "done"),
    [
        ({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}, True),
        ({"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}, False),
        ({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "availableReplicas": 4}, False),
        ({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 3}, False),
        ({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 2}, False),
        ({}, False),
    ],
)  # fmt: skip
def test_rollout_done(status: dict[str, Any], done: bool) -> None:
    assert observe.rollout_done(deployment(**status)) is done


def test_a_deployment_scaled_to_zero_is_done_once_observed() -> None:
    zero = {"metadata": {"generation": 1}, "spec": {"replicas": 0},
            "status": {"observedGeneration": 1}}  # fmt: skip
    assert observe.rollout_done(zero)
    assert not observe.deadline_exceeded(zero)
    zero["status"]["conditions"] = [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
    ]
    assert observe.deadline_exceeded(zero)


def pod(phase: str = "Running", ready: bool = True, **extra: Any) -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": phase,
        "startTime": "2026-01-02T03:04:05Z",
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        **extra,
    }
    return {
        "metadata": {
            "name": "shop-web-7d4b9c8f6b-x2k9q",
            "labels": {"app": "shop", "type": "web", "version": "v12"},
        },
        "status": status,
    }


def waiting(reason: str) -> dict[str, Any]:
    return {"containerStatuses": [{"state": {"waiting": {"reason": reason}}}]}


@pytest.mark.parametrize(
    ("value", "state"),
    [
        (pod(), "up"),
        (pod(ready=False), "starting"),
        (pod("Pending", False), "starting"),
        (pod("Running", False, **waiting("CrashLoopBackOff")), "crashed"),
        (pod("Pending", False, **waiting("ImagePullBackOff")), "crashed"),
        (pod("Pending", False, **waiting("ContainerCreating")), "starting"),
        (pod("Failed", False), "crashed"),
        (pod("Succeeded", False), "down"),
    ],
)
def test_pod_states(value: dict[str, Any], state: str) -> None:
    assert observe.pod_state(value) == state


def test_terminating_pods() -> None:
    value = pod()
    value["metadata"]["deletionTimestamp"] = "2026-01-02T03:04:06Z"
    assert observe.pod_state(value) == "terminating"


def test_pods_get_names_the_deis_client_parses() -> None:
    value = pod()
    shown = observe.to_pod(value)
    assert re.fullmatch(r"shop-web-[0-9]{8,10}-[a-z0-9]{5}", shown.name)
    assert shown.name.endswith("-x2k9q")
    assert shown.release == "v12" and shown.type == "web" and shown.state == "up"
    assert shown.started is not None and shown.started.year == 2026
    assert observe.matches(value, shown.name)
    assert observe.matches(value, "shop-web-7d4b9c8f6b-x2k9q")
    assert not observe.matches(value, "shop-web-0000000000-x2k9q")


def test_exit_codes() -> None:
    running = pod()
    assert observe.exit_code(running) is None
    finished = pod("Failed", False, containerStatuses=[{"state": {"terminated": {"exitCode": 7}}}])
    assert observe.exit_code(finished) == 7
    assert observe.exit_code(pod("Succeeded", False)) == 0
    assert observe.exit_code(pod("Failed", False)) == 1
