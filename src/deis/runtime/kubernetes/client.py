"""The only module that talks to the Kubernetes API, through the official client.

Objects are plain dicts (the manifests of `manifests.py`); every write is idempotent:
server-side apply (`fieldManager=deis`, forced) or a read-modify-write that retries on a
409. Transient failures (connection errors, 429, 5xx, and 409 conflicts of applies) are
retried with exponential backoff; every request has a timeout. The `kubernetes` package
is untyped, so its objects stay `Any` here and go no further.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

log = logging.getLogger(__name__)

FIELD_MANAGER = "deis"
APPLY = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
TRANSIENT = frozenset({429, 500, 502, 503, 504})

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    plural: str
    namespaced: bool


# apiVersion, kind -> how it is addressed; every kind the platform reads or writes.
RESOURCES: dict[tuple[str, str], Resource] = {
    ("v1", "Namespace"): Resource("namespaces", False),
    ("v1", "Secret"): Resource("secrets", True),
    ("v1", "ConfigMap"): Resource("configmaps", True),
    ("v1", "Service"): Resource("services", True),
    ("v1", "Pod"): Resource("pods", True),
    ("v1", "ServiceAccount"): Resource("serviceaccounts", True),
    ("v1", "PersistentVolumeClaim"): Resource("persistentvolumeclaims", True),
    ("v1", "Event"): Resource("events", True),
    ("apps/v1", "Deployment"): Resource("deployments", True),
    ("apps/v1", "ReplicaSet"): Resource("replicasets", True),
    ("apps/v1", "StatefulSet"): Resource("statefulsets", True),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): Resource("horizontalpodautoscalers", True),
    ("batch/v1", "CronJob"): Resource("cronjobs", True),
    ("networking.k8s.io/v1", "Ingress"): Resource("ingresses", True),
    ("networking.k8s.io/v1", "NetworkPolicy"): Resource("networkpolicies", True),
    ("rbac.authorization.k8s.io/v1", "Role"): Resource("roles", True),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): Resource("rolebindings", True),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): Resource("clusterroles", False),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): Resource("clusterrolebindings", False),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): Resource("httproutes", True),
    ("gateway.networking.k8s.io/v1", "Gateway"): Resource("gateways", True),
    ("gateway.networking.k8s.io/v1beta1", "ReferenceGrant"): Resource("referencegrants", True),
    ("cert-manager.io/v1", "Certificate"): Resource("certificates", True),
}


class ApiError(Exception):
    """The API server refused a request (or could not be reached: status 0)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


