"""Kubernetes probes (liveness and readiness health checks) as Deis stores them."""

from __future__ import annotations

import re
from typing import Any

from deis.domain.errors import Invalid

FIELD = "healthcheck"
PROBE_KINDS = ("livenessProbe", "readinessProbe")
HANDLERS = ("httpGet", "tcpSocket", "exec")

MAX_INT32 = 2**31 - 1

# Kubernetes fills these in when a probe leaves them out.
DEFAULTS: dict[str, int] = {
    "initialDelaySeconds": 0,
    "timeoutSeconds": 1,
    "periodSeconds": 10,
    "successThreshold": 1,
    "failureThreshold": 3,
}
# The least value of each integer field.
MINIMUMS: dict[str, int] = {
    "initialDelaySeconds": 0,
    "timeoutSeconds": 1,
    "periodSeconds": 1,
    "successThreshold": 1,
    "failureThreshold": 1,
    "terminationGracePeriodSeconds": 1,
}

_PORT_NAME_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _fail(message: str) -> Invalid:
    return Invalid(message, field=FIELD)


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _fail(f"{what} must be an object.")
    return value


def _no_unknown(value: dict[str, Any], allowed: tuple[str, ...], what: str) -> None:
    unknown = sorted(k for k in value if k not in allowed)
    if unknown:
        raise _fail(
            f"{what} has unknown fields: {', '.join(unknown)}. Known fields: {', '.join(allowed)}."
        )


def _port(value: object, what: str) -> int | str:
    """A port number 1-65535, or the name of a container port (an IANA service name)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= 65535:
            raise _fail(f"{what} port must be between 1 and 65535.")
        return value
    if isinstance(value, str):
        if (
            len(value) <= 15
            and _PORT_NAME_RE.fullmatch(value)
            and "--" not in value
            and any(c.isalpha() for c in value)
        ):
            return value
        raise _fail(
            f"{what} port must be a number between 1 and 65535 or a port name "
            "(at most 15 lowercase letters, digits and hyphens)."
        )
    raise _fail(f"{what} port is required: a number between 1 and 65535 or a port name.")


def _host(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or any(c.isspace() or c == "/" for c in value):
        raise _fail(f"{what} host must be a host name or an IP address.")
    return value


def _http_get(value: object) -> dict[str, Any]:
    handler = _object(value, "httpGet")
    _no_unknown(handler, ("path", "port", "host", "scheme", "httpHeaders"), "httpGet")
    path = handler.get("path", "/")
    if not isinstance(path, str) or not path.startswith("/") or any(c.isspace() for c in path):
        raise _fail("httpGet path must start with / and contain no spaces.")
    result: dict[str, Any] = {"path": path, "port": _port(handler.get("port"), "httpGet")}
    if "host" in handler:
        result["host"] = _host(handler["host"], "httpGet")
    scheme = handler.get("scheme", "HTTP")
    if not isinstance(scheme, str) or scheme.upper() not in ("HTTP", "HTTPS"):
        raise _fail("httpGet scheme must be HTTP or HTTPS.")
    result["scheme"] = scheme.upper()
    if "httpHeaders" in handler:
        result["httpHeaders"] = _headers(handler["httpHeaders"])
    return result


def _headers(value: object) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise _fail("httpGet httpHeaders must be a list of {name, value} objects.")
    headers = []
    for item in value:
        header = _object(item, "Each of httpGet httpHeaders")
        _no_unknown(header, ("name", "value"), "An httpGet header")
        name, text = header.get("name"), header.get("value", "")
        if not isinstance(name, str) or not _HEADER_NAME_RE.fullmatch(name):
            raise _fail("An httpGet header needs a name made of letters, digits and - only.")
        if not isinstance(text, str) or any(c in text for c in "\r\n\0"):
            raise _fail(f"The httpGet header {name} needs a value on one line.")
        headers.append({"name": name, "value": text})
    return headers


def _tcp_socket(value: object) -> dict[str, Any]:
    handler = _object(value, "tcpSocket")
    _no_unknown(handler, ("port", "host"), "tcpSocket")
    result: dict[str, Any] = {"port": _port(handler.get("port"), "tcpSocket")}
    if "host" in handler:
        result["host"] = _host(handler["host"], "tcpSocket")
    return result


def _exec(value: object) -> dict[str, Any]:
    handler = _object(value, "exec")
    _no_unknown(handler, ("command",), "exec")
    command = handler.get("command")
    if (
        not isinstance(command, list)
        or not command
        or not all(isinstance(part, str) for part in command)
        or not command[0]
    ):
        raise _fail('exec command must be a non-empty list of strings, e.g. ["cat", "/ok"].')
    return {"command": list(command)}


_HANDLER_RULES = {"httpGet": _http_get, "tcpSocket": _tcp_socket, "exec": _exec}
_PROBE_FIELDS = HANDLERS + tuple(MINIMUMS)


def validate_probe(probe: object, kind: str | None = None) -> dict[str, Any]:
    """A normalised copy of a Kubernetes probe, with Kubernetes' defaults filled in.

    `kind` is "livenessProbe" or "readinessProbe" when known: a liveness probe needs
    successThreshold 1, and a readiness probe may not set terminationGracePeriodSeconds.
    """
    if kind is not None and kind not in PROBE_KINDS:
        raise ValueError(f"unknown probe kind {kind!r}")
    value = _object(probe, "A probe")
    _no_unknown(value, _PROBE_FIELDS, "The probe")
    handlers = [h for h in HANDLERS if h in value]
    if len(handlers) != 1:
        raise _fail("A probe needs exactly one of httpGet, tcpSocket or exec.")
    handler = handlers[0]
    result: dict[str, Any] = {handler: _HANDLER_RULES[handler](value[handler])}
    for key, least in MINIMUMS.items():
        if key not in value:
            if key in DEFAULTS:
                result[key] = DEFAULTS[key]
            continue
        number = value[key]
        if isinstance(number, bool) or not isinstance(number, int):
            raise _fail(f"{key} must be a whole number.")
        if number < least:
            raise _fail(f"{key} must be at least {least}.")
        if number > MAX_INT32:
            raise _fail(f"{key} must be at most {MAX_INT32}.")
        result[key] = number
    if kind == "livenessProbe" and result["successThreshold"] != 1:
        raise _fail("successThreshold must be 1 for a livenessProbe.")
    if kind == "readinessProbe" and "terminationGracePeriodSeconds" in result:
        raise _fail("terminationGracePeriodSeconds cannot be set on a readinessProbe.")
    return result
