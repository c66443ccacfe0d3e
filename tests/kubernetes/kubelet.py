"""A stand-in for the kubelet of a cluster without nodes: it patches the status of the
platform's pods the way a kubelet would, through the API (so it works against a real API
server too). What a pod does is decided by `behaviour(pod)`:

- "ready": Running and Ready;
- "crash": Running, its container waiting in CrashLoopBackOff;
- "pending": left alone;
- (code, output): a one-off command that exited with `code` after printing `output`.

With a `Node` (kubelet_node.py, for a real API server: it registers itself once per session
and keeps its Ready condition fresh), it also does what a kubelet and a scheduler do there:
binds the tests' unscheduled pods to the Node (no kube-scheduler runs: this is the binder), finishes the graceful deletion of its pods
(a real API server keeps a bound pod Terminating until its kubelet confirms), and serves
`/containerLogs/...` over HTTPS at the Node's kubelet endpoint, so `pods/log` through the
real API server reads what the pods "wrote" (what a test writes, the output of one-off
commands). Without one (the fake API server), the output is stored on the fake.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from deis.runtime.kubernetes.client import ApiError, Kube, path

from .fake_apiserver import FakeApiServer
from .kubelet_node import Node

Behaviour = Callable[[dict[str, Any]], Any]
EXIT_RE = re.compile(r"exit (\d+)\s*$")
# the namespaces of the tests' apps (conftest.new_app): never touch anything else of a
# real cluster
# and of the tests' add-ons (test_addon_servers.new_addon)
TEST_NAMESPACE = re.compile(r"t[0-9a-f]{8}|(postgres|redis)-tst[a-z]{6}-[0-9]{4}")


def default_behaviour(pod: dict[str, Any]) -> Any:
    """Images with "crash" in their name crash; a one-off command echoes what it ran and
    exits with the N of a trailing `exit N` (else 0); everything else gets ready."""
    container = pod["spec"]["containers"][0]
    if "crash" in container.get("image", ""):
        return "crash"
    if "pending" in container.get("image", ""):
        return "pending"
    if pod["metadata"].get("labels", {}).get("type") == "run":
        line = (container.get("command") or container.get("args") or [""])[-1]
        match = EXIT_RE.search(line)
        return (int(match[1]) if match else 0, f"ran: {line}\n")
    return "ready"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Kubelet:
    def __init__(
        self,
        kube: Kube,
        fake: FakeApiServer | None = None,
        behaviour: Behaviour = default_behaviour,
        interval: float = 0.05,
        node: Node | None = None,
        namespaces: Callable[[str], object] = TEST_NAMESPACE.fullmatch,
    ) -> None:
        self.kube = kube
        self.namespaces = namespaces  # whether a namespace's pods are the tests' to run
        self.fake = fake
        self.node = node
        self.behaviour = behaviour
        self.interval = interval
        self.done: set[str] = set()  # pod uids already handled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> Kubelet:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.step()
            except ApiError:
                continue

    def step(self) -> None:
        pods = self.kube.request("GET", "/api/v1/pods", query={"labelSelector": "heritage=deis"})
        for pod in pods.get("items") or []:
            uid = pod["metadata"]["uid"]
            if not self.namespaces(pod["metadata"]["namespace"]):
                continue
            if pod["metadata"].get("deletionTimestamp"):
                if self.node is not None:
                    self.node.finish_deletion(self.kube, pod)
                continue
            if uid in self.done:
                continue
            if self.node is not None and not self.node.bind(self.kube, pod):
                continue
            action = self.behaviour(pod)
            status = self._status(pod, action)
            if status is None:
                continue
            meta = pod["metadata"]
            if self.node is not None:
                self.node.started(pod, action)
            elif isinstance(action, tuple) and self.fake is not None:
                self.fake.set_log(meta["namespace"], meta["name"], action[1])
            try:
                self.kube.merge_patch(
                    path("v1", "Pod", meta["namespace"], meta["name"]), {"status": status}, "status"
                )
            except ApiError as error:
                if error.status != 404:
                    raise
            self.done.add(uid)

    def _status(self, pod: dict[str, Any], action: Any) -> dict[str, Any] | None:
        name = pod["spec"]["containers"][0]["name"]
        image = pod["spec"]["containers"][0].get("image", "")
        base = {"name": name, "image": image, "imageID": "", "restartCount": 0}
        if action == "ready":
            return {
                "phase": "Running",
                "startTime": _now(),
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": _now()}],
                "containerStatuses": [{**base, "ready": True, "started": True,
                                       "state": {"running": {"startedAt": _now()}}}],
            }  # fmt: skip
        if action == "crash":
            return {
                "phase": "Running",
                "startTime": _now(),
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [{**base, "ready": False, "restartCount": 3, "state": {
                    "waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}}}],
            }  # fmt: skip
        if isinstance(action, tuple):
            code = action[0]
            return {
                "phase": "Succeeded" if code == 0 else "Failed",
                "startTime": _now(),
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [{**base, "ready": False, "state": {"terminated": {
                    "exitCode": code, "reason": "Completed" if code == 0 else "Error"}}}],
            }  # fmt: skip
        return None
