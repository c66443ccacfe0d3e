"""Validation of manifests against the official Kubernetes OpenAPI schemas
(kubernetes-validate, strict: unknown fields are errors), at the newest Kubernetes version
the installed kubernetes-validate ships (1.30 at least)."""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema
import kubernetes_validate
from kubernetes_validate import utils
from referencing import Registry, Resource

VERSION = kubernetes_validate.latest_version()
MINIMUM = (1, 30)


def _version_tuple(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


assert _version_tuple(VERSION) >= MINIMUM, f"kubernetes-validate ships only {VERSION}"

# Custom resources have no schema in kubernetes-validate; tests check them on their own.
CUSTOM = ("gateway.networking.k8s.io/",)


def is_custom(manifest: dict[str, Any]) -> bool:
    return str(manifest.get("apiVersion", "")).startswith(CUSTOM)


@functools.cache
def _validator(api_version: str, kind: str) -> Any:
    """kubernetes_validate.validate's schema lookup, with the validator kept: loading the
    definitions for every manifest would take seconds per test."""
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    directory = f"kubernetes-json-schema/v{VERSION}-local-strict"
    try:
        schema = utils.schema_contents(f"{directory}/{kind.lower()}-{group}.json", VERSION)
    except FileNotFoundError:
        raise kubernetes_validate.SchemaNotFoundError(
            version=VERSION, kind=kind, api_version=api_version
        ) from None
    definitions = utils.schema_contents(f"{directory}/_definitions.json", VERSION)
    registry: Registry[Any] = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(definitions) @ registry
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def validate(manifest: dict[str, Any]) -> None:
    """Raise kubernetes_validate.ValidationError with the path of what is wrong."""
    try:
        _validator(manifest["apiVersion"], manifest["kind"]).validate(manifest)
    except jsonschema.ValidationError as error:
        raise kubernetes_validate.ValidationError(error, version=VERSION) from None


def validate_all(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate the built-in kinds; return the custom resources, left to the caller."""
    custom = []
    for manifest in manifests:
        if is_custom(manifest):
            custom.append(manifest)
        else:
            validate(manifest)
    return custom
