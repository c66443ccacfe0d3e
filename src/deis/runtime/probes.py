"""Health probes from an app's healthcheck config (Kubernetes probe fields), read purely.

Readiness decides whether a replica gets traffic (and whether a deploy may go on);
liveness decides whether it is restarted. A web replica without a readiness probe is
ready when a TCP connection to its port succeeds; other types without one are ready
once they have kept running for a moment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deis.runtime.plan import ROUTABLE_TYPES

HTTP = "http"
TCP = "tcp"
EXEC = "exec"

STARTING_PERIOD = 0.02  # seconds between TCP connects to a replica that is not ready yet

K8S_DEFAULTS = {
    "initialDelaySeconds": 0,
    "periodSeconds": 10,
    "timeoutSeconds": 1,
    "successThreshold": 1,
    "failureThreshold": 3,
}


@dataclass(frozen=True)
class Probe:
    kind: str  # http | tcp | exec
    port: int
    path: str = "/"
    scheme: str = "http"
    headers: tuple[tuple[str, str], ...] = ()
    command: tuple[str, ...] = ()
    initial_delay: float = 0.0
    period: float = 10.0
    # while the replica is not ready yet: probe this often instead (the platform's own
    # default readiness check only; a user's probe keeps its periodSeconds)
    starting_period: float | None = None
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3


@dataclass(frozen=True)
class Probes:
    readiness: Probe | None = None
    liveness: Probe | None = None
    # without a readiness probe: seconds a replica must keep running to count as ready
    min_running: float = 0.0


def default_readiness(port: int) -> Probe:
    """A TCP connect to the port, every fifth of a second; until the replica is ready,
    every STARTING_PERIOD (a woken app's first request waits for it)."""
    return Probe(
        kind=TCP,
        port=port,
        period=0.2,
        starting_period=STARTING_PERIOD,
        timeout=1.0,
        failure_threshold=1,
    )


def _number(spec: Mapping[str, Any], key: str) -> float:
    value = spec.get(key, K8S_DEFAULTS[key])
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return float(K8S_DEFAULTS[key])


def _port(value: object, default: int) -> int:
    if isinstance(value, int) and 0 < value < 65536:
        return value
    if isinstance(value, str) and value.isdigit() and 0 < int(value) < 65536:
        return int(value)
    return default  # a named port, or none: the replica's port


def parse_probe(spec: Mapping[str, Any], port: int) -> Probe | None:
    """A Kubernetes probe as the platform runs it; None if it has no handler we know."""
    timing: dict[str, Any] = {
        "initial_delay": _number(spec, "initialDelaySeconds"),
        "period": max(_number(spec, "periodSeconds"), 0.1),
        "timeout": max(_number(spec, "timeoutSeconds"), 0.1),
        "success_threshold": max(int(_number(spec, "successThreshold")), 1),
        "failure_threshold": max(int(_number(spec, "failureThreshold")), 1),
    }
    if isinstance(http := spec.get("httpGet"), Mapping):
        headers = tuple(
            (str(h.get("name", "")), str(h.get("value", "")))
            for h in http.get("httpHeaders") or []
            if isinstance(h, Mapping) and h.get("name")
        )
        host = http.get("host")
        if host:
            headers = (("Host", str(host)), *headers)
        return Probe(
            kind=HTTP,
            port=_port(http.get("port"), port),
            path=str(http.get("path") or "/"),
            scheme=str(http.get("scheme") or "HTTP").lower(),
            headers=headers,
            **timing,
        )
    if isinstance(tcp := spec.get("tcpSocket"), Mapping):
        return Probe(kind=TCP, port=_port(tcp.get("port"), port), **timing)
    if isinstance(command := spec.get("exec"), Mapping):
        argv = tuple(str(a) for a in command.get("command") or [])
        if argv:
            return Probe(kind=EXEC, port=port, command=argv, **timing)
    return None


def probes_for(
    healthcheck: Mapping[str, Mapping[str, Any]],
    proc_type: str,
    port: int,
    min_running: float = 1.0,
) -> Probes:
    config = healthcheck.get(proc_type) or {}
    readiness_spec = config.get("readinessProbe")
    liveness_spec = config.get("livenessProbe")
    readiness = parse_probe(readiness_spec, port) if isinstance(readiness_spec, Mapping) else None
    liveness = parse_probe(liveness_spec, port) if isinstance(liveness_spec, Mapping) else None
    if readiness is None and proc_type in ROUTABLE_TYPES:
        readiness = default_readiness(port)
    return Probes(
        readiness=readiness,
        liveness=liveness,
        min_running=0.0 if readiness is not None else min_running,
    )
