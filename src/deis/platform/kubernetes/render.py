"""Every manifest the platform needs on a cluster, as plain dicts: a pure function of the
install options (`deisctl kubernetes render` writes them, `install` applies them).

- the platform's Namespace;
- ServiceAccount and least-privilege RBAC for the controller: a ClusterRole limited to
  the kinds and verbs the runtime and router use (apps live in namespaces made at run
  time, so namespaced rights cannot be bound in advance), and a Role on the Gateway for
  its listeners;
- a ConfigMap of settings, a Secret with the PostgreSQL connection, a Secret with the
  S3-compatible object store, a Secret with the builder's key;
- the controller Deployment (API on 8000, builder SSH on 2222, one process) and its
  Services: `deis-controller` (HTTP) and `deis-builder` (SSH, LoadBalancer by default);
- the image registry (Distribution) on S3 or on a PersistentVolumeClaim;
- the maintenance page (Deployment and Service `deis-maintenance`) that routes of apps
  in maintenance point at;
- the controller's route: an HTTPRoute (and, given a GatewayClass, the Gateway) or an
  Ingress of the chosen class, for deis.DOMAIN;
- the NetworkPolicies of build pods: nothing reaches them; they reach the cluster's DNS
  and public addresses only (never the controller, the builder, the router, other pods
  or the cloud's metadata), and a dockerbuilder pod the registry too (to push).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from deis.builder.kubernetes import (
    COMPONENT as BUILD_COMPONENT,
)
from deis.builder.kubernetes import (
    DOCKERBUILDER,
    LABEL_BUILDER,
    LABEL_COMPONENT,
)
from deis.domain.buildnet import DEFAULT_DENIED, LINK_LOCAL, parse_networks
from deis.router.kubernetes import parse_issuer

Manifest = dict[str, Any]

ROUTINGS = ("gateway", "ingress")
STORAGES = ("s3", "pvc")
SERVICE_TYPES = ("LoadBalancer", "NodePort", "ClusterIP")
API_PORT = 8000
SSH_PORT = 2222
REGISTRY_PORT = 5000
MAINTENANCE_PORT = 8080
STATE_DIR = "/var/lib/deis"
_IMAGE_PART = re.compile(r"[a-z0-9]([a-z0-9._:/-]*[a-z0-9])?")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def package_version() -> str:
    """The tag `make images` gives the platform's images: this package's version."""
    try:
        return version("deis-platform")
    except PackageNotFoundError:
        return "latest"


@dataclass(frozen=True)
class InstallOptions:
    domain: str
    database_url: str
    builder_key: str
    namespace: str = "deis"
    routing: str = "gateway"  # gateway | ingress
    ingress_class: str | None = None
    gateway_class: str | None = None  # set: render the Gateway too
    gateway_name: str = "deis"
    gateway_tls_secret: str | None = None  # wildcard certificate for *.DOMAIN
    cert_issuer: str | None = None  # cert-manager's issuer for automatic TLS: [KIND/]NAME
    # or automatic TLS ordered by the controller itself (no cert-manager): the ACME
    # account's email and the CA's directory; challenges are answered by the controller
    acme_email: str | None = None
    acme_directory: str | None = None
    storage: str = "s3"  # where the registry keeps images: s3 (the object store) | pvc
    storage_class: str | None = None  # for storage=pvc; None: the cluster's default
    registry_size: str = "20Gi"
    s3_endpoint: str = ""
    s3_bucket: str = "deis"
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    builder_service_type: str = "LoadBalancer"
    # the platform's images (`make images`): PREFIX/NAME:TAG unless named one by one
    image_prefix: str = "deis"
    image_tag: str = field(default_factory=package_version)
    controller_image: str = ""
    slugbuilder_image: str = ""
    slugrunner_image: str = ""
    dockerbuilder_image: str = ""
    addons_image: str = ""
    registry_image: str = "registry:2"
    controller_replicas: int = 1
    # networks build pods may not reach besides link-local (the pods' and Services'
    # networks must be among them), and networks they may (an object store in the
    # cluster, reached by its pods' addresses: the presigned URLs of slugs point there)
    build_deny_cidrs: tuple[str, ...] = DEFAULT_DENIED
    build_allow_cidrs: tuple[str, ...] = ()

    def check(self) -> InstallOptions:
        if not self.domain:
            raise ValueError("a platform domain is required")
        if not self.database_url.startswith(("postgresql://", "postgresql+psycopg://")):
            raise ValueError("the database URL must be postgresql://USER:PASSWORD@HOST/NAME")
        if not self.builder_key:
            raise ValueError("a builder key is required")
        parse_issuer(self.cert_issuer)  # ValueError says what it must be
        if self.acme_email and "@" not in self.acme_email:
            raise ValueError(f"the ACME email must be an email address, not {self.acme_email!r}")
        if self.routing not in ROUTINGS:
            raise ValueError(f"routing must be one of {', '.join(ROUTINGS)}")
        if self.storage not in STORAGES:
            raise ValueError(f"storage must be one of {', '.join(STORAGES)}")
        if self.builder_service_type not in SERVICE_TYPES:
            raise ValueError(f"the builder Service type must be one of {', '.join(SERVICE_TYPES)}")
        if not self.s3_endpoint:  # slugs and caches live there, whatever the storage
            raise ValueError("an S3-compatible object store endpoint is required")
        if not _IMAGE_PART.fullmatch(self.image_prefix.rstrip("/")):
            raise ValueError(f"not an image repository prefix: {self.image_prefix!r}")
        if not _TAG.fullmatch(self.image_tag):
            raise ValueError(f"not an image tag: {self.image_tag!r}")
        parse_networks(" ".join((*self.build_deny_cidrs, *self.build_allow_cidrs)))
        return self

    def image(self, component: str) -> str:
        """The image of a platform component: as given, else PREFIX/COMPONENT:TAG."""
        given: str = getattr(self, f"{component}_image")
        return given or f"{self.image_prefix.rstrip('/')}/{component}:{self.image_tag}"


def _labels(component: str) -> dict[str, str]:
    return {"heritage": "deis", "app": "deis", "component": component}


def _meta(name: str, o: InstallOptions, component: str) -> dict[str, Any]:
    return {"name": name, "namespace": o.namespace, "labels": _labels(component)}


def namespace(o: InstallOptions) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": o.namespace, "labels": {"heritage": "deis", "app": "deis"}},
    }


# --- RBAC --------------------------------------------------------------------------------

RW = ["get", "list", "watch", "create", "update", "patch", "delete"]


def controller_rules(o: InstallOptions) -> list[dict[str, Any]]:
    """What the runtime and the router do, and no more."""
    rules: list[dict[str, Any]] = [
        {"apiGroups": [""], "resources": ["namespaces"],
         "verbs": ["get", "list", "create", "patch", "delete"]},
        {"apiGroups": [""], "resources": ["secrets", "services"], "verbs": list(RW)},
        {"apiGroups": [""], "resources": ["pods"],
         "verbs": ["get", "list", "watch", "create", "delete"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": list(RW)},
        {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": list(RW)},
        {"apiGroups": ["batch"], "resources": ["cronjobs"], "verbs": list(RW)},
        # add-ons (deis addons:create): a StatefulSet, its claim and a NetworkPolicy each
        {"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": list(RW)},
        {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get", "list"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": list(RW)},
    ]  # fmt: skip
    if o.routing == "gateway":
        rules.append(
            {"apiGroups": ["gateway.networking.k8s.io"],
             "resources": ["httproutes", "referencegrants"], "verbs": list(RW)}
        )  # fmt: skip
    else:
        rules.append(
            {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": list(RW)}
        )
    if o.cert_issuer:  # automatic TLS: a cert-manager Certificate per host
        rules.append({"apiGroups": ["cert-manager.io"], "resources": ["certificates"],
                      "verbs": list(RW)})  # fmt: skip
    return rules


def rbac(o: InstallOptions) -> list[Manifest]:
    name = f"{o.namespace}-controller"
    subject = {"kind": "ServiceAccount", "name": "deis-controller", "namespace": o.namespace}
    objects: list[Manifest] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta("deis-controller", o, "controller"),
            "automountServiceAccountToken": True,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name, "labels": _labels("controller")},
            "rules": controller_rules(o),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": _labels("controller")},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": name,
            },
            "subjects": [subject],
        },  # fmt: skip
    ]
    objects += acme_challenges(o, subject)
    if o.routing == "gateway":
        objects += [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": _meta("deis-gateway-listeners", o, "controller"),
                "rules": [
                    {
                        "apiGroups": ["gateway.networking.k8s.io"],
                        "resources": ["gateways"],
                        "resourceNames": [o.gateway_name],
                        "verbs": ["get", "update", "patch"],
                    }
                ],
            },  # fmt: skip
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": _meta("deis-gateway-listeners", o, "controller"),
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "deis-gateway-listeners",
                },
                "subjects": [subject],
            },  # fmt: skip
        ]
    return objects


def acme_challenges(o: InstallOptions, subject: dict[str, str]) -> list[Manifest]:
    """Automatic TLS ordered by the controller: the ConfigMap its replicas keep pending
    ACME challenges in, and a Role to change that one ConfigMap."""
    if not o.acme_email or o.cert_issuer:
        return []
    name = "deis-acme-challenges"
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(name, o, "controller"),
         "data": {}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": _meta(name, o, "controller"),
         "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [name],
                    "verbs": ["get", "update", "patch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": _meta(name, o, "controller"),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": [subject]},
    ]  # fmt: skip


# --- settings and secrets ------------------------------------------------------------------


def settings(o: InstallOptions) -> Manifest:
    data = {
        "DEIS_DOMAIN": o.domain,
        "DEIS_BIND": "0.0.0.0",
        "DEIS_API_PORT": str(API_PORT),
        "DEIS_SSH_PORT": str(SSH_PORT),
        "DEIS_STATE_DIR": STATE_DIR,
        "DEIS_RUNTIME": "kubernetes",
        "DEIS_ROUTER": "kubernetes",
        "DEIS_LOGS": "kubernetes",
        "DEIS_KUBERNETES_ROUTING": o.routing,
        "DEIS_KUBERNETES_GATEWAY": f"{o.namespace}/{o.gateway_name}",
        "DEIS_KUBERNETES_MAINTENANCE_SERVICE": f"{o.namespace}/deis-maintenance",
        "DEIS_KUBERNETES_SLUGRUNNER_IMAGE": o.image("slugrunner"),
        "DEIS_KUBERNETES_SLUGBUILDER_IMAGE": o.image("slugbuilder"),
        "DEIS_KUBERNETES_DOCKERBUILDER_IMAGE": o.image("dockerbuilder"),
        "DEIS_KUBERNETES_ADDON_IMAGE": o.image("addons"),
        "DEIS_REGISTRY_HOST": f"deis-registry.{o.namespace}.svc.cluster.local:{REGISTRY_PORT}",
    }
    if o.ingress_class:
        data["DEIS_KUBERNETES_INGRESS_CLASS"] = o.ingress_class
    if o.cert_issuer:
        data["DEIS_KUBERNETES_CERT_ISSUER"] = o.cert_issuer
    if o.acme_email:
        data["DEIS_ACME_EMAIL"] = o.acme_email
    if o.acme_directory:
        data["DEIS_ACME_DIRECTORY"] = o.acme_directory
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta("deis-settings", o, "controller"),
        "data": data,
    }


def database_secret(o: InstallOptions) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta("deis-database", o, "controller"),
        "type": "Opaque",
        "stringData": {"DEIS_DATABASE_URL": o.database_url},
    }


def objectstore_secret(o: InstallOptions) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta("deis-objectstore", o, "objectstore"),
        "type": "Opaque",
        "stringData": {
            "DEIS_OBJECTS": "s3",
            "DEIS_S3_ENDPOINT": o.s3_endpoint,
            "DEIS_S3_BUCKET": o.s3_bucket,
            "DEIS_S3_REGION": o.s3_region,
            "AWS_ACCESS_KEY_ID": o.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": o.s3_secret_key,
        },
    }


def builder_secret(o: InstallOptions) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta("deis-builder-key", o, "builder"),
        "type": "Opaque",
        "stringData": {"DEIS_BUILDER_KEY": o.builder_key},
    }


# --- workloads ---------------------------------------------------------------------------

RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _probe(path: str, port: int | str) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": 10, "timeoutSeconds": 3}


def controller(o: InstallOptions) -> list[Manifest]:
    labels = _labels("controller")
    env_from = [
        {"configMapRef": {"name": "deis-settings"}},
        {"secretRef": {"name": "deis-database"}},
        {"secretRef": {"name": "deis-objectstore"}},
        {"secretRef": {"name": "deis-builder-key"}},
    ]
    container = {
        "name": "controller",
        "image": o.image("controller"),
        "command": ["python", "-m", "deis.platform.server", "--state-dir", STATE_DIR],
        "envFrom": env_from,
        "ports": [
            {"name": "http", "containerPort": API_PORT, "protocol": "TCP"},
            {"name": "ssh", "containerPort": SSH_PORT, "protocol": "TCP"},
        ],
        "readinessProbe": _probe("/readiness", "http"),
        "livenessProbe": {**_probe("/healthz", "http"), "initialDelaySeconds": 10},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                      "limits": {"memory": "1Gi"}},
        "securityContext": RESTRICTED,
        "volumeMounts": [{"name": "state", "mountPath": STATE_DIR},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }  # fmt: skip
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta("deis-controller", o, "controller"),
            "spec": {
                "replicas": o.controller_replicas,
                "selector": {"matchLabels": labels},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
                },
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": "deis-controller",
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": 1000,
                            "fsGroup": 1000,
                        },
                        "containers": [container],
                        "volumes": [
                            {"name": "state", "emptyDir": {}},
                            {"name": "tmp", "emptyDir": {}},
                        ],
                    },
                },
            },
        },  # fmt: skip
        _service("deis-controller", o, "controller", 80, "http"),
        {
            **_service("deis-builder", o, "controller", SSH_PORT, "ssh"),
            "metadata": _meta("deis-builder", o, "builder"),
        },
    ]


def _service(name: str, o: InstallOptions, component: str, port: int, target: str) -> Manifest:
    spec: dict[str, Any] = {
        "type": "ClusterIP",
        "selector": _labels(component),
        "ports": [{"name": target, "port": port, "targetPort": target, "protocol": "TCP"}],
    }
    if name == "deis-builder":
        spec["type"] = o.builder_service_type
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, o, component),
        "spec": spec,
    }


def registry(o: InstallOptions) -> list[Manifest]:
    labels = _labels("registry")
    env: list[dict[str, Any]] = [{"name": "REGISTRY_HTTP_ADDR", "value": f":{REGISTRY_PORT}"}]
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    objects: list[Manifest] = []
    if o.storage == "s3":
        secret = {"name": "deis-objectstore"}
        env += [
            {"name": "REGISTRY_STORAGE", "value": "s3"},
            {"name": "REGISTRY_STORAGE_S3_REGIONENDPOINT", "value": o.s3_endpoint},
            {"name": "REGISTRY_STORAGE_S3_BUCKET", "value": o.s3_bucket},
            {"name": "REGISTRY_STORAGE_S3_REGION", "value": o.s3_region},
            {"name": "REGISTRY_STORAGE_S3_ROOTDIRECTORY", "value": "/registry"},
            {"name": "REGISTRY_STORAGE_S3_ACCESSKEY",
             "valueFrom": {"secretKeyRef": {**secret, "key": "AWS_ACCESS_KEY_ID"}}},
            {"name": "REGISTRY_STORAGE_S3_SECRETKEY",
             "valueFrom": {"secretKeyRef": {**secret, "key": "AWS_SECRET_ACCESS_KEY"}}},
        ]  # fmt: skip
    else:
        env.append(
            {"name": "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY", "value": "/var/lib/registry"}
        )
        volumes.append({"name": "images", "persistentVolumeClaim": {"claimName": "deis-registry"}})
        mounts.append({"name": "images", "mountPath": "/var/lib/registry"})
        claim: dict[str, Any] = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": o.registry_size}},
        }
        if o.storage_class:
            claim["storageClassName"] = o.storage_class
        objects.append({
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": _meta("deis-registry", o, "registry"),
            "spec": claim,
        })  # fmt: skip
    container: dict[str, Any] = {
        "name": "registry",
        "image": o.registry_image,
        "env": env,
        "ports": [{"name": "registry", "containerPort": REGISTRY_PORT, "protocol": "TCP"}],
        "readinessProbe": _probe("/", "registry"),
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                      "limits": {"memory": "512Mi"}},
    }  # fmt: skip
    if mounts:
        container["volumeMounts"] = mounts
    pod: dict[str, Any] = {"containers": [container], "automountServiceAccountToken": False}
    if volumes:
        pod["volumes"] = volumes
    objects += [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta("deis-registry", o, "registry"),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                # one writer of a ReadWriteOnce volume at a time
                "strategy": {"type": "Recreate"}
                if o.storage == "pvc"
                else {"type": "RollingUpdate"},
                "template": {"metadata": {"labels": labels}, "spec": pod},
            },
        },
        _service("deis-registry", o, "registry", REGISTRY_PORT, "registry"),
    ]
    return objects


MAINTENANCE_SCRIPT = """\
import http.server
PAGE = b"<h1>This app is in maintenance mode.</h1>"
class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503)
        self.send_header("Content-Type", "text/html")
        self.send_header("Retry-After", "60")
        self.end_headers()
        self.wfile.write(PAGE)
    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET
