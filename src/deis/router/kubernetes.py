"""The Router port on a cluster: each app's hosts reach its Service `APP` through the
Gateway API (an HTTPRoute on a configurable Gateway) when the cluster serves it, else
through an Ingress of a configurable class. No controller-specific annotations:

- certificates are `kubernetes.io/tls` Secrets in the app's namespace; with the Gateway
  API each covered host gets an HTTPS listener `deis-APP-N` on the shared Gateway (a
  ReferenceGrant lets the Gateway read the app's Secrets); with an Ingress, `tls` entries;
- HTTPS enforcement (Gateway API): the app's HTTPRoute attaches to the HTTPS listeners
  only, and a second HTTPRoute `APP-redirect` on the HTTP listener answers 301 to https;
- maintenance mode points the route at the platform's maintenance Service (through a
  ReferenceGrant, or an ExternalName Service in the app's namespace for an Ingress);
- an IP allow-list cannot be expressed by a portable route: an app with one is routed to
  the maintenance Service (fail closed) until the list is emptied;
- routable=False, or no host: no route at all;
- automatic TLS (with DEIS_KUBERNETES_CERT_ISSUER): a cert-manager `Certificate` per host
  in AppRoute.auto_tls against the operator's (Cluster)Issuer, its Secret served like an
  uploaded certificate's (cert-manager writes it; the platform never does).

Manifests are built by the pure functions below; `KubernetesRouter` applies them through
a `Cluster` (the runtime's client, handed in by the composition root: adapters do not
import each other).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from deis.domain.errors import Unavailable
from deis.domain.routing import AppRoute, TLSCertificate
from deis.router.table import check_challenge

log = logging.getLogger(__name__)

Manifest = dict[str, Any]
GATEWAY_API = "gateway.networking.k8s.io/v1"
REFERENCE_GRANT_API = "gateway.networking.k8s.io/v1beta1"
INGRESS_API = "networking.k8s.io/v1"
CERT_MANAGER_API = "cert-manager.io/v1"
LABEL_ROUTE = "deis.io/route"
SERVICE_PORT = 80
MAINTENANCE_ALIAS = "deis-maintenance"
CONTROLLER_ALIAS = "deis-controller"
CHALLENGE_PATH = "/.well-known/acme-challenge/"
SECRET_GRANT = "deis-gateway-secrets"


class Cluster(Protocol):
    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> Manifest | None: ...
    def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> list[Manifest]: ...
    def apply(self, manifest: Mapping[str, Any]) -> Manifest: ...
    def delete(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> bool: ...
    def update(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        change: Callable[[Manifest], Manifest | None],
    ) -> Manifest | None: ...
    def has_api(self, group_version: str) -> bool: ...


@dataclass(frozen=True)
class RouterOptions:
    mode: str = "auto"  # auto (Gateway API when served) | gateway | ingress
    gateway_name: str = "deis"
    gateway_namespace: str = "deis"
    http_listener: str = "http"  # the Gateway's plain HTTP listener
    https_listener: str = "https"  # its HTTPS listener for APP.<platform domain>
    https_port: int = 443
    ingress_class: str | None = None  # None: the cluster's default class
    maintenance_service: str = "deis-maintenance"
    maintenance_namespace: str = "deis"
    maintenance_port: int = 80
    # the controller's Service, where ACME HTTP-01 challenges go when the platform orders
    # certificates itself (no cert-manager), and the ConfigMap that holds them
    controller_service: str = "deis-controller"
    controller_namespace: str = "deis"
    controller_port: int = 80
    challenges_config_map: str = "deis-acme-challenges"
    # automatic TLS through cert-manager: the issuer's (kind, name), e.g.
    # ("ClusterIssuer", "letsencrypt"); None: no Certificate objects
    cert_issuer: tuple[str, str] | None = None


ISSUER_KINDS = ("ClusterIssuer", "Issuer")


def parse_issuer(value: str | None) -> tuple[str, str] | None:
    """DEIS_KUBERNETES_CERT_ISSUER: "NAME" (a ClusterIssuer), "ClusterIssuer/NAME" or
    "Issuer/NAME" (an Issuer of that name in each app's namespace)."""
    if value is None:
        return None
    kind, _, name = value.rpartition("/")
    kind = kind or "ClusterIssuer"
    if kind not in ISSUER_KINDS or not name:
        raise ValueError(
            "DEIS_KUBERNETES_CERT_ISSUER must be NAME, ClusterIssuer/NAME or Issuer/NAME,"
            f" not {value!r}"
        )
    return kind, name


# --- names and labels -------------------------------------------------------------------


def labels(app: str) -> dict[str, str]:
    return {"heritage": "deis", "app": app, LABEL_ROUTE: "true"}


def _dns_label(text: str, limit: int = 63) -> str:
    clean = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "x"
    if len(clean) <= limit:
        return clean
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{clean[: limit - 9].rstrip('-')}-{digest}"


def tls_secret_name(app: str, certificate: str) -> str:
    return _dns_label(f"{app}-tls-{certificate}", 253)


def acme_secret_name(app: str, host: str) -> str:
    """The Secret cert-manager writes a host's automatic certificate to."""
    return _dns_label(f"{app}-acme-{host}", 253)


def acme_certificate_name(host: str) -> str:
    return _dns_label(f"acme-{host}")


def listener_prefix(app: str) -> str:
    return f"deis-{app}-"


def is_app_listener(app: str, name: str) -> bool:
    prefix = listener_prefix(app)
    return name.startswith(prefix) and name[len(prefix) :].isdigit()


def challenge_grant_name(app: str) -> str:
    return _dns_label(f"deis-acme-{app}")


def maintenance_grant_name(app: str) -> str:
    return _dns_label(f"deis-maintenance-{app}")


def _meta(name: str, namespace: str, app: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": labels(app)}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --- pure manifests ---------------------------------------------------------------------


def namespace(app: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": app, "labels": {"heritage": "deis", "app": app}},
    }


def tls_secret(app: str, cert: TLSCertificate) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(tls_secret_name(app, cert.name), app, app),
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": _b64(cert.certificate), "tls.key": _b64(cert.key)},
    }


def auto_hosts(route: AppRoute, options: RouterOptions) -> list[str]:
    """The hosts cert-manager gets a certificate for (none without an issuer)."""
    if options.cert_issuer is None:
        return []
    hosts = dict.fromkeys(route.auto_tls)
    return sorted(h for h in hosts if h in route.hosts and not h.startswith("*."))


def acme_certificates(route: AppRoute, options: RouterOptions) -> list[Manifest]:
    """A cert-manager Certificate per automatic host, against the operator's issuer."""
    if options.cert_issuer is None:
        return []
    kind, name = options.cert_issuer
    return [
        {
            "apiVersion": CERT_MANAGER_API,
            "kind": "Certificate",
            "metadata": _meta(acme_certificate_name(host), route.app, route.app),
            "spec": {
                "secretName": acme_secret_name(route.app, host),
                "dnsNames": [host],
                "issuerRef": {"group": "cert-manager.io", "kind": kind, "name": name},
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            },
        }
        for host in auto_hosts(route, options)
    ]


def _served_secrets(route: AppRoute, options: RouterOptions) -> list[tuple[list[str], str]]:
    """(hosts, Secret) of every certificate the route serves: the uploaded ones, then
    the automatic ones."""
    found = [
        (sorted(h for h in cert.hosts if h in route.hosts), tls_secret_name(route.app, cert.name))
        for cert in sorted(route.certificates, key=lambda c: c.name)
    ]
    found += [([host], acme_secret_name(route.app, host)) for host in auto_hosts(route, options)]
    return [(hosts, secret) for hosts, secret in found if hosts]


def fail_closed(route: AppRoute) -> bool:
    """Served by the maintenance Service: in maintenance, or behind an allow-list that no
    portable route can enforce."""
    return route.maintenance or bool(route.whitelist)


def _hosts(route: AppRoute) -> list[str]:
    return sorted(dict.fromkeys(route.hosts))


def gateway_listeners(route: AppRoute, options: RouterOptions) -> list[dict[str, Any]]:
    """An HTTPS listener per host a certificate of the app covers."""
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for hosts, secret in _served_secrets(route, options):
        for host in hosts:
            if host in seen:
                continue
            seen.add(host)
            result.append(
                {
                    "name": f"{listener_prefix(route.app)}{len(result)}",
                    "hostname": host,
                    "port": options.https_port,
                    "protocol": "HTTPS",
                    "tls": {
                        "mode": "Terminate",
                        "certificateRefs": [
                            {
                                "group": "",
                                "kind": "Secret",
                                "name": secret,
                                "namespace": route.app,
                            }
                        ],
                    },
                    "allowedRoutes": {
                        "namespaces": {
                            "from": "Selector",
                            "selector": {"matchLabels": {"kubernetes.io/metadata.name": route.app}},
                        }
                    },
                }
            )
    return result


def _gateway_ref(options: RouterOptions, section: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": options.gateway_name,
        "namespace": options.gateway_namespace,
    }
    if section:
        ref["sectionName"] = section
    return ref


def _backend_ref(route: AppRoute, options: RouterOptions) -> dict[str, Any]:
    if fail_closed(route):
        return {
            "group": "",
            "kind": "Service",
            "name": options.maintenance_service,
            "namespace": options.maintenance_namespace,
            "port": options.maintenance_port,
        }
    return {"group": "", "kind": "Service", "name": route.app, "port": SERVICE_PORT}


def _challenge_rule(options: RouterOptions) -> dict[str, Any]:
    """ACME HTTP-01 challenges to the controller, which answers them (no cert-manager)."""
    return {
        "matches": [{"path": {"type": "PathPrefix", "value": CHALLENGE_PATH}}],
        "backendRefs": [
            {
                "group": "",
                "kind": "Service",
                "name": options.controller_service,
                "namespace": options.controller_namespace,
                "port": options.controller_port,
            }
        ],
    }


def http_routes(route: AppRoute, options: RouterOptions) -> list[Manifest]:
    """The app's HTTPRoute, and with HTTPS enforced the redirecting one. The route on the
    HTTP listener sends ACME challenges to the controller when the platform orders."""
    if not route.routable or not route.hosts:
        return []
    hosts = _hosts(route)
    if route.https_enforced:
        parents = [_gateway_ref(options, options.https_listener)] + [
            _gateway_ref(options, listener["name"])
            for listener in gateway_listeners(route, options)
        ]
    else:
        parents = [_gateway_ref(options)]
    main: Manifest = {
        "apiVersion": GATEWAY_API,
        "kind": "HTTPRoute",
        "metadata": _meta(route.app, route.app, route.app),
        "spec": {
            "parentRefs": parents,
            "hostnames": hosts,
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [_backend_ref(route, options)],
                }
            ],
        },
    }
    challenges = [_challenge_rule(options)] if route.acme_challenges else []
    if not route.https_enforced:
        main["spec"]["rules"] = challenges + main["spec"]["rules"]
    result = [main]
    if route.https_enforced:
        result.append(
            {
                "apiVersion": GATEWAY_API,
                "kind": "HTTPRoute",
                "metadata": _meta(f"{route.app}-redirect", route.app, route.app),
                "spec": {
                    "parentRefs": [_gateway_ref(options, options.http_listener)],
                    "hostnames": hosts,
                    "rules": challenges
                    + [
                        {
                            "filters": [
                                {
                                    "type": "RequestRedirect",
                                    "requestRedirect": {"scheme": "https", "statusCode": 301},
                                }
                            ]
                        }
                    ],
                },
            }
        )
    return result


