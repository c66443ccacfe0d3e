"""A strict JSON schema of the part of the Gateway API (v1.x, standard channel) the
platform writes: HTTPRoute, Gateway, ReferenceGrant. kubernetes-validate ships only the
built-in kinds; this pins the field names, types and limits of the Gateway API reference
(gateway.networking.k8s.io/v1, ReferenceGrant v1beta1) so a typo fails a test."""

from __future__ import annotations

from typing import Any

import jsonschema

HOSTNAME = {"type": "string", "minLength": 1, "maxLength": 253,
            "pattern": r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"}  # fmt: skip
NAME = {"type": "string", "minLength": 1, "maxLength": 253}
SECTION = {"type": "string", "minLength": 1, "maxLength": 253,
           "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"}  # fmt: skip
NAMESPACE = {"type": "string", "minLength": 1, "maxLength": 63,
             "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}  # fmt: skip
GROUP = {"type": "string", "maxLength": 253}
PORT = {"type": "integer", "minimum": 1, "maximum": 65535}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or [],
            "additionalProperties": False}  # fmt: skip


METADATA = {"type": "object", "required": ["name"], "properties": {
    "name": NAME, "namespace": NAMESPACE,
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "annotations": {"type": "object", "additionalProperties": {"type": "string"}}}}  # fmt: skip
PARENT_REF = _object({"group": GROUP, "kind": NAME, "namespace": NAMESPACE, "name": NAME,
                      "sectionName": SECTION, "port": PORT}, ["name"])  # fmt: skip
BACKEND_REF = _object({"group": GROUP, "kind": NAME, "name": NAME, "namespace": NAMESPACE,
                       "port": PORT, "weight": {"type": "integer", "minimum": 0}}, ["name"])  # fmt: skip
PATH_MATCH = _object({"type": {"enum": ["Exact", "PathPrefix", "RegularExpression"]},
                      "value": {"type": "string", "maxLength": 1024}})  # fmt: skip
REDIRECT = _object({"scheme": {"enum": ["http", "https"]}, "hostname": HOSTNAME,
                    "port": PORT, "statusCode": {"enum": [301, 302]}})  # fmt: skip
FILTER = _object({"type": {"enum": ["RequestHeaderModifier", "ResponseHeaderModifier",
                                    "RequestMirror", "RequestRedirect", "URLRewrite",
                                    "ExtensionRef"]},
                  "requestRedirect": REDIRECT}, ["type"])  # fmt: skip
HTTP_ROUTE = _object({
    "apiVersion": {"const": "gateway.networking.k8s.io/v1"},
    "kind": {"const": "HTTPRoute"},
    "metadata": METADATA,
    "spec": _object({
        "parentRefs": {"type": "array", "maxItems": 32, "items": PARENT_REF},
        "hostnames": {"type": "array", "maxItems": 16, "items": HOSTNAME},
        "rules": {"type": "array", "maxItems": 16, "items": _object({
            "matches": {"type": "array", "maxItems": 64,
                        "items": _object({"path": PATH_MATCH})},
            "filters": {"type": "array", "maxItems": 16, "items": FILTER},
            "backendRefs": {"type": "array", "maxItems": 16, "items": BACKEND_REF},
        })},
    }),
}, ["apiVersion", "kind", "metadata", "spec"])  # fmt: skip
SECRET_REF = _object({"group": GROUP, "kind": NAME, "name": NAME, "namespace": NAMESPACE},
                     ["name"])  # fmt: skip
LISTENER = _object({
    "name": SECTION, "hostname": HOSTNAME, "port": PORT,
    "protocol": {"enum": ["HTTP", "HTTPS", "TLS", "TCP", "UDP"]},
    "tls": _object({"mode": {"enum": ["Terminate", "Passthrough"]},
                    "certificateRefs": {"type": "array", "maxItems": 64, "items": SECRET_REF}}),
    "allowedRoutes": _object({"namespaces": _object({
        "from": {"enum": ["All", "Same", "Selector"]},
        "selector": _object({"matchLabels": {"type": "object",
                                             "additionalProperties": {"type": "string"}}})})}),
}, ["name", "port", "protocol"])  # fmt: skip
GATEWAY = _object({
    "apiVersion": {"const": "gateway.networking.k8s.io/v1"},
    "kind": {"const": "Gateway"},
    "metadata": METADATA,
    "spec": _object({"gatewayClassName": NAME,
                     "listeners": {"type": "array", "minItems": 1, "maxItems": 64,
                                   "items": LISTENER}}, ["gatewayClassName", "listeners"]),
}, ["apiVersion", "kind", "metadata", "spec"])  # fmt: skip
REFERENCE_GRANT = _object({
    "apiVersion": {"const": "gateway.networking.k8s.io/v1beta1"},
    "kind": {"const": "ReferenceGrant"},
    "metadata": METADATA,
    "spec": _object({
        "from": {"type": "array", "minItems": 1, "maxItems": 16,
                 "items": _object({"group": GROUP, "kind": NAME, "namespace": NAMESPACE},
                                  ["group", "kind", "namespace"])},
        "to": {"type": "array", "minItems": 1, "maxItems": 16,
               "items": _object({"group": GROUP, "kind": NAME, "name": NAME},
                                ["group", "kind"])},
    }, ["from", "to"]),
}, ["apiVersion", "kind", "metadata", "spec"])  # fmt: skip
SCHEMAS = {"HTTPRoute": HTTP_ROUTE, "Gateway": GATEWAY, "ReferenceGrant": REFERENCE_GRANT}


def validate_gateway_api(manifest: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(SCHEMAS[manifest["kind"]]).validate(manifest)
