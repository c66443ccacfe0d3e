"""Kubernetes label keys and values (used by config tags and app settings labels)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from deis.domain._checks import merge_flat, scalar_to_str
from deis.domain.errors import Invalid

MAX_NAME = 63
MAX_PREFIX = 253
MAX_VALUE = 63

_NAME_RE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_VALUE_RE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_PREFIX_RE = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")


def validate_label_key(value: object, field: str) -> str:
    """`[prefix/]name`: name 1-63 alphanumerics with - _ . inside; prefix a DNS subdomain."""
    if not isinstance(value, str):
        raise Invalid("Label names must be strings.", field=field)
    prefix, slash, name = value.rpartition("/")
    if slash:
        if not prefix or len(prefix) > MAX_PREFIX or not _PREFIX_RE.fullmatch(prefix):
            raise Invalid(
                f"{value} has an invalid prefix: before the / give a DNS name such as example.com.",
                field=field,
            )
    if not name or len(name) > MAX_NAME or not _NAME_RE.fullmatch(name):
        raise Invalid(
            f"{value} is not a valid name: use at most {MAX_NAME} letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit.",
            field=field,
        )
    return value


def validate_label_value(key: str, value: object, field: str) -> str:
    """At most 63 alphanumerics with - _ . inside (or empty); numbers and booleans as text."""
    text = scalar_to_str(value)
    if text is None:
        raise Invalid(f"The value of {key} must be a string.", field=field)
    if len(text) > MAX_VALUE or not _VALUE_RE.fullmatch(text):
        raise Invalid(
            f"The value of {key} is not valid: use at most {MAX_VALUE} letters, digits, "
            "'-', '_' or '.', starting and ending with a letter or digit.",
            field=field,
        )
    return text


def merge_labels(
    old: Mapping[str, str], changes: object, *, field: str, what: str, item: str
) -> dict[str, str]:
    """Merge label changes onto `old`; None removes a label, which must be set.

    `what` names the whole mapping in messages ("Tags"), `item` one entry ("Tag").
    """
    return merge_flat(
        old,
        changes,
        field=field,
        what=what,
        key=lambda k: validate_label_key(k, field),
        value=lambda k, v: validate_label_value(k, v, field),
        missing=lambda k: f"{item} {k} is not set.",
    )
