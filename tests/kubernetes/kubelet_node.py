"""The node side of the test kubelet on a real API server (see kubelet.py): a Node object
with a fresh Ready condition, the binding of unscheduled pods to it, the end of graceful
deletions, and the kubelet's HTTPS endpoint for container logs, which the API server proxies
`pods/log` to (the Node's InternalIP and kubeletEndpoint port: 127.0.0.1 and a free port).
Its serving certificate is signed by the control plane's CA, which the API server checks
(`--kubelet-certificate-authority`, set by scripts/kube-control-plane.sh)."""

from __future__ import annotations

import secrets
import ssl
import subprocess
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from deis.runtime.kubernetes.client import ApiError, Kube, path

HEARTBEAT_SECONDS = 10.0


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Node:
    def __init__(self, name: str, workdir: Path, ca_cert: Path | None, ca_key: Path | None):
        """Call start(kubeconfig) to register it; stop() removes it."""
        self.name = name
        self.workdir = workdir
        self.lines: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.ended: set[tuple[str, str]] = set()
        self.lock = threading.Condition()
        self._last_beat = 0.0
        self._stopping = threading.Event()
        self._beats: threading.Thread | None = None
        self.kube: Kube | None = None
        self.server: ThreadingHTTPServer | None = None
        self.port = 0
        if ca_cert is not None and ca_key is not None:
            self._serve(ca_cert, ca_key)

    # --- the API objects ---------------------------------------------------------------

    def start(self, kubeconfig: Path) -> Node:
        """Register the Node and keep its Ready condition fresh (every 10 s, in a thread of
        its own, so the node lifecycle controller never taints it between tests)."""
        self.kube = Kube.connect(str(kubeconfig), timeout=10)
        self.register(self.kube)
        self._beats = threading.Thread(target=self._beat, daemon=True)
        self._beats.start()
        return self

    def _beat(self) -> None:
        """Heartbeats, and the end of its pods' deletions also between tests (when no
        Kubelet runs), so that deleted namespaces of earlier tests finish."""
        assert self.kube is not None
        while not self._stopping.wait(1.0):
            try:
                self.heartbeat(self.kube)
                pods = self.kube.request("GET", "/api/v1/pods",
                                         query={"fieldSelector": f"spec.nodeName={self.name}"})  # fmt: skip
                for pod in pods.get("items") or []:
                    if pod["metadata"].get("deletionTimestamp"):
                        self.finish_deletion(self.kube, pod)
            except ApiError:
                continue

    def register(self, kube: Kube) -> None:
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": self.name, "labels": {"kubernetes.io/hostname": self.name,
                                                       "deis.io/test-node": "true"}},
        }  # fmt: skip
        try:
            kube.request("POST", "/api/v1/nodes", body=node)
        except ApiError as error:
            if error.status != 409:
                raise
        self.heartbeat(kube, force=True)

    def heartbeat(self, kube: Kube, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_beat < HEARTBEAT_SECONDS:
            return
        now = _now()

        def condition(kind: str, status: str, reason: str) -> dict[str, str]:
            return {"type": kind, "status": status, "reason": reason,
                    "lastHeartbeatTime": now, "lastTransitionTime": now}  # fmt: skip

        resources = {"cpu": "16", "memory": "64Gi", "pods": "250", "ephemeral-storage": "100Gi"}
        status = {
            "conditions": [
                condition("Ready", "True", "KubeletReady"),
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID"),
            ],
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": self.name},
            ],  # fmt: skip
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.port}},
            "capacity": resources,
            "allocatable": resources,
            "nodeInfo": {
                "kubeletVersion": "v1.24.0-deis-test-kubelet",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "containerRuntimeVersion": "fake://0",
                "kernelVersion": "",
                "osImage": "tests/kubernetes/kubelet.py",
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
                "kubeProxyVersion": "",
            },  # fmt: skip
        }
        kube.request("PATCH", f"/api/v1/nodes/{self.name}/status", body={"status": status},
                     content_type="application/merge-patch+json")  # fmt: skip
        self._last_beat = time.monotonic()

    def bind(self, kube: Kube, pod: dict[str, Any]) -> bool:
        """Bind an unscheduled pod here (what kube-scheduler would do); False for a pod of
        another node."""
        bound = pod["spec"].get("nodeName")
        if bound:
            return bool(bound == self.name)
        meta = pod["metadata"]
        binding = {"apiVersion": "v1", "kind": "Binding",
                   "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                                "uid": meta["uid"]},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": self.name}}  # fmt: skip
        try:
            kube.request("POST", path("v1", "Pod", meta["namespace"], meta["name"], "binding"),
                         body=binding)  # fmt: skip
        except ApiError as error:
            if error.status in (404, 409):  # gone, or bound meanwhile: seen at the next step
                return False
            raise
        return True

    def finish_deletion(self, kube: Kube, pod: dict[str, Any]) -> None:
        """A bound pod being deleted stays until its kubelet has stopped it: confirm."""
        if pod["spec"].get("nodeName") != self.name:
            return
        meta = pod["metadata"]
        with self.lock:
            self.ended.add((meta["namespace"], meta["name"]))
            self.lock.notify_all()
        try:
            kube.request(
                "DELETE",
                path("v1", "Pod", meta["namespace"], meta["name"]),
                body={"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                      "preconditions": {"uid": meta["uid"]}},
            )  # fmt: skip
        except ApiError as error:
            if error.status not in (404, 409):
                raise

    # --- what the containers "wrote" ---------------------------------------------------

    def started(self, pod: dict[str, Any], action: Any) -> None:
        meta = pod["metadata"]
        key = (meta["namespace"], meta["name"])
        with self.lock:  # a started container has a log, empty until it writes
            lines = self.lines.setdefault(key, [])
            if isinstance(action, tuple):
                lines.extend((_stamp(), line) for line in str(action[1]).splitlines())
                self.ended.add(key)
            self.lock.notify_all()

    def write(self, namespace: str, pod: str, line: str) -> None:
        with self.lock:
            self.lines.setdefault((namespace, pod), []).append((_stamp(), line))
            self.lock.notify_all()

    # --- the kubelet's HTTPS endpoint --------------------------------------------------

    def _serve(self, ca_cert: Path, ca_key: Path) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        key, csr, cert, ext = (self.workdir / n for n in ("kubelet.key", "kubelet.csr",
                                                          "kubelet.crt", "kubelet.ext"))  # fmt: skip
        ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        run = ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
               "-out", str(csr), "-subj", f"/CN=system:node:{self.name}"]  # fmt: skip
        subprocess.run(run, check=True, capture_output=True)  # noqa: S603
        sign = ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_cert),
                "-CAkey", str(ca_key), "-set_serial", str(secrets.randbits(63)),
                "-out", str(cert), "-days", "2", "-extfile", str(ext)]  # fmt: skip
        subprocess.run(sign, check=True, capture_output=True)  # noqa: S603
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        node = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                node._container_logs(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        if self._beats is not None:
            self._beats.join(timeout=15)
        if self.kube is not None:
            try:
                self.kube.request("DELETE", f"/api/v1/nodes/{self.name}")
            except ApiError:
                pass
            self.kube.close()
        with self.lock:
            self.ended.update(self.lines)
            self.lock.notify_all()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def _container_logs(self, request: BaseHTTPRequestHandler) -> None:
        url = urlparse(request.path)
        parts = url.path.strip("/").split("/")
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if len(parts) != 4 or parts[0] != "containerLogs":
            request.send_error(404)
            return
        key = (parts[1], parts[2])
        with self.lock:
            known = key in self.lines
        if not known:
            request.send_error(404, "container not found")
            return
        request.send_response(200)
        request.send_header("Content-Type", "text/plain")
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        stamps = query.get("timestamps") == "true"
        since = query.get("sinceTime", "")
        follow = query.get("follow") == "true"

        def send(entries: list[tuple[str, str]]) -> None:
            body = "".join(f"{s} {t}\n" if stamps else f"{t}\n" for s, t in entries
                           if not since or s[:19] >= since[:19])  # fmt: skip
            if body:
                data = body.encode()
                request.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                request.wfile.flush()

        with self.lock:
            entries = list(self.lines[key])
        if "tailLines" in query:
            entries = entries[-int(query["tailLines"]) :] if int(query["tailLines"]) else []
        try:
            send(entries)
            sent = len(self.lines[key])
            while follow:
                with self.lock:
                    if key in self.ended and sent >= len(self.lines[key]):
                        break
                    self.lock.wait(0.5)
                    fresh = self.lines[key][sent:]
                    sent += len(fresh)
                send(fresh)
            request.wfile.write(b"0\r\n\r\n")
            request.wfile.flush()
        except OSError:
            return