def path(
    api_version: str,
    kind: str,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    resource = RESOURCES.get((api_version, kind))
    if resource is None:
        raise ValueError(f"unknown kind {api_version} {kind}")
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    if resource.namespaced:
        if not namespace:
            raise ValueError(f"{kind} {name or ''} needs a namespace")
        base += f"/namespaces/{quote(namespace, safe='')}"
    base += f"/{resource.plural}"
    if name is not None:
        base += f"/{quote(name, safe='')}"
        if subresource:
            base += f"/{subresource}"
    return base


def path_of(manifest: Mapping[str, Any], subresource: str | None = None) -> str:
    meta = manifest.get("metadata") or {}
    return path(
        manifest["apiVersion"],
        manifest["kind"],
        meta.get("namespace"),
        meta["name"],
        subresource,
    )


class Kube:
    """A connection to one API server. `api_client` is a `kubernetes.client.ApiClient`."""

    def __init__(
        self,
        api_client: Any,
        *,
        timeout: float = 15.0,
        attempts: int = 6,
        backoff: float = 0.2,
        max_backoff: float = 5.0,
        field_manager: str = FIELD_MANAGER,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_client = api_client
        self.timeout = timeout
        self.attempts = max(attempts, 1)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.field_manager = field_manager
        self.sleep = sleep

    # --- connecting ----------------------------------------------------------------------

    @classmethod
    def connect(
        cls, kubeconfig: str | None = None, context: str | None = None, **options: Any
    ) -> Kube:
        """From a kubeconfig file (or $KUBECONFIG, ~/.kube/config) or, when none is
        given and the platform runs in a pod, its service account."""
        from kubernetes import client
        from kubernetes import config as config_module

        config: Any = config_module  # partly untyped: kept at the edge
        configuration = client.Configuration()
        if kubeconfig is None and _in_cluster():
            config.load_incluster_config(client_configuration=configuration)
        else:
            config.load_kube_config(
                config_file=kubeconfig, context=context, client_configuration=configuration
            )
        # urllib3 would retry each request 3 times on its own, multiplying the timeouts:
        # the retries are this class's, with backoff
        configuration.retries = False
        return cls(client.ApiClient(configuration), **options)

    def close(self) -> None:
        close = getattr(self.api_client, "close", None)
        if callable(close):
            close()

    # --- requests ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url_path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str | None = None,
        retry_conflicts: bool = False,
        raw: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """One API call, retried while the failure is transient. JSON in, JSON out (text
        with raw=True); ApiError for anything else."""
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                return self._once(method, url_path, query, body, content_type, raw, timeout)
            except ApiError as error:
                retry = error.status in TRANSIENT or error.status == 0
                retry = retry or (retry_conflicts and error.status == 409)
                if not retry or attempt == self.attempts:
                    raise
                log.info("%s %s: %s; retrying", method, url_path, error)
            self.sleep(min(delay, self.max_backoff) * (0.5 + random.random() / 2))
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(
        self,
        method: str,
        url_path: str,
        query: Mapping[str, str] | None,
        body: Any,
        content_type: str | None,
        raw: bool,
        timeout: float | None,
    ) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        headers = {"Accept": "*/*" if raw else "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        try:
            _method, url, headers, body, _post = self.api_client.param_serialize(
                method,
                url_path,
                query_params=list((query or {}).items()),
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self.api_client.call_api(
                method, url, header_params=headers, body=body,
                _request_timeout=timeout or self.timeout,
            )  # fmt: skip
            response.read()
        except ApiException as error:
            raise _api_error(error.status or 0, error.reason, error.body) from None
        except (HTTPError, OSError) as error:
            raise ApiError(0, "Unreachable", str(error)) from None
        data = response.data or b""
        if not 200 <= response.status <= 299:
            raise _api_error(response.status, response.reason, data)
        text = data.decode("utf-8", "replace")
        if raw:
            return text
        return json.loads(text) if text else {}

    # --- objects -------------------------------------------------------------------------

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Manifest | None:
        try:
            result: Manifest = self.request("GET", path(api_version, kind, namespace, name))
        except ApiError as error:
            if error.status == 404:
                return None
            raise
        return result

    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> list[Manifest]:
        query = {}
        if labels:
            query["labelSelector"] = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        try:
            result = self.request("GET", path(api_version, kind, namespace), query=query)
        except ApiError as error:
            if error.status == 404:  # the namespace (or the API) is not there
                return []
            raise
        items: list[Manifest] = result.get("items") or []
        for item in items:  # lists leave them out of their items
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def apply(self, manifest: Mapping[str, Any]) -> Manifest:
        """Server-side apply: creates or updates; applying twice changes nothing."""
        result: Manifest = self.request(
            "PATCH",
            path_of(manifest),
            query={"fieldManager": self.field_manager, "force": "true"},
            body=dict(manifest),
            content_type=APPLY,
            retry_conflicts=True,
        )
        return result

    def create(self, manifest: Mapping[str, Any]) -> Manifest:
        meta = manifest.get("metadata") or {}
        url = path(manifest["apiVersion"], manifest["kind"], meta.get("namespace"))
        result: Manifest = self.request(
            "POST", url, query={"fieldManager": self.field_manager}, body=dict(manifest)
        )
        return result

    def update(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        change: Callable[[Manifest], Manifest | None],
        *,
        subresource: str | None = None,
    ) -> Manifest | None:
        """Read, change, replace with the read resourceVersion; again on a 409. `change`
        returns the new object, or None to leave it alone. None if there is no object."""
        url = path(api_version, kind, namespace, name)
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            current = self.get(api_version, kind, name, namespace)
            if current is None:
                return None
            new = change(json.loads(json.dumps(current)))
            if new is None:
                return current
            try:
                result: Manifest = self.request(
                    "PUT", url + (f"/{subresource}" if subresource else ""), body=new
                )
                return result
            except ApiError as error:
                if error.status != 409 or attempt == self.attempts:
                    raise
            self.sleep(min(delay, self.max_backoff))
            delay *= 2
        return None  # pragma: no cover

    def merge_patch(
        self, manifest_path: str, patch: Mapping[str, Any], subresource: str | None = None
    ) -> Manifest:
        result: Manifest = self.request(
            "PATCH",
            manifest_path + (f"/{subresource}" if subresource else ""),
            body=dict(patch),
            content_type=MERGE_PATCH,
            retry_conflicts=True,
        )
        return result

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete (dependents in the background); False if it was not there."""
        try:
            self.request(
                "DELETE",
                path(api_version, kind, namespace, name),
                body={
                    "kind": "DeleteOptions",
                    "apiVersion": "v1",
                    "propagationPolicy": "Background",
                },
            )
        except ApiError as error:
            if error.status == 404:
                return False
            raise
        return True

    def log(
        self,
        namespace: str,
        pod: str,
        tail_lines: int | None = None,
        timestamps: bool = False,
    ) -> str:
        query = {}
        if tail_lines is not None:
            query["tailLines"] = str(tail_lines)
        if timestamps:
            query["timestamps"] = "true"
        text: str = self.request(
            "GET", path("v1", "Pod", namespace, pod, "log"), query=query, raw=True
        )
        return text

    def follow_log(
        self,
        namespace: str,
        pod: str,
        *,
        since_time: str | None = None,
        idle_timeout: float = 60.0,
    ) -> Iterator[tuple[str, str]]:
        """(timestamp, line) as the pod's container writes them, until it ends (the API
        server closes the stream). Not retried: ApiError(400) while the container has
        not started, ApiError(0) when the stream breaks or is silent for idle_timeout;
        the caller resumes with since_time."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        query = [("follow", "true"), ("timestamps", "true")]
        if since_time:
            query.append(("sinceTime", since_time))
        headers = {"Accept": "*/*"}
        try:
            _m, url, headers, _b, _p = self.api_client.param_serialize(
                "GET",
                path("v1", "Pod", namespace, pod, "log"),
                query_params=query,
                header_params=headers,
                auth_settings=["BearerToken"],
            )
            response = self.api_client.call_api(
                "GET", url, header_params=headers, _request_timeout=(self.timeout, idle_timeout)
            )
        except ApiException as error:
            raise _api_error(error.status or 0, error.reason, error.body) from None
        except (HTTPError, OSError) as error:
            raise ApiError(0, "Unreachable", str(error)) from None
        raw = response.response  # urllib3's response, not read yet: a stream
        try:
            if not 200 <= response.status <= 299:
                raise _api_error(response.status, response.reason, raw.data)
            pending = b""
            try:
                for chunk in raw.stream(64 * 1024, decode_content=True):
                    pending += chunk
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        yield _stamped(line.decode("utf-8", "replace"))
            except (HTTPError, OSError) as error:
                raise ApiError(0, "StreamBroken", str(error)) from None
            if pending:
                yield _stamped(pending.decode("utf-8", "replace"))
        finally:
            raw.release_conn()

    def has_api(self, group_version: str) -> bool:
        """Whether the server serves an API group version (e.g. gateway.networking.k8s.io/v1)."""
        try:
            self.request("GET", f"/apis/{group_version}")
        except ApiError as error:
            if error.status in (404, 403):
                return False
            raise
        return True


def _api_error(status: int, reason: Any, body: Any) -> ApiError:
    """From the API's Status object when the body is one (its reason, e.g. AlreadyExists,
    says more than the HTTP reason phrase)."""
    message, why = "", str(reason or "")
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body:
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            message = str(parsed.get("message", ""))
            why = str(parsed.get("reason") or why)
        else:
            message = body
    return ApiError(status, why, message[:500])


def _stamped(line: str) -> tuple[str, str]:
    """A log line of timestamps=true, "2026-01-02T03:04:05.123456789Z message", split."""
    stamp, _, message = line.partition(" ")
    return stamp, message.rstrip("\r")


def _in_cluster() -> bool:
    import os

    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and os.path.exists(
        "/var/run/secrets/kubernetes.io/serviceaccount/token"
    )
