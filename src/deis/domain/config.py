"""Merging a config change onto the previous config: a key set to None is removed."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from deis.domain._checks import merge_flat, require_mapping, require_str, scalar_to_str
from deis.domain.errors import Invalid
from deis.domain.healthchecks import PROBE_KINDS, validate_probe
from deis.domain.labels import merge_labels
from deis.domain.limits import (
    cpu_millicores,
    limit_part,
    memory_bytes,
    request_part,
    validate_limit,
)
from deis.domain.names import validate_proctype
from deis.domain.routing import ROUTER_KEYS, check_router_value

__all__ = [
    "cpu_millicores",
    "limit_part",
    "memory_bytes",
    "merge_healthcheck",
    "merge_limits",
    "merge_registry",
    "merge_tags",
    "merge_values",
    "request_part",
]

MAX_VALUE_BYTES = 64 * 1024
REGISTRY_KEYS = ("username", "password", "hostname")

_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_name(key: object) -> str:
    name = require_str(key, "values", "Config names")
    if not _ENV_NAME_RE.fullmatch(name):
        raise Invalid(
            f"{name} is not a valid environment variable name: use letters, digits and "
            "underscores, and do not start with a digit.",
            field="values",
        )
    return name


def _env_value(key: str, value: object) -> str:
    text = scalar_to_str(value)
    if text is None:
        raise Invalid(
            f"The value of {key} must be a string, a number or a boolean.", field="values"
        )
    if len(text.encode("utf-8", "surrogatepass")) > MAX_VALUE_BYTES:
        raise Invalid(f"The value of {key} is longer than 64 KiB.", field="values")
    if "\0" in text:
        raise Invalid(f"The value of {key} must not contain a NUL character.", field="values")
    if key in ROUTER_KEYS:
        check_router_value(key, text)
    return text


def merge_values(old: Mapping[str, str], changes: Mapping[str, object]) -> dict[str, str]:
    """Environment variables after a change: numbers and booleans become strings."""
    return merge_flat(
        old,
        changes,
        field="values",
        what="Config values",
        key=_env_name,
        value=_env_value,
        missing=lambda k: f"{k} is not set.",
    )


def merge_limits(
    old: Mapping[str, str], changes: Mapping[str, object], kind: str
) -> dict[str, str]:
    """Memory or CPU limits per process type after a change (kind "memory" or "cpu")."""
    if kind not in ("memory", "cpu"):
        raise ValueError(f"unknown limit kind {kind!r}")
    label = "Memory" if kind == "memory" else "CPU"
    return merge_flat(
        old,
        changes,
        field=kind,
        what=f"{label} limits",
        key=lambda k: validate_proctype(k, field=kind),
        value=lambda k, v: validate_limit(k, v, kind),
        missing=lambda k: f"There is no {kind} limit set for {k}.",
    )


def merge_tags(old: Mapping[str, str], changes: Mapping[str, object]) -> dict[str, str]:
    """Node selector tags after a change; keys and values follow Kubernetes label rules."""
    return merge_labels(old, changes, field="tags", what="Tags", item="Tag")


def _registry_key(key: object) -> str:
    name = require_str(key, "registry", "Registry settings")
    if name.lower() not in REGISTRY_KEYS:
        raise Invalid(
            f"{name} is not a registry setting: use username, password or hostname.",
            field="registry",
        )
    return name.lower()


def _registry_value(key: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid(f"The registry {key} must be a non-empty string.", field="registry")
    if key == "password":
        if any(c in value for c in "\r\n\0"):
            raise Invalid("The registry password must be on one line.", field="registry")
        return value
    if any(c.isspace() or c == "\0" for c in value):
        raise Invalid(f"The registry {key} must not contain spaces.", field="registry")
    if key == "hostname" and ("://" in value or "/" in value):
        raise Invalid(
            "The registry hostname must be a host name (and port) only, such as "
            "quay.io or registry.example.com:5000, without a scheme or path.",
            field="registry",
        )
    return value


def merge_registry(old: Mapping[str, str], changes: Mapping[str, object]) -> dict[str, str]:
    """Private registry credentials after a change: username, password and hostname."""
    return merge_flat(
        old,
        changes,
        field="registry",
        what="Registry settings",
        key=_registry_key,
        value=_registry_value,
        missing=lambda k: f"The registry {k} is not set.",
    )


def merge_healthcheck(
    old: Mapping[str, Mapping[str, Any]], changes: Mapping[str, object]
) -> dict[str, dict[str, Any]]:
    """Probes per process type after a change.

    `changes` maps a process type to {"livenessProbe": probe or None, "readinessProbe":
    probe or None} (None removes that probe) or to None (removes all its probes).
    """
    field = "healthcheck"
    mapping = require_mapping(changes, field, "Health checks")
    result: dict[str, dict[str, Any]] = {k: copy.deepcopy(dict(v)) for k, v in old.items()}
    for raw_type, probes in mapping.items():
        proctype = validate_proctype(raw_type, field=field)
        if probes is None:
            if proctype not in result:
                raise Invalid(f"There is no health check set for {proctype}.", field=field)
            del result[proctype]
            continue
        kinds = require_mapping(probes, field, f"Health checks for {proctype}")
        current = result.get(proctype, {})
        for kind, probe in kinds.items():
            if not isinstance(kind, str) or kind not in PROBE_KINDS:
                raise Invalid(
                    f"{kind} is not a kind of health check: use livenessProbe or readinessProbe.",
                    field=field,
                )
            if probe is None:
                if kind not in current:
                    raise Invalid(f"There is no {kind} set for {proctype}.", field=field)
                del current[kind]
                continue
            try:
                current[kind] = validate_probe(probe, kind=kind)
            except Invalid as error:
                raise Invalid(f"{kind} for {proctype}: {error.message}", field=field) from None
        if current:
            result[proctype] = current
        else:
            result.pop(proctype, None)
    return result
