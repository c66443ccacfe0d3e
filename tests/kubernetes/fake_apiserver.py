"""An in-process Kubernetes API server for tests: HTTP on 127.0.0.1, enough of the REST API
for the platform, and a small controller-manager.

What it speaks:
- discovery of API group versions (`GET /api`, `/apis`, `/apis/GROUP/VERSION`); the Gateway
  API group is served only when `gateway=True`, cert-manager.io (Certificates) only when
  `cert_manager=True`;
- for every resource in RESOURCES: get, list (labelSelector with =, ==, !=, in, notin,
  exists, !exists), create (409 AlreadyExists, generateName), replace (409 Conflict on a
  stale resourceVersion), delete, patch as server-side apply (creates or replaces the
  applied fields; needs fieldManager), JSON merge patch and strategic merge patch (as a
  merge patch), and the status subresource (GET, PUT, PATCH change only status);
- resourceVersion (one counter), uid, creationTimestamp, generation (bumped when
  anything but metadata and status changes);
- pod logs (`GET .../pods/NAME/log`, tailLines, timestamps) from lines a test sets, and
  `follow=true` (with sinceTime) streamed as the test adds lines, as a kubelet does: 400
  while the container has not started, the stream ends when it has terminated;
- namespaces: creating in a missing one is 404, in a terminating one 403; deleting one
  deletes its contents (after `namespace_delay` seconds it is Terminating meanwhile); a new
  one gets what a real cluster's controllers put in it: the `default` ServiceAccount, its
  token Secret and the `kube-root-ca.crt` ConfigMap;
- graceful deletion of pods, as on a real API server where a kubelet runs them: with
  `pod_grace` > 0 a deleted pod (by a client or by the controllers) that has not finished
  first gets a deletionTimestamp and is removed `pod_grace` seconds later (0, the default:
  at once; a Succeeded or Failed pod always goes at once, as on a real server).

The controller-manager (run after every write, and on a timer): Deployments make
ReplicaSets named DEPLOYMENT-HASH and pods named RS-XXXXX, Pending until something
(a test's kubelet) patches their status; rolling updates honour maxSurge and
maxUnavailable; Deployment status (observedGeneration, replicas, updatedReplicas,
readyReplicas, availableReplicas) follows the pods; the garbage collector deletes what
lost its owner. StatefulSets make pods SET-0.. and their claims (see _stateful_set); their
claim templates cannot change.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import math
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SAFE = "bcdfghjklmnpqrstvwxz2456789"
GATEWAY_GROUP = "gateway.networking.k8s.io"
CERT_MANAGER_GROUP = "cert-manager.io"


@dataclass(frozen=True)
class Kind:
    group_version: str  # "v1" for the core group
    plural: str
    kind: str
    namespaced: bool
    status: bool = False


RESOURCES = [
    Kind("v1", "namespaces", "Namespace", False, True),
    Kind("v1", "secrets", "Secret", True),
    Kind("v1", "configmaps", "ConfigMap", True),
    Kind("v1", "services", "Service", True, True),
    Kind("v1", "pods", "Pod", True, True),
    Kind("v1", "serviceaccounts", "ServiceAccount", True),
    Kind("v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, True),
    Kind("v1", "events", "Event", True),
    Kind("apps/v1", "deployments", "Deployment", True, True),
    Kind("apps/v1", "replicasets", "ReplicaSet", True, True),
    Kind("apps/v1", "statefulsets", "StatefulSet", True, True),
    Kind("autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, True),
    Kind("batch/v1", "cronjobs", "CronJob", True, True),
    Kind("networking.k8s.io/v1", "ingresses", "Ingress", True, True),
    Kind("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", True),
    Kind("rbac.authorization.k8s.io/v1", "roles", "Role", True),
    Kind("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding", True),
    Kind("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False),
    Kind("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False),
    Kind(f"{GATEWAY_GROUP}/v1", "httproutes", "HTTPRoute", True, True),
    Kind(f"{GATEWAY_GROUP}/v1", "gateways", "Gateway", True, True),
    Kind(f"{GATEWAY_GROUP}/v1beta1", "referencegrants", "ReferenceGrant", True),
    Kind(f"{CERT_MANAGER_GROUP}/v1", "certificates", "Certificate", True, True),
]
SERVER_META = ("uid", "resourceVersion", "creationTimestamp", "generation", "deletionTimestamp")


class HttpError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def log_stamp() -> str:
    """A kubelet's log timestamp (RFC 3339 with nanoseconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def started(pod: dict[str, Any]) -> bool:
    states = [
        s.get("state") or {} for s in (pod.get("status") or {}).get("containerStatuses") or []
    ]
    return any("running" in s or "terminated" in s for s in states)


