"""Per-app request counts, status classes and latency from nginx's JSON access log.
Pure: lines in, figures out (the file is read by accesslog.LogFollower)."""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

# Latency histogram: bucket i holds durations up to BASE**i milliseconds (about 5%
# resolution), bucket 0 everything up to 1 ms.
_BASE = 1.05
_LOG_BASE = math.log(_BASE)


def _bucket(ms: float) -> int:
    return 0 if ms <= 1.0 else math.ceil(math.log(ms) / _LOG_BASE)


@functools.lru_cache(maxsize=4096)
def _bucket_of(request_time: str) -> int:
    """The bucket of nginx's $request_time text (seconds, ms resolution): few values."""
    return _bucket(float(request_time) * 1000.0)


# The router's log_format puts these first (templates/nginx.conf.j2); other lines (an
# older format) go through the JSON parser. Reading ten thousand lines a second, this
# costs the platform's process a tenth of what json.loads did.
_FAST = re.compile(
    r'\{"time":([0-9.]+),"app":"([A-Za-z0-9_.-]*)","status":([0-9]+),'
    r'"bytes":([0-9]+),"request_time":([0-9.]+)[,}]'
)


def _upper(bucket: int) -> float:
    return _BASE**bucket


_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}


@dataclass
class AppMetrics:
    requests: int = 0
    statuses: dict[str, int] = field(
        default_factory=lambda: {"1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0}
    )
    bytes_sent: int = 0
    latency_sum_ms: float = 0.0
    latency_max_ms: float = 0.0
    histogram: dict[int, int] = field(default_factory=dict)
    first: float | None = None  # time of the first and last request counted (epoch s)
    last: float | None = None

    def add(
        self, status: int, request_ms: float, bytes_sent: int, at: float, b: int | None = None
    ) -> None:
        self.requests += 1
        klass = _CLASSES.get(status // 100)
        if klass is not None:
            self.statuses[klass] += 1
        self.bytes_sent += bytes_sent
        self.latency_sum_ms += request_ms
        if request_ms > self.latency_max_ms:
            self.latency_max_ms = request_ms
        if b is None:
            b = _bucket(request_ms)
        self.histogram[b] = self.histogram.get(b, 0) + 1
        if self.first is None or at < self.first:
            self.first = at
        if self.last is None or at > self.last:
            self.last = at

    def percentile(self, q: float) -> float:
        """The q-quantile (0..1) of the latency in ms, to about 5%."""
        if not self.requests:
            return 0.0
        rank = max(1, math.ceil(q * self.requests))
        seen = 0
        for b in sorted(self.histogram):
            seen += self.histogram[b]
            if seen >= rank:
                return min(_upper(b), self.latency_max_ms)
        return self.latency_max_ms

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "statuses": dict(self.statuses),
            "bytes_sent": self.bytes_sent,
            "latency_ms": {
                "mean": round(self.latency_sum_ms / self.requests, 3) if self.requests else 0.0,
                "p50": round(self.percentile(0.50), 3),
                "p90": round(self.percentile(0.90), 3),
                "p99": round(self.percentile(0.99), 3),
                "max": round(self.latency_max_ms, 3),
            },
            "first": self.first,
            "last": self.last,
        }


def empty_snapshot() -> dict[str, Any]:
    return AppMetrics().snapshot()


class MetricsTable:
    """Everything counted so far, per app; fed one access-log line at a time."""

    def __init__(self) -> None:
        self.apps: dict[str, AppMetrics] = {}
        self.malformed = 0

    def add_line(self, line: str) -> None:
        m = _FAST.match(line)
        if m is not None:
            at, app, status, sent, request_time = m.groups()
            if not app:
                return  # the controller, or a host no app serves
            metrics = self.apps.get(app)
            if metrics is None:
                metrics = self.apps[app] = AppMetrics()
            metrics.add(
                int(status),
                float(request_time) * 1000.0,
                int(sent),
                float(at),
                _bucket_of(request_time),
            )
            return
        line = line.strip()
        if not line:
            return
        try:
            entry = json.loads(line)
            app = entry["app"]
            status = int(entry["status"])
            request_ms = float(entry["request_time"]) * 1000.0
            bytes_sent = int(entry.get("bytes", 0))
            at = float(entry.get("time", 0.0))
        except (ValueError, KeyError, TypeError):
            self.malformed += 1
            return
        if not isinstance(app, str) or not app:
            return  # the controller, or a host no app serves
        self.apps.setdefault(app, AppMetrics()).add(status, request_ms, bytes_sent, at)

    def snapshot(self, app_id: str) -> dict[str, Any]:
        metrics = self.apps.get(app_id)
        return metrics.snapshot() if metrics else empty_snapshot()

    def forget(self, app_id: str) -> None:
        self.apps.pop(app_id, None)
