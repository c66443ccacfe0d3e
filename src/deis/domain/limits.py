"""Memory and CPU limits per process type, in the forms Deis accepts.

Memory: a number with an optional unit B, K, M, G, KB, MB or GB (any case, stored upper
case, powers of 1024, as Deis passes "512M" on as "512Mi"), or a Kubernetes quantity
such as "128Mi" or "1Gi" kept as given. CPU: millicores ("500m") or cores ("1", "0.5").
Either may be a "request/limit" pair such as "256M/512M", the request not above the limit.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from deis.domain.errors import Invalid

KINDS = ("memory", "cpu")

MIN_MEMORY_BYTES = 6 * 1024**2  # container runtimes refuse smaller memory limits

_MEMORY_UNITS = {
    "": 1,
    "B": 1,
    "K": 1024,
    "KB": 1024,
    "M": 1024**2,
    "MB": 1024**2,
    "G": 1024**3,
    "GB": 1024**3,
}
_K8S_UNITS = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}

_MEMORY_RE = re.compile(r"([0-9]+)(B|K|M|G|KB|MB|GB)?", re.IGNORECASE)
_K8S_MEMORY_RE = re.compile(r"([0-9]+)(Ki|Mi|Gi)")
_MILLICORES_RE = re.compile(r"([0-9]+)m")
_CORES_RE = re.compile(r"[0-9]+(\.[0-9]+)?|\.[0-9]+")


def limit_part(value: str) -> str:
    """The limit of a value: the second part of a "request/limit" pair, else the value."""
    return value.rpartition("/")[2]


def request_part(value: str) -> str:
    """The request of a value: the first part of a "request/limit" pair, else the value."""
    return value.partition("/")[0]


def memory_bytes(value: str) -> int:
    """Bytes of one memory quantity ("512M", "1Gi", "1048576"); ValueError if not one."""
    match = _K8S_MEMORY_RE.fullmatch(value)
    if match:
        return int(match[1]) * _K8S_UNITS[match[2]]
    match = _MEMORY_RE.fullmatch(value)
    if match:
        return int(match[1]) * _MEMORY_UNITS[(match[2] or "").upper()]
    raise ValueError(f"not a memory quantity: {value!r}")


def cpu_millicores(value: str) -> int:
    """Millicores of one CPU quantity ("500m", "0.5", "2"); ValueError if not one."""
    match = _MILLICORES_RE.fullmatch(value)
    if match:
        return int(match[1])
    if _CORES_RE.fullmatch(value):
        try:
            millis = Decimal(value) * 1000
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            raise ValueError(f"not a CPU quantity: {value!r}") from None
        if millis == millis.to_integral_value():
            return int(millis)
        raise ValueError(f"CPU quantity finer than one millicore: {value!r}")
    raise ValueError(f"not a CPU quantity: {value!r}")


def _memory_part(proctype: str, text: str, is_limit: bool) -> tuple[str, int]:
    try:
        size = memory_bytes(text)
    except ValueError:
        raise Invalid(
            f"Memory limit for {proctype} must be a number with an optional unit "
            f"B, K, M or G, such as 512M or 1G (or 128Mi, 1Gi); {text} is not.",
            field="memory",
        ) from None
    if size == 0:
        raise Invalid(f"Memory limit for {proctype} must be more than 0.", field="memory")
    if is_limit and size < MIN_MEMORY_BYTES:
        raise Invalid(
            f"Memory limit for {proctype} is too small: give at least 6M (for example 512M).",
            field="memory",
        )
    normalized = text if _K8S_MEMORY_RE.fullmatch(text) else text.upper()
    return normalized, size


def _cpu_part(proctype: str, text: str) -> tuple[str, int]:
    try:
        millis = cpu_millicores(text)
    except ValueError:
        if _CORES_RE.fullmatch(text):
            raise Invalid(
                f"CPU limit for {proctype} is finer than one millicore: "
                "use at most three decimal places.",
                field="cpu",
            ) from None
        raise Invalid(
            f"CPU limit for {proctype} must be millicores such as 500m, or cores such as "
            f"1 or 0.5; {text} is not.",
            field="cpu",
        ) from None
    if millis == 0:
        raise Invalid(f"CPU limit for {proctype} must be more than 0.", field="cpu")
    return text, millis


def validate_limit(proctype: str, value: object, kind: str) -> str:
    """One normalised memory or CPU value (kind "memory" or "cpu"), possibly a pair."""
    if kind not in KINDS:
        raise ValueError(f"unknown limit kind {kind!r}")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Invalid(f"The {kind} limit for {proctype} must be a string.", field=kind)
    text = str(value).strip()
    parts = text.split("/")
    if len(parts) > 2:
        raise Invalid(
            f"The {kind} limit for {proctype} may have at most one /, between a request "
            "and a limit.",
            field=kind,
        )
    checked = []
    for index, part in enumerate(parts):
        if not part:
            raise Invalid(
                f"The {kind} limit for {proctype} is empty or has an empty part around its /.",
                field=kind,
            )
        is_limit = index == len(parts) - 1
        if kind == "memory":
            checked.append(_memory_part(proctype, part, is_limit))
        else:
            checked.append(_cpu_part(proctype, part))
    if len(checked) == 2 and checked[0][1] > checked[1][1]:
        raise Invalid(
            f"The {kind} request for {proctype} ({checked[0][0]}) must not be more than "
            f"its limit ({checked[1][0]}).",
            field=kind,
        )
    return "/".join(normalized for normalized, _ in checked)