def secret_grant(route: AppRoute, options: RouterOptions) -> Manifest:
    """Lets the Gateway read the app's TLS Secrets."""
    return {
        "apiVersion": REFERENCE_GRANT_API,
        "kind": "ReferenceGrant",
        "metadata": _meta(SECRET_GRANT, route.app, route.app),
        "spec": {
            "from": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "namespace": options.gateway_namespace,
                }
            ],
            "to": [{"group": "", "kind": "Secret"}],
        },
    }


def _service_grant(route: AppRoute, name: str, namespace: str, service: str) -> Manifest:
    """Lets the app's HTTPRoutes send to a Service of the platform's namespace."""
    return {
        "apiVersion": REFERENCE_GRANT_API,
        "kind": "ReferenceGrant",
        "metadata": _meta(name, namespace, route.app),
        "spec": {
            "from": [
                {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": route.app}
            ],
            "to": [{"group": "", "kind": "Service", "name": service}],
        },
    }


def _service_alias(app: str, alias: str, service: str, namespace: str, port: int) -> Manifest:
    """For an Ingress (whose backends stay in its namespace): an ExternalName Service in
    the app's namespace naming a Service of the platform's."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(alias, app, app),
        "spec": {
            "type": "ExternalName",
            "externalName": f"{service}.{namespace}.svc.cluster.local",
            "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        },
    }


def challenge_grant(route: AppRoute, options: RouterOptions) -> Manifest:
    """ACME challenges to the controller's Service."""
    return _service_grant(
        route, challenge_grant_name(route.app), options.controller_namespace,
        options.controller_service,
    )  # fmt: skip


def controller_alias(app: str, options: RouterOptions) -> Manifest:
    return _service_alias(
        app, CONTROLLER_ALIAS, options.controller_service, options.controller_namespace,
        options.controller_port,
    )  # fmt: skip


def maintenance_grant(route: AppRoute, options: RouterOptions) -> Manifest:
    return _service_grant(
        route, maintenance_grant_name(route.app), options.maintenance_namespace,
        options.maintenance_service,
    )  # fmt: skip


def maintenance_alias(app: str, options: RouterOptions) -> Manifest:
    return _service_alias(
        app, MAINTENANCE_ALIAS, options.maintenance_service, options.maintenance_namespace,
        options.maintenance_port,
    )  # fmt: skip


def ingress(route: AppRoute, options: RouterOptions) -> Manifest | None:
    if not route.routable or not route.hosts:
        return None
    if fail_closed(route):
        backend = {"name": MAINTENANCE_ALIAS, "port": {"number": options.maintenance_port}}
    else:
        backend = {"name": route.app, "port": {"number": SERVICE_PORT}}
    paths: list[dict[str, Any]] = [
        {"path": "/", "pathType": "Prefix", "backend": {"service": backend}}
    ]
    if route.acme_challenges:
        controller = {"name": CONTROLLER_ALIAS, "port": {"number": options.controller_port}}
        paths.insert(0, {"path": CHALLENGE_PATH.rstrip("/"), "pathType": "Prefix",
                         "backend": {"service": controller}})  # fmt: skip
    spec: dict[str, Any] = {
        "rules": [{"host": host, "http": {"paths": paths}} for host in _hosts(route)]
    }
    if options.ingress_class:
        spec = {"ingressClassName": options.ingress_class, **spec}
    tls = [
        {"hosts": hosts, "secretName": secret} for hosts, secret in _served_secrets(route, options)
    ]
    if tls:
        spec["tls"] = tls
    return {
        "apiVersion": INGRESS_API,
        "kind": "Ingress",
        "metadata": _meta(route.app, route.app, route.app),
        "spec": spec,
    }


def route_objects(route: AppRoute, options: RouterOptions, gateway: bool) -> list[Manifest]:
    """Every object of the app's route in its namespace (and the platform's), to apply."""
    objects: list[Manifest] = [namespace(route.app)]
    objects += [tls_secret(route.app, cert) for cert in route.certificates]
    objects += acme_certificates(route, options)
    served = route.routable and bool(route.hosts)
    if gateway:
        objects += http_routes(route, options)
        if route.certificates or auto_hosts(route, options):
            objects.append(secret_grant(route, options))
        if fail_closed(route) and served:
            objects.append(maintenance_grant(route, options))
        if route.acme_challenges and served:
            objects.append(challenge_grant(route, options))
    else:
        if fail_closed(route) and served:
            objects.append(maintenance_alias(route.app, options))
        if route.acme_challenges and served:
            objects.append(controller_alias(route.app, options))
        if (manifest := ingress(route, options)) is not None:
            objects.append(manifest)
    return objects


def with_listeners(gateway: Manifest, app: str, listeners: list[dict[str, Any]]) -> Manifest | None:
    """The Gateway with the app's listeners replaced; None if nothing changes."""
    current = gateway.get("spec", {}).get("listeners") or []
    kept = [item for item in current if not is_app_listener(app, str(item.get("name", "")))]
    new = kept + listeners
    if new == current:
        return None
    gateway.setdefault("spec", {})["listeners"] = new
    return gateway


# --- the adapter ------------------------------------------------------------------------


def _kind_key(manifest: Mapping[str, Any]) -> tuple[str, str, str, str]:
    meta = manifest["metadata"]
    return (manifest["apiVersion"], manifest["kind"], meta.get("namespace", ""), meta["name"])


def _ours(namespace: Mapping[str, Any], app: str) -> bool:
    found = (namespace.get("metadata") or {}).get("labels") or {}
    return bool(found.get("heritage") == "deis" and found.get("app") == app)


# The kinds this router writes, per mode, to find what an app no longer needs.
_OWNED = {
    True: [("v1", "Secret"), (GATEWAY_API, "HTTPRoute"), (REFERENCE_GRANT_API, "ReferenceGrant")],
    False: [("v1", "Secret"), ("v1", "Service"), (INGRESS_API, "Ingress")],
}


class KubernetesRouter:
    name = "kubernetes"

    def __init__(
        self,
        cluster: Cluster,
        options: RouterOptions | None = None,
        *,
        api_errors: tuple[type[Exception], ...] = (),
    ) -> None:
        self.cluster = cluster
        self.options = options or RouterOptions()
        self.api_errors = api_errors
        self._gateway: bool | None = None

    @property
    def gateway(self) -> bool:
        """Whether routes are HTTPRoutes: asked of the cluster once, at start."""
        if self._gateway is None:
            self.start()
        return bool(self._gateway)

    def start(self) -> None:
        mode = self.options.mode
        if mode not in ("auto", "gateway", "ingress"):
            raise ValueError(f"router mode must be auto, gateway or ingress, not {mode!r}")
        if mode == "auto":
            self._gateway = self._call(lambda: self.cluster.has_api(GATEWAY_API))
        else:
            self._gateway = mode == "gateway"
        issuer = self.options.cert_issuer
        if issuer is not None and not self._call(lambda: self.cluster.has_api(CERT_MANAGER_API)):
            log.error(
                "DEIS_KUBERNETES_CERT_ISSUER names %s/%s, but the cluster does not serve %s:"
                " no automatic certificates until cert-manager is installed",
                *issuer, CERT_MANAGER_API,
            )  # fmt: skip
            self.options = replace(self.options, cert_issuer=None)

    def apply(self, route: AppRoute) -> None:
        self._call(lambda: self._apply(route))

    def remove(self, app_id: str) -> None:
        self._call(lambda: self._remove(app_id))

    def set_peers(self, app_id: str, peers: list[str]) -> None:
        """Nothing to do: the app's Service follows its ready pods."""

    def set_challenge(self, host: str, token: str, key_authorization: str) -> None:
        """Kept in a ConfigMap of the platform's namespace, which every controller replica
        reads: the apps' routes send the challenge path to the controller."""
        name = check_challenge(host, token, key_authorization)
        self._call(
            lambda: self._change_challenges(
                lambda data: {**data, token: f"{name} {key_authorization}"}
            )
        )

    def remove_challenge(self, token: str) -> None:
        self._call(
            lambda: self._change_challenges(
                lambda data: {k: v for k, v in data.items() if k != token}
            )
        )

    def challenge_answer(self, host: str, token: str) -> str | None:
        options = self.options
        found = self._call(
            lambda: self.cluster.get(
                "v1", "ConfigMap", options.challenges_config_map, options.controller_namespace
            )
        )
        entry = ((found or {}).get("data") or {}).get(token, "")
        named, _, answer = entry.partition(" ")
        return answer if answer and named == host.lower().rstrip(".") else None

    def _change_challenges(self, change: Callable[[dict[str, str]], dict[str, str]]) -> None:
        options = self.options

        def edit(live: Manifest) -> Manifest | None:
            data = dict(live.get("data") or {})
            new = change(data)
            if new == data:
                return None
            live["data"] = new
            return live

        found = self.cluster.update(
            "v1", "ConfigMap", options.challenges_config_map, options.controller_namespace, edit
        )
        if found is None:
            data = change({})
            if data:
                self.cluster.apply(
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {
                            "name": options.challenges_config_map,
                            "namespace": options.controller_namespace,
                            "labels": {"heritage": "deis"},
                        },
                        "data": data,
                    }
                )

    def metrics(self, app_id: str) -> dict[str, Any]:
        raise Unavailable(
            "On Kubernetes the cluster's gateway or ingress counts requests; see its metrics."
        )

    # --- helpers --------------------------------------------------------------------------

    def _call(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except self.api_errors as error:
            raise Unavailable(f"The Kubernetes API failed: {error}") from None

    def _apply(self, route: AppRoute) -> None:
        if route.whitelist:
            log.warning("%s has an IP allow-list: routed to the maintenance Service", route.app)
        gateway = self.gateway
        live = self.cluster.get("v1", "Namespace", route.app)
        if live is not None and not _ours(live, route.app):
            raise Unavailable(f"The namespace {route.app} exists and is not the platform's.")
        wanted = route_objects(route, self.options, gateway)
        for manifest in wanted:
            self.cluster.apply(manifest)
        if gateway:
            listeners = gateway_listeners(route, self.options) if route.routable else []
            self._set_listeners(route.app, listeners)
        self._prune(route.app, {_kind_key(m) for m in wanted}, gateway)

    def _remove(self, app: str) -> None:
        gateway = self.gateway
        live = self.cluster.get("v1", "Namespace", app)
        if live is not None and not _ours(live, app):
            return  # not the platform's: nothing of ours can be in it
        self._prune(app, set(), gateway)
        if gateway:
            self._set_listeners(app, [])

    def _set_listeners(self, app: str, listeners: list[dict[str, Any]]) -> None:
        options = self.options
        found = self.cluster.update(
            GATEWAY_API,
            "Gateway",
            options.gateway_name,
            options.gateway_namespace,
            lambda live: with_listeners(live, app, listeners),
        )
        if found is None and listeners:
            raise Unavailable(
                f"The Gateway {options.gateway_namespace}/{options.gateway_name} is not there: "
                "the app's certificates cannot be served."
            )

    def _prune(self, app: str, keep: set[tuple[str, str, str, str]], gateway: bool) -> None:
        namespaces = [app]
        if gateway:
            for ns in (self.options.maintenance_namespace, self.options.controller_namespace):
                if ns not in namespaces:
                    namespaces.append(ns)
        owned = _OWNED[gateway]
        if self.options.cert_issuer is not None:
            owned = [*owned, (CERT_MANAGER_API, "Certificate")]
        for api_version, kind in owned:
            for ns in namespaces:
                for live in self.cluster.list(api_version, kind, ns, labels(app)):
                    key = (api_version, kind, ns, live["metadata"]["name"])
                    if key not in keep:
                        self.cluster.delete(api_version, kind, key[3], ns)
