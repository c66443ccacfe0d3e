"""Requests per second and error rate from the router's counters, which only grow: the
difference since the last look at an app when there was one a little while ago, else
the average over everything counted."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

MIN_WINDOW = 1.0  # seconds between two looks for a recent rate
MAX_WINDOW = 900.0  # older looks say little about now
KEPT = 10_000  # apps remembered


@dataclass(frozen=True)
class Sample:
    at: float
    requests: int
    errors: int


@dataclass(frozen=True)
class Traffic:
    rps: float | None
    # Share of 5xx answers, 0..1, over the same window as rps when it saw requests, else
    # over everything counted; None before any request.
    error_rate: float | None
    requests: int
    recent: bool  # since the last look, rather than the average since counting began


def sample_of(snapshot: dict[str, Any], at: float) -> Sample:
    statuses = snapshot.get("statuses") or {}
    return Sample(at, int(snapshot.get("requests") or 0), int(statuses.get("5xx") or 0))


def lifetime_error_rate(sample: Sample) -> float | None:
    return sample.errors / sample.requests if sample.requests else None


def traffic(previous: Sample | None, snapshot: dict[str, Any], now: float) -> Traffic:
    current = sample_of(snapshot, now)
    if previous is not None and MIN_WINDOW <= now - previous.at <= MAX_WINDOW:
        served = current.requests - previous.requests
        if served >= 0:  # else the router restarted and counts from zero
            errors = current.errors - previous.errors
            return Traffic(
                served / (now - previous.at),
                errors / served if served else lifetime_error_rate(current),
                current.requests,
                True,
            )
    if not current.requests:
        return Traffic(0.0, None, 0, False)
    first, last = snapshot.get("first"), snapshot.get("last")
    span = float(last) - float(first) if first is not None and last is not None else 0.0
    return Traffic(
        current.requests / max(span, MIN_WINDOW),  # all within a second: that second's rate
        current.errors / current.requests,
        current.requests,
        False,
    )


class RateMeter:
    """The last look at each app, shared by the dashboard's threads."""

    def __init__(self) -> None:
        self._samples: OrderedDict[str, Sample] = OrderedDict()
        self._lock = threading.Lock()

    def observe(self, app_id: str, snapshot: dict[str, Any], now: float) -> Traffic:
        with self._lock:
            previous = self._samples.get(app_id)
            result = traffic(previous, snapshot, now)
            if previous is None or now - previous.at >= MIN_WINDOW:
                self._samples[app_id] = sample_of(snapshot, now)
                self._samples.move_to_end(app_id)
                while len(self._samples) > KEPT:
                    self._samples.popitem(last=False)
            return result