http.server.ThreadingHTTPServer(("", 8080), Page).serve_forever()
"""


def maintenance(o: InstallOptions) -> list[Manifest]:
    """A page answering 503 for apps in maintenance (or behind an allow-list)."""
    labels = _labels("maintenance")
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta("deis-maintenance", o, "maintenance"),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000},
                        "containers": [
                            {
                                "name": "maintenance",
                                "image": o.image("controller"),
                                "command": ["python", "-c", MAINTENANCE_SCRIPT],
                                "ports": [
                                    {
                                        "name": "http",
                                        "containerPort": MAINTENANCE_PORT,
                                        "protocol": "TCP",
                                    }
                                ],
                                "resources": {
                                    "requests": {"cpu": "10m", "memory": "32Mi"},
                                    "limits": {"memory": "64Mi"},
                                },
                                "securityContext": RESTRICTED,
                            }
                        ],
                    },
                },
            },
        },  # fmt: skip
        _service("deis-maintenance", o, "maintenance", 80, "http"),
    ]


def routes(o: InstallOptions) -> list[Manifest]:
    """deis.DOMAIN to the controller; the Gateway itself when a GatewayClass is given."""
    host = f"deis.{o.domain}"
    objects: list[Manifest] = []
    if o.routing == "gateway":
        if o.gateway_class:
            listeners: list[dict[str, Any]] = [
                {"name": "http", "protocol": "HTTP", "port": 80, "hostname": f"*.{o.domain}",
                 "allowedRoutes": {"namespaces": {"from": "All"}}},
            ]  # fmt: skip
            if o.gateway_tls_secret:
                listeners.append(
                    {"name": "https", "protocol": "HTTPS", "port": 443,
                     "hostname": f"*.{o.domain}",
                     "tls": {"mode": "Terminate", "certificateRefs": [
                         {"group": "", "kind": "Secret", "name": o.gateway_tls_secret}]},
                     "allowedRoutes": {"namespaces": {"from": "All"}}}
                )  # fmt: skip
            objects.append(
                {
                    "apiVersion": "gateway.networking.k8s.io/v1",
                    "kind": "Gateway",
                    "metadata": _meta(o.gateway_name, o, "router"),
                    "spec": {"gatewayClassName": o.gateway_class, "listeners": listeners},
                }
            )
        objects.append(
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": _meta("deis-controller", o, "controller"),
                "spec": {
                    "parentRefs": [{"name": o.gateway_name, "namespace": o.namespace}],
                    "hostnames": [host],
                    "rules": [{"backendRefs": [{"name": "deis-controller", "port": 80}]}],
                },
            }
        )
        return objects
    spec: dict[str, Any] = {
        "rules": [
            {"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                "service": {"name": "deis-controller", "port": {"number": 80}}}}]}}
        ]
    }  # fmt: skip
    if o.ingress_class:
        spec = {"ingressClassName": o.ingress_class, **spec}
    if o.gateway_tls_secret:
        spec["tls"] = [{"hosts": [host], "secretName": o.gateway_tls_secret}]
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": _meta("deis-controller", o, "controller"),
            "spec": spec,
        }
    ]


def build_policies(o: InstallOptions) -> list[Manifest]:
    """Build pods run the pusher's code: no ingress at all; egress to the cluster's DNS
    and to public addresses (package registries, git hosts), never to private,
    shared or link-local networks (where the controller, the builder, the registry, the
    router, the apps' pods and the cloud's metadata service are), except the networks
    the operator allows. A dockerbuilder pod may also push to the registry's pods."""
    build = {"heritage": "deis", LABEL_COMPONENT: BUILD_COMPONENT}
    denied = (LINK_LOCAL, *o.build_deny_cidrs)
    egress: list[dict[str, Any]] = [
        {
            "to": [{"namespaceSelector": {},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        },
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(parse_networks(" ".join(denied)))}}]},
    ]  # fmt: skip
    if o.build_allow_cidrs:
        allowed = parse_networks(" ".join(o.build_allow_cidrs))
        egress.append({"to": [{"ipBlock": {"cidr": cidr}} for cidr in allowed]})
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta("deis-builds", o, "build"),
            "spec": {
                "podSelector": {"matchLabels": build},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [],
                "egress": egress,
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": _meta("deis-dockerbuilds-push", o, "build"),
            "spec": {
                "podSelector": {"matchLabels": {**build, LABEL_BUILDER: DOCKERBUILDER}},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"podSelector": {"matchLabels": _labels("registry")}}],
                        "ports": [{"protocol": "TCP", "port": REGISTRY_PORT}],
                    }
                ],
            },
        },  # fmt: skip
    ]


def render(options: InstallOptions) -> list[Manifest]:
    """Every manifest, in the order to apply them."""
    o = options.check()
    return [
        namespace(o),
        *rbac(o),
        settings(o),
        database_secret(o),
        objectstore_secret(o),
        builder_secret(o),
        *registry(o),
        *controller(o),
        *maintenance(o),
        *routes(o),
        *build_policies(o),
    ]