def terminated(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") in ("Succeeded", "Failed"):
        return True
    states = [s.get("state") or {} for s in status.get("containerStatuses") or []]
    return bool(states) and all("terminated" in s for s in states)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _selector_terms(text: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for char in text:
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
            continue
        depth += char == "("
        depth -= char == ")"
        current += char
    if current:
        terms.append(current)
    return [t.strip() for t in terms if t.strip()]


def selector_matches(text: str, labels: dict[str, str]) -> bool:
    for term in _selector_terms(text):
        if m := re.fullmatch(r"(\S+?)\s*(==|!=|=)\s*(\S*)", term):
            key, op, value = m.groups()
            if (labels.get(key) == value) != (op != "!="):
                return False
        elif m := re.fullmatch(r"(\S+)\s+(in|notin)\s+\((.*)\)", term):
            key, op, values = m[1], m[2], {v.strip() for v in m[3].split(",")}
            inside = key in labels and labels[key] in values
            if inside != (op == "in"):
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def _check_immutable(current: dict[str, Any], new: dict[str, Any]) -> None:
    """A StatefulSet's claim templates never change (as on a real API server)."""
    if current.get("kind") != "StatefulSet":
        return
    before = (current.get("spec") or {}).get("volumeClaimTemplates")
    after = (new.get("spec") or {}).get("volumeClaimTemplates")
    if _without_status(before) != _without_status(after):
        raise HttpError(
            422,
            "Invalid",
            f'StatefulSet.apps "{current["metadata"]["name"]}" is invalid: spec: Forbidden: '
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
            "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
            "'minReadySeconds' are forbidden",
        )


def _without_status(templates: Any) -> Any:
    if not isinstance(templates, list):
        return templates
    return [{k: v for k, v in t.items() if k != "status"} for t in templates]


def _terminating(obj: dict[str, Any]) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def _scaled(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        share = int(value[:-1]) * total / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(value)


class FakeApiServer:
    def __init__(
        self,
        *,
        gateway: bool = False,
        cert_manager: bool = False,
        namespace_delay: float = 0.0,
        pod_grace: float = 0.0,
    ) -> None:
        self.gateway = gateway
        self.cert_manager = cert_manager
        self.namespace_delay = namespace_delay
        self.pod_grace = pod_grace
        self.lock = threading.RLock()
        self.objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.logs: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.requests: list[tuple[str, str]] = []
        self.fail_next: list[int] = []  # status codes the next requests answer with
        self.delay = 0.0  # seconds each request waits before it is answered
        # which requests the injected failures hit: (method, path) -> bool
        self.fail_when: Callable[[str, str], bool] = lambda method, path: True
        self._rv = 0
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self.kinds = {(k.group_version, k.plural): k for k in RESOURCES}

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeApiServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        self._server = server
        serve = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
        tick = threading.Thread(target=self._tick)
        for thread in (serve, tick):
            thread.daemon = True
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def kubeconfig(self, directory: Path) -> Path:
        path = directory / "kubeconfig"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": "fake",
        }
        path.write_text(json.dumps(config))
        return path

    def _tick(self) -> None:
        while not self._stop.wait(0.05):
            with self.lock:
                self._finalize_namespaces()
                if self._finish_pod_deletions():
                    self.reconcile()  # the controllers replace what went

    # --- test hooks ------------------------------------------------------------------------

    def set_log(self, namespace: str, pod: str, text: str) -> None:
        with self.lock:
            self.logs[(namespace, pod)] = [(log_stamp(), line) for line in text.splitlines()]

    def append_log(self, namespace: str, pod: str, *lines: str) -> None:
        """Lines the pod's container writes now (a following reader gets them at once)."""
        with self.lock:
            self.logs.setdefault((namespace, pod), []).extend((log_stamp(), x) for x in lines)

    def follow(self, namespace: str, pod: str, query: dict[str, str]) -> Iterator[str]:
        """The log as `follow=true` streams it: what is there, then each new line, until
        the container has terminated or the pod is gone."""
        key = self._key(self.kinds[("v1", "pods")], namespace, pod)
        with self.lock:
            obj = self.objects.get(key)
            if obj is None:
                raise HttpError(404, "NotFound", f'pods "{pod}" not found')
            if not started(obj):
                raise HttpError(400, "BadRequest", f'container in pod "{pod}" is waiting to start')
        since = query.get("sinceTime", "")
        stamps = query.get("timestamps") == "true"
        sent = 0
        while not self._stop.is_set():
            with self.lock:
                obj = self.objects.get(key)
                lines = list(self.logs.get((namespace, pod), []))
            for stamp, message in lines[sent:]:
                if not since or stamp > since:
                    yield f"{stamp} {message}\n" if stamps else f"{message}\n"
            sent = len(lines)
            if obj is None or terminated(obj):
                return
            time.sleep(0.02)

    def all(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                copy.deepcopy(o)
                for (_, plural, ns, _n), o in sorted(self.objects.items())
                if o["kind"] == kind and (namespace is None or ns == namespace)
            ]

    # --- the store -----------------------------------------------------------------------

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _key(self, kind: Kind, namespace: str, name: str) -> tuple[str, str, str, str]:
        return (kind.group_version, kind.plural, namespace if kind.namespaced else "", name)

    def _kind_of(self, obj: dict[str, Any]) -> Kind:
        for kind in RESOURCES:
            if kind.kind == obj.get("kind") and kind.group_version == obj.get("apiVersion"):
                return kind
        raise KeyError(obj.get("kind"))

    def _check_namespace(self, kind: Kind, namespace: str) -> None:
        if not kind.namespaced:
            return
        ns = self.objects.get(("v1", "namespaces", "", namespace))
        if ns is None:
            raise HttpError(404, "NotFound", f'namespaces "{namespace}" not found')
        if ns["metadata"].get("deletionTimestamp"):
            raise HttpError(403, "Forbidden", f"namespace {namespace} is being terminated")

    def create(self, kind: Kind, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(secrets.choice(SAFE) for _ in range(5))
        name = meta.get("name")
        if not name:
            raise HttpError(422, "Invalid", "metadata.name: Required value")
        if kind.namespaced:
            meta["namespace"] = namespace
        self._check_namespace(kind, namespace)
        key = self._key(kind, namespace, name)
        if key in self.objects:
            raise HttpError(409, "AlreadyExists", f'{kind.plural} "{name}" already exists')
        obj["apiVersion"], obj["kind"] = kind.group_version, kind.kind
        for field in SERVER_META:
            meta.pop(field, None)
        meta.update(
            uid=str(uuid.uuid4()),
            creationTimestamp=now(),
            resourceVersion=self._next_rv(),
            generation=1,
        )
        self._defaults(obj)
        self.objects[key] = obj
        if kind.kind == "Namespace":
            self._namespace_contents(name)
        return obj

    def _namespace_contents(self, namespace: str) -> None:
        """What a real cluster puts in every new namespace (the service-account and
        root-CA controllers): the `default` ServiceAccount with its token Secret (a v1.24
        server still makes one), and the ConfigMap `kube-root-ca.crt`."""

        def make(group_version: str, plural: str, body: dict[str, Any]) -> dict[str, Any]:
            return self.create(self.kinds[(group_version, plural)], namespace, body)

        account = make("v1", "serviceaccounts", {"metadata": {"name": "default"}})
        make("v1", "configmaps", {"metadata": {"name": "kube-root-ca.crt"},
                                  "data": {"ca.crt": "FAKE CA"}})  # fmt: skip
        token = make("v1", "secrets", {
            "metadata": {"generateName": "default-token-", "annotations": {
                "kubernetes.io/service-account.name": "default",
                "kubernetes.io/service-account.uid": account["metadata"]["uid"]}},
            "type": "kubernetes.io/service-account-token",
            "data": {"token": base64.b64encode(b"fake-token").decode()},
        })  # fmt: skip
        account["secrets"] = [{"name": token["metadata"]["name"]}]

    def _defaults(self, obj: dict[str, Any]) -> None:
        if obj["kind"] == "Pod":
            obj.setdefault("status", {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]})  # fmt: skip
        elif obj["kind"] == "Namespace":
            obj.setdefault("status", {"phase": "Active"})
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj[
                "metadata"
            ]["name"]
        elif obj["kind"] == "Service":
            spec = obj.setdefault("spec", {})
            if spec.get("type", "ClusterIP") == "ClusterIP":
                spec.setdefault("clusterIP", f"10.96.{self._rv % 250}.{self._rv // 250 % 250}")
        elif obj["kind"] == "Deployment":
            obj.setdefault("spec", {}).setdefault("replicas", 1)
        elif obj["kind"] == "Secret" and "stringData" in obj:  # write-only, stored as data
            data = obj.setdefault("data", {})
            for key, value in (obj.pop("stringData") or {}).items():
                data[key] = base64.b64encode(str(value).encode()).decode()

    def replace(
        self, kind: Kind, namespace: str, name: str, body: dict[str, Any], status_only: bool
    ) -> dict[str, Any]:
        key = self._key(kind, namespace, name)
        current = self.objects.get(key)
        if current is None:
            raise HttpError(404, "NotFound", f'{kind.plural} "{name}" not found')
        given_rv = (body.get("metadata") or {}).get("resourceVersion")
        if given_rv and given_rv != current["metadata"]["resourceVersion"]:
            raise HttpError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {kind.plural} "{name}": the object has '
                "been modified; please apply your changes to the latest version and try again",
            )
        new = copy.deepcopy(current)
        if status_only:
            if "status" in body:
                new["status"] = copy.deepcopy(body["status"])
        else:
            keep_status = current.get("status")
            new = copy.deepcopy(body)
            new["apiVersion"], new["kind"] = kind.group_version, kind.kind
            meta = new.setdefault("metadata", {})
            for field in ("name", "namespace", *SERVER_META):
                if field in current["metadata"]:
                    meta[field] = current["metadata"][field]
                else:
                    meta.pop(field, None)
            if keep_status is not None:
                new["status"] = keep_status
            else:
                new.pop("status", None)
            self._defaults(new)
            _check_immutable(current, new)
            if _content(new) != _content(current):
                meta["generation"] = int(current["metadata"].get("generation", 1)) + 1
        if new == current:
            return current
        new["metadata"]["resourceVersion"] = self._next_rv()
        self.objects[key] = new
        return new

    def apply(
        self, kind: Kind, namespace: str, name: str, body: dict[str, Any], status_only: bool
    ) -> dict[str, Any]:
        """Server-side apply, for one field manager: the applied object replaces what it
        gives (labels, annotations, spec, data...), server fields and status are kept."""
        if body.get("kind") != kind.kind or body.get("apiVersion") != kind.group_version:
            raise HttpError(400, "BadRequest", "apply needs the object's apiVersion and kind")
        if (body.get("metadata") or {}).get("name") != name:
            raise HttpError(400, "BadRequest", "the name in the body does not match the URL")
        key = self._key(kind, namespace, name)
        current = self.objects.get(key)
        if current is None:
            if status_only:
                raise HttpError(404, "NotFound", f'{kind.plural} "{name}" not found')
            return self.create(kind, namespace, body)
        if status_only:
            return self.replace(kind, namespace, name, {"status": body.get("status")}, True)
        merged = copy.deepcopy(body)
        merged["metadata"] = {
            **{k: v for k, v in current["metadata"].items() if k in SERVER_META},
            **{k: v for k, v in body["metadata"].items() if k not in SERVER_META},
        }
        return self.replace(kind, namespace, name, merged, False)

    def patch(
        self, kind: Kind, namespace: str, name: str, patch: Any, status_only: bool
    ) -> dict[str, Any]:
        key = self._key(kind, namespace, name)
        current = self.objects.get(key)
        if current is None:
            raise HttpError(404, "NotFound", f'{kind.plural} "{name}" not found')
        if not isinstance(patch, dict):
            raise HttpError(415, "UnsupportedMediaType", "only object patches are supported")
        new = merge_patch(current, patch)
        new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        if status_only:
            return self.replace(kind, namespace, name, {"status": new.get("status")}, True)
        return self.replace(kind, namespace, name, new, False)

    def delete(self, kind: Kind, namespace: str, name: str) -> dict[str, Any]:
        key = self._key(kind, namespace, name)
        current = self.objects.get(key)
        if current is None:
            raise HttpError(404, "NotFound", f'{kind.plural} "{name}" not found')
        if kind.kind == "Namespace":
            if not current["metadata"].get("deletionTimestamp"):
                current["metadata"]["deletionTimestamp"] = now()
                current["metadata"]["resourceVersion"] = self._next_rv()
                current["status"] = {"phase": "Terminating"}
                current["_deleted_at"] = time.monotonic()
            self._finalize_namespaces()
            return current
        if kind.kind == "Pod" and self.pod_grace > 0:
            self._delete_pod(current)
            return current
        del self.objects[key]
        self.logs.pop((namespace, name), None)
        return current

    def _finish_pod_deletions(self) -> bool:
        """The kubelet's confirmation that a pod being deleted has stopped; whether one
        was."""
        finished = False
        for key, obj in list(self.objects.items()):
            if "_gone_at" in obj and time.monotonic() >= obj["_gone_at"]:
                del self.objects[key]
                self.logs.pop((key[2], key[3]), None)
                self._rv += 1
                finished = True
        return finished

    def _finalize_namespaces(self) -> None:
        for key, obj in list(self.objects.items()):
            if obj["kind"] != "Namespace" or "_deleted_at" not in obj:
                continue
            if time.monotonic() - obj["_deleted_at"] < self.namespace_delay:
                continue
            name = obj["metadata"]["name"]
            for other in [k for k in self.objects if k[2] == name and k[0:2] != key[0:2]]:
                del self.objects[other]
            self.logs = {k: v for k, v in self.logs.items() if k[0] != name}
            del self.objects[key]

    def list(self, kind: Kind, namespace: str | None, selector: str) -> dict[str, Any]:
        items = []
        for (gv, plural, ns, _name), obj in sorted(self.objects.items()):
            if (gv, plural) != (kind.group_version, kind.plural):
                continue
            if namespace is not None and kind.namespaced and ns != namespace:
                continue
            if selector and not selector_matches(selector, obj["metadata"].get("labels") or {}):
                continue
            items.append(_public(obj))
        return {
            "apiVersion": kind.group_version,
            "kind": f"{kind.kind}List",
            "metadata": {"resourceVersion": str(self._rv)},
            "items": items,
        }

    # --- the controller-manager ---------------------------------------------------------------

    def reconcile(self) -> None:
        for _ in range(10):  # until nothing changes
            before = self._rv
            self._garbage_collect()
            for obj in [o for o in self.objects.values() if o["kind"] == "Deployment"]:
                self._deployment(obj)
            for obj in [o for o in self.objects.values() if o["kind"] == "StatefulSet"]:
                self._stateful_set(obj)
            if self._rv == before:
                return

    def _garbage_collect(self) -> None:
        uids = {o["metadata"]["uid"] for o in self.objects.values()}
        for key, obj in list(self.objects.items()):
            owners = obj["metadata"].get("ownerReferences") or []
            if owners and not any(o.get("uid") in uids for o in owners):
                if obj["kind"] == "Pod" and self.pod_grace > 0:
                    self._delete_pod(obj)
                    continue
                del self.objects[key]
                self._rv += 1

    def _owned(self, kind: str, namespace: str, owner: dict[str, Any]) -> list[dict[str, Any]]:
        uid = owner["metadata"]["uid"]
        return [
            o
            for (gv, _p, ns, _n), o in sorted(self.objects.items())
            if o["kind"] == kind
            and ns == namespace
            and any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])
        ]

    def _owner_ref(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def _deployment(self, deployment: dict[str, Any]) -> None:
        ns = deployment["metadata"]["namespace"]
        spec = deployment.get("spec") or {}
        template = spec.get("template") or {}
        digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
        template_hash = "".join(SAFE[b % len(SAFE)] for b in digest[:10])
        rs_name = f"{deployment['metadata']['name']}-{template_hash}"
        rs_kind = self.kinds[("apps/v1", "replicasets")]
        pod_kind = self.kinds[("v1", "pods")]
        sets = self._owned("ReplicaSet", ns, deployment)
        new_rs = next((s for s in sets if s["metadata"]["name"] == rs_name), None)
        if new_rs is None:
            labels = {**(template.get("metadata") or {}).get("labels", {}),
                      "pod-template-hash": template_hash}  # fmt: skip
            new_rs = self.create(rs_kind, ns, {
                "metadata": {"name": rs_name, "labels": labels,
                             "ownerReferences": [self._owner_ref(deployment)]},
                "spec": {"selector": {"matchLabels": labels},
                         "template": {**copy.deepcopy(template), "metadata": {
                             **copy.deepcopy(template.get("metadata") or {}), "labels": labels}}},
            })  # fmt: skip
            sets = self._owned("ReplicaSet", ns, deployment)
        # pods being deleted count for nothing, as for the real ReplicaSet controller
        new_pods = [p for p in self._owned("Pod", ns, new_rs) if not _terminating(p)]
        old_pods = [
            p
            for s in sets
            if s["metadata"]["uid"] != new_rs["metadata"]["uid"]
            for p in self._owned("Pod", ns, s)
            if not _terminating(p)
        ]
        want = int(spec.get("replicas", 1))
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        surge = _scaled(rolling.get("maxSurge", "25%"), want, True)
        unavailable = _scaled(rolling.get("maxUnavailable", "25%"), want, False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        min_available = max(want - unavailable, 0)
        for _ in range(want + len(old_pods) + 2):
            changed = False
            while len(new_pods) > want:  # scale the new set down, not ready first
                victim = sorted(new_pods, key=_ready)[0]
                self._delete_pod(victim)
                new_pods.remove(victim)
                changed = True
            while len(new_pods) < want and len(new_pods) + len(old_pods) < want + surge:
                new_pods.append(self._new_pod(pod_kind, ns, new_rs))
                changed = True
            for pod in [p for p in old_pods if not _ready(p)]:  # they serve nothing
                if len(new_pods) > 0 or len(old_pods) + len(new_pods) > want:
                    self._delete_pod(pod)
                    old_pods.remove(pod)
                    changed = True
            ready = sum(map(_ready, new_pods + old_pods))
            for pod in [p for p in old_pods if _ready(p)]:
                if ready - 1 < min_available:  # keep serving: wait for new ready pods
                    break
                self._delete_pod(pod)
                old_pods.remove(pod)
                ready -= 1
                changed = True
            if not changed:
                break
        ready_new = sum(map(_ready, new_pods))
        ready_all = sum(map(_ready, new_pods + old_pods))
        done = ready_new == want and not old_pods
        status = {
            "observedGeneration": deployment["metadata"].get("generation", 1),
            "replicas": len(new_pods) + len(old_pods),
            "updatedReplicas": len(new_pods),
            "readyReplicas": ready_all,
            "availableReplicas": ready_all,
            "unavailableReplicas": max(len(new_pods) + len(old_pods) - ready_all, 0),
            "conditions": [
                {"type": "Available", "status": "True" if ready_all >= min_available else "False"},
                {"type": "Progressing", "status": "True",
                 "reason": "NewReplicaSetAvailable" if done else "ReplicaSetUpdated"},
            ],
        }  # fmt: skip
        status = {k: v for k, v in status.items() if v != 0}
        if deployment.get("status") != status:
            deployment["status"] = status
            deployment["metadata"]["resourceVersion"] = self._next_rv()

    def _stateful_set(self, stateful: dict[str, Any]) -> None:
        """Pods SET-0..N-1 (made again under the same name when deleted), each with the
        claims of the volumeClaimTemplates (TEMPLATE-SET-I, left when the set goes, as the
        real controller leaves them), and the status the real controller reports."""
        ns, set_name = stateful["metadata"]["namespace"], stateful["metadata"]["name"]
        spec = stateful.get("spec") or {}
        template = spec.get("template") or {}
        want = int(spec.get("replicas", 1))
        pod_kind, claim_kind = (
            self.kinds[("v1", "pods")],
            self.kinds[("v1", "persistentvolumeclaims")],
        )
        pods = self._owned("Pod", ns, stateful)
        for pod in pods:
            ordinal = pod["metadata"]["name"].rsplit("-", 1)[-1]
            if ordinal.isdigit() and int(ordinal) >= want and not _terminating(pod):
                self._delete_pod(pod)
        names = {p["metadata"]["name"] for p in pods}
        for ordinal in range(want):
            name = f"{set_name}-{ordinal}"
            volumes = []
            for claim in spec.get("volumeClaimTemplates") or []:
                claim_name = f"{claim['metadata']['name']}-{name}"
                if self._key(claim_kind, ns, claim_name) not in self.objects:
                    self.create(claim_kind, ns, {
                        "metadata": {**copy.deepcopy(claim["metadata"]), "name": claim_name},
                        "spec": copy.deepcopy(claim.get("spec") or {}),
                    })  # fmt: skip
                volumes.append({"name": claim["metadata"]["name"],
                                "persistentVolumeClaim": {"claimName": claim_name}})  # fmt: skip
            if name in names:
                continue
            meta = copy.deepcopy(template.get("metadata") or {})
            meta["labels"] = {**meta.get("labels", {}), "statefulset.kubernetes.io/pod-name": name}
            body = copy.deepcopy(template.get("spec") or {})
            body["volumes"] = [*body.get("volumes", []), *volumes]
            self.create(pod_kind, ns, {
                "metadata": {**meta, "name": name, "ownerReferences": [self._owner_ref(stateful)]},
                "spec": body,
            })  # fmt: skip
        live = [p for p in self._owned("Pod", ns, stateful) if not _terminating(p)]
        ready = sum(map(_ready, live))
        status = {
            "observedGeneration": stateful["metadata"].get("generation", 1),
            "replicas": len(live),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "currentReplicas": len(live),
        }
        status = {k: v for k, v in status.items() if v != 0}
        if stateful.get("status") != status:
            stateful["status"] = status
            stateful["metadata"]["resourceVersion"] = self._next_rv()

    def _new_pod(self, kind: Kind, ns: str, rs: dict[str, Any]) -> dict[str, Any]:
        template = rs["spec"]["template"]
        while True:
            name = f"{rs['metadata']['name']}-{''.join(secrets.choice(SAFE) for _ in range(5))}"
            if self._key(kind, ns, name) not in self.objects:
                break
        return self.create(kind, ns, {
            "metadata": {**copy.deepcopy(template.get("metadata") or {}), "name": name,
                         "ownerReferences": [self._owner_ref(rs)]},
            "spec": copy.deepcopy(template.get("spec") or {}),
        })  # fmt: skip

    def _delete_pod(self, pod: dict[str, Any]) -> None:
        phase = (pod.get("status") or {}).get("phase")
        if self.pod_grace > 0 and phase not in ("Succeeded", "Failed"):
            # Terminating until the "kubelet" confirms (_tick); a real API server deletes a
            # pod that has finished at once
            if "_gone_at" not in pod:
                pod["metadata"]["deletionTimestamp"] = now()
                pod["metadata"]["deletionGracePeriodSeconds"] = math.ceil(self.pod_grace)
                pod["metadata"]["resourceVersion"] = self._next_rv()
                pod["_gone_at"] = time.monotonic() + self.pod_grace
            return
        kind = self.kinds[("v1", "pods")]
        key = self._key(kind, pod["metadata"]["namespace"], pod["metadata"]["name"])
        if self.objects.pop(key, None) is not None:
            self._rv += 1

    # --- HTTP ----------------------------------------------------------------------------

    def handle(self, method: str, url: str, headers: Any, raw: bytes) -> tuple[int, Any, str]:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        segments = [unquote(s) for s in parts.path.strip("/").split("/") if s]
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.requests.append((method, parts.path))
            if self.fail_next and self.fail_when(method, parts.path):
                code = self.fail_next.pop(0)
                raise HttpError(code, "Injected", f"injected failure {code}")
            discovery = self._discovery(segments)
            if discovery is not None:
                if method != "GET":
                    raise HttpError(405, "MethodNotAllowed", "discovery is read-only")
                return 200, discovery, "application/json"
            kind, namespace, name, sub = self._route(segments)
            body: Any = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise HttpError(400, "BadRequest", "the body is not JSON") from None
            result = self._dispatch(method, kind, namespace, name, sub, query, headers, body)
            if method != "GET":
                self.reconcile()
            if isinstance(result, str):
                return 200, result, "text/plain"
            return 200 if method != "POST" else 201, result, "application/json"

    def _discovery(self, segments: list[str]) -> Any:
        versions = sorted({k.group_version for k in RESOURCES if self._served(k)})
        if segments == ["api"]:
            return {"kind": "APIVersions", "versions": ["v1"]}
        if segments == ["apis"]:
            groups: dict[str, list[str]] = {}
            for gv in versions:
                if "/" in gv:
                    group, version = gv.split("/")
                    groups.setdefault(group, []).append(version)
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                 "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}}
                for g, vs in sorted(groups.items())]}  # fmt: skip
        gv = None
        if segments == ["api", "v1"]:
            gv = "v1"
        elif len(segments) == 3 and segments[0] == "apis":
            gv = f"{segments[1]}/{segments[2]}"
        if gv is None:
            return None
        kinds = [k for k in RESOURCES if k.group_version == gv and self._served(k)]
        if not kinds:
            raise HttpError(404, "NotFound", "the server could not find the requested resource")
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": [
            {"name": k.plural, "kind": k.kind, "namespaced": k.namespaced,
             "verbs": ["create", "delete", "get", "list", "patch", "update"]} for k in kinds]}  # fmt: skip

    def _served(self, kind: Kind) -> bool:
        if kind.group_version.startswith(CERT_MANAGER_GROUP):
            return self.cert_manager
        return self.gateway or not kind.group_version.startswith(GATEWAY_GROUP)

    def _route(self, segments: list[str]) -> tuple[Kind, str | None, str | None, str | None]:
        if segments[:2] == ["api", "v1"]:
            gv, rest = "v1", segments[2:]
        elif segments[:1] == ["apis"] and len(segments) >= 3:
            gv, rest = f"{segments[1]}/{segments[2]}", segments[3:]
        else:
            raise HttpError(404, "NotFound", "the server could not find the requested resource")
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest:
            raise HttpError(404, "NotFound", "the server could not find the requested resource")
        kind = self.kinds.get((gv, rest[0]))
        if kind is None or not self._served(kind):
            raise HttpError(404, "NotFound", "the server could not find the requested resource")
        if kind.namespaced is False and namespace is not None:
            raise HttpError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub not in (None, "status", "log") or (sub == "status" and not kind.status):
            raise HttpError(404, "NotFound", "the server could not find the requested resource")
        if sub == "log" and kind.kind != "Pod":
            raise HttpError(404, "NotFound", "the server could not find the requested resource")
        if kind.namespaced and name is not None and namespace is None:
            raise HttpError(404, "NotFound", "the server could not find the requested resource")
        return kind, namespace, name, sub

    def _dispatch(
        self,
        method: str,
        kind: Kind,
        namespace: str | None,
        name: str | None,
        sub: str | None,
        query: dict[str, str],
        headers: Any,
        body: Any,
    ) -> Any:
        ns = namespace or ""
        if name is None:
            if method == "GET":
                return self.list(kind, namespace, query.get("labelSelector", ""))
            if method == "POST":
                if kind.namespaced and namespace is None:
                    raise HttpError(404, "NotFound", "a namespace is needed")
                return _public(self.create(kind, ns, body or {}))
            raise HttpError(405, "MethodNotAllowed", f"{method} on a collection")
        status_only = sub == "status"
        if sub == "log":
            return self._log(ns, name, query)
        if method == "GET":
            obj = self.objects.get(self._key(kind, ns, name))
            if obj is None:
                raise HttpError(404, "NotFound", f'{kind.plural} "{name}" not found')
            return _public(obj)
        if method == "PUT":
            return _public(self.replace(kind, ns, name, body or {}, status_only))
        if method == "DELETE":
            return _public(self.delete(kind, ns, name))
        if method == "PATCH":
            content_type = (headers.get("Content-Type") or "").split(";")[0].strip()
            if content_type == "application/apply-patch+yaml":
                if not query.get("fieldManager"):
                    raise HttpError(400, "BadRequest", "fieldManager is required for apply")
                return _public(self.apply(kind, ns, name, body or {}, status_only))
            if content_type in (
                "application/merge-patch+json",
                "application/strategic-merge-patch+json",
            ):
                return _public(self.patch(kind, ns, name, body, status_only))
            raise HttpError(415, "UnsupportedMediaType", f"{content_type} is not supported")
        raise HttpError(405, "MethodNotAllowed", method)

    def _log(self, ns: str, name: str, query: dict[str, str]) -> str:
        if self._key(self.kinds[("v1", "pods")], ns, name) not in self.objects:
            raise HttpError(404, "NotFound", f'pods "{name}" not found')
        lines = self.logs.get((ns, name), [])
        if "tailLines" in query:
            count = int(query["tailLines"])
            lines = lines[-count:] if count > 0 else []
        stamps = query.get("timestamps") == "true"
        return "".join(f"{t} {m}\n" if stamps else f"{m}\n" for t, m in lines)


