"""Per-app request counts, status classes and latency from nginx's JSON access log.
Pure: lines in, figures out (the file is read by accesslog.LogFollower)."""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from operator import itemgetter
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


# The same fields over a whole chunk of lines at once: the router writes thousands of
# lines a second, and counting equal fields in C instead of adding each line in Python
# keeps the platform's share of the cores small (about a third of the CPU per line).
_ROWS = re.compile(
    rb'\{"time":([0-9.]+),"app":"([A-Za-z0-9_.-]*)","status":([0-9]+),'
    rb'"bytes":([0-9]+),"request_time":([0-9.]+)[,}]'
)
_TIME = itemgetter(0)
_FIELDS = itemgetter(1, 2, 3, 4)  # app, status, bytes, request time
_APP_TIME = itemgetter(1, 0)


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

    def add_counted(
        self,
        statuses: Counter[int],
        latencies: Counter[str],
        bytes_sent: int,
        first: float,
        last: float,
    ) -> None:
        """Requests counted by status and by $request_time text (one chunk of the log)."""
        for status, n in statuses.items():
            self.requests += n
            klass = _CLASSES.get(status // 100)
            if klass is not None:
                self.statuses[klass] += n
        histogram = self.histogram
        for request_time, n in latencies.items():
            ms = float(request_time) * 1000.0
            self.latency_sum_ms += ms * n
            if ms > self.latency_max_ms:
                self.latency_max_ms = ms
            b = _bucket_of(request_time)
            histogram[b] = histogram.get(b, 0) + n
        self.bytes_sent += bytes_sent
        if self.first is None or first < self.first:
            self.first = first
        if self.last is None or last > self.last:
            self.last = last

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


@dataclass
class _Counted:
    """One app's lines of one chunk of the log."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies: Counter[str] = field(default_factory=Counter)
    bytes_sent: int = 0
    first: float = math.inf
    last: float = -math.inf

    def saw(self, at: float) -> None:
        if at < self.first:
            self.first = at
        if at > self.last:
            self.last = at


class MetricsTable:
    """Everything counted so far, per app; fed one access-log line at a time."""

    def __init__(self) -> None:
        self.apps: dict[str, AppMetrics] = {}
        self.malformed = 0

    def add_chunk(self, data: bytes) -> None:
        """Complete lines (each ending with a newline), as read from the log."""
        lines = _ROWS.findall(data)
        if len(lines) != data.count(b"\n"):
            # another format, an empty or malformed line: line by line
            for raw in data.split(b"\n"):
                if raw:
                    self.add_line(raw.decode("utf-8", "replace"))
            return
        counted: dict[bytes, _Counted] = {}
        for (app, status, sent, request_time), n in Counter(map(_FIELDS, lines)).items():
            c = counted.get(app)
            if c is None:
                c = counted[app] = _Counted()
            c.statuses[int(status)] += n
            c.latencies[request_time.decode()] += n
            c.bytes_sent += int(sent) * n
        if not counted:
            return
        if len(counted) == 1:
            # $msec always has three decimals: the text orders as the number does
            (only,) = counted.values()
            only.first = float(min(map(_TIME, lines)))
            only.last = float(max(map(_TIME, lines)))
        else:
            for app, at in map(_APP_TIME, lines):
                counted[app].saw(float(at))
        for app, c in counted.items():
            if not app:
                continue  # the controller, or a host no app serves
            name = app.decode()
            metrics = self.apps.get(name)
            if metrics is None:
                metrics = self.apps[name] = AppMetrics()
            metrics.add_counted(c.statuses, c.latencies, c.bytes_sent, c.first, c.last)

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
