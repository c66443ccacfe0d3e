"""A kubelet made of podman, for the build pods of one namespace of the fake API server.

It runs a pod's container the way a node does: its image, command, args and env, its
Secret volumes as files (with `defaultMode`) and its emptyDir volumes as fresh folders,
its memory limit, as root with the runtime's default capabilities and seccomp profile and
no privileges, and kills it after `activeDeadlineSeconds`. Its output goes line by line
into the pod's log on the fake API server, and the pod's status says what a kubelet would
(running, then terminated with the exit code). The one difference from a node is the
network: the container shares the machine's (`--network=host`), so that the presigned URLs
and the registry on 127.0.0.1 are reachable as Services would be in a cluster.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deis.runtime.kubernetes.client import Kube, path

from .fake_apiserver import FakeApiServer

QUANTITY_RE = re.compile(r"(\d+)(Ki|Mi|Gi|k|M|G)?")
FACTORS = {None: 1, "k": 1000, "M": 1000**2, "G": 1000**3, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


def memory_bytes(quantity: str) -> int:
    match = QUANTITY_RE.fullmatch(quantity)
    if match is None:
        raise ValueError(f"a memory quantity this kubelet does not read: {quantity!r}")
    return int(match.group(1)) * FACTORS[match.group(2)]


@dataclass
class PodmanKubelet:
    kube: Kube
    fake: FakeApiServer
    namespace: str
    images: dict[str, str]  # the pod's image name -> the local podman image
    podman: list[str]  # the podman command with its global options
    podman_env: dict[str, str]
    work: Path
    lines: list[str] = field(default_factory=list)  # what the container wrote
    exit_code: int | None = None
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.container = ""

    def start(self) -> PodmanKubelet:
        self.thread.start()
        return self

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)
        if self.container:
            subprocess.run(  # noqa: S603 - an argument list
                [*self.podman, "rm", "-f", "-t", "0", self.container],
                env=self.podman_env,
                capture_output=True,
                timeout=60,
            )
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            pod = self._wait_for_pod(60)
            self.exit_code = self._run_pod(pod)
        except BaseException as error:
            self.error = error

    def _wait_for_pod(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pods = self.kube.list("v1", "Pod", self.namespace)
            if pods:
                return pods[0]
            time.sleep(0.05)
        raise AssertionError("no pod was made")

    def podman_args(self, pod: dict[str, Any]) -> list[str]:
        """`podman run` of the pod's one container."""
        spec = pod["spec"]
        (container,) = spec["containers"]
        name = pod["metadata"]["name"]
        self.container = f"deis-test-{self.namespace}-{name}"
        args = ["run", "--detach", "--name", self.container, "--network=host", "--pull=never",
                "--log-driver=k8s-file"]  # fmt: skip
        for entry in container.get("env", []):
            if "value" not in entry:
                raise AssertionError(f"this kubelet reads env values only: {entry}")
            args += ["-e", f"{entry['name']}={entry['value']}"]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for mount in container.get("volumeMounts", []):
            folder = self._volume(name, volumes[mount["name"]])
            args += [
                "-v",
                f"{folder}:{mount['mountPath']}" + (":ro" if mount.get("readOnly") else ""),
            ]
        memory = container.get("resources", {}).get("limits", {}).get("memory")
        if memory:
            args += ["--memory", str(memory_bytes(str(memory)))]
        if container.get("command"):
            args += ["--entrypoint", json.dumps(container["command"])]
        return [*args, self.images[container["image"]], *container.get("args", [])]

    def _volume(self, pod: str, volume: dict[str, Any]) -> Path:
        folder = self.work / pod / volume["name"]
        folder.mkdir(parents=True)
        folder.chmod(0o755)
        if "emptyDir" in volume:
            return folder
        if "secret" not in volume:
            raise AssertionError(f"this kubelet mounts Secrets and emptyDirs only: {volume}")
        secret = self.kube.get("v1", "Secret", volume["secret"]["secretName"], self.namespace)
        assert secret is not None, f"the pod's Secret {volume['secret']['secretName']} is missing"
        mode = volume["secret"].get("defaultMode", 0o644)
        for key, value in (secret.get("data") or {}).items():
            (folder / key).write_bytes(base64.b64decode(value))
            (folder / key).chmod(mode)
        return folder

    def _run_pod(self, pod: dict[str, Any]) -> int:
        """Start the container, stream its log file (as a kubelet serves pod logs: a
        container's output is not lost when it ends before anyone reads it), wait for its
        end, then remove it."""
        started = subprocess.run(  # noqa: S603 - an argument list
            [*self.podman, *self.podman_args(pod)],
            env=self.podman_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if started.returncode != 0:
            raise AssertionError(f"podman run: {started.stdout}{started.stderr}")
        self._status(pod, {"running": {"startedAt": _now()}}, "Running")
        deadline = int(pod["spec"].get("activeDeadlineSeconds", 3600))
        killer = threading.Timer(deadline, self._kill)
        killer.start()
        try:
            logs = subprocess.Popen(  # noqa: S603 - an argument list
                [*self.podman, "logs", "--follow", self.container],
                env=self.podman_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
            for line in _lines(logs):
                self.lines.append(line)
                self.fake.append_log(self.namespace, pod["metadata"]["name"], line)
            logs.wait(60)
            waited = subprocess.run(  # noqa: S603 - an argument list
                [*self.podman, "wait", self.container],
                env=self.podman_env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            code = int(waited.stdout.strip())
        finally:
            killer.cancel()
        state = {"exitCode": code, "reason": "Completed" if code == 0 else "Error"}
        self._status(pod, {"terminated": state}, "Succeeded" if code == 0 else "Failed")
        return code

    def _kill(self) -> None:
        subprocess.run(  # noqa: S603 - an argument list
            [*self.podman, "kill", self.container],
            env=self.podman_env,
            capture_output=True,
            timeout=60,
        )

    def _status(self, pod: dict[str, Any], state: dict[str, Any], phase: str) -> None:
        container = {"name": pod["spec"]["containers"][0]["name"], "ready": False,
                     "image": pod["spec"]["containers"][0]["image"], "imageID": "",
                     "restartCount": 0, "state": state}  # fmt: skip
        self.kube.merge_patch(
            path("v1", "Pod", self.namespace, pod["metadata"]["name"]),
            {"status": {"phase": phase, "containerStatuses": [container]}},
            "status",
        )


def _lines(process: subprocess.Popen[str]) -> Iterator[str]:
    assert process.stdout is not None
    for line in process.stdout:
        yield line.rstrip("\n")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