def _content(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}


def _handler(api: FakeApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body go out in two writes: without this, delayed ACKs cost
            # 40 ms a request
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.command == "GET" and self._follow():
                return
            try:
                code, payload, content_type = api.handle(self.command, self.path, self.headers, raw)
            except HttpError as error:
                code, content_type = error.code, "application/json"
                payload = {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                           "message": error.message, "reason": error.reason, "code": error.code}  # fmt: skip
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            try:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                self.close_connection = True

        def _follow(self) -> bool:
            """A `follow=true` log request, streamed in chunks; False for anything else."""
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            segments = [unquote(s) for s in parts.path.strip("/").split("/") if s]
            if query.get("follow") != "true" or len(segments) != 7 or segments[-1] != "log":
                return False
            try:
                lines = api.follow(segments[3], segments[5], query)
                first = next(lines, None)  # the errors come before any line
            except HttpError as error:
                payload = {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                           "message": error.message, "reason": error.reason, "code": error.code}  # fmt: skip
                data = json.dumps(payload).encode()
                self.send_response(error.code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return True
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for line in itertools.chain([first] if first is not None else [], lines):
                    data = line.encode()
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            return True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return Handler


@contextmanager
def running(directory: Path, **options: Any) -> Iterator[tuple[FakeApiServer, Path]]:
    """A started fake and a kubeconfig pointing at it."""
    server = FakeApiServer(**options).start()
    try:
        yield server, server.kubeconfig(directory)
    finally:
        server.stop()
