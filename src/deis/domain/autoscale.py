"""Autoscaling from measured CPU, decided as Kubernetes' HorizontalPodAutoscaler does.

`decide` is pure: a rule ({min, max, cpu_percent}), the replicas a type has now, the CPU
each measured replica used (in millicores), and what was recommended before (for the
scale-down stabilization window) in; the replica count to run and why out.

- utilization = average usage / the CPU each replica asks for (its `cpu` request, else its
  limit, else one core), in percent;
- desired = ceil(current * utilization / target), left alone while the ratio is within
  the tolerance (0.1) of 1;
- scaling up at most to max(2 * current, current + 4) at a time (the HPA's default
  scale-up policy), at once;
- scaling down to the highest recommendation of the last `window` seconds (the HPA's
  default stabilization window, 300 s), so a short lull does not remove replicas;
- always clamped to [min, max]; a type scaled to 0 is left alone (autoscaling is off
  for it, as for a Deployment scaled to 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from deis.domain.limits import cpu_millicores, limit_part, request_part

TOLERANCE = 0.1
DOWN_WINDOW = 300.0
RETRY_CAP = 300.0  # a scale that keeps failing is tried again at most this far apart


def retry_delay(failures: int, interval: float, cap: float = RETRY_CAP) -> float:
    """Seconds before the autoscaler tries again a scale that failed `failures` times in
    a row (its replicas kept crashing, say): one pass, then 2, 4 ... up to `cap`."""
    if failures <= 0:
        return 0.0
    return float(min(cap, max(interval, 1.0) * 2 ** (failures - 1)))


ONE_CORE = 1000


@dataclass(frozen=True)
class Rule:
    min: int
    max: int
    cpu_percent: int

    @classmethod
    def of(cls, rule: Mapping[str, int]) -> Rule:
        return cls(int(rule["min"]), int(rule["max"]), int(rule["cpu_percent"]))


@dataclass(frozen=True)
class Recommendation:
    at: float
    replicas: int


@dataclass(frozen=True)
class Decision:
    replicas: int  # what the type should run
    current: int
    utilization: float | None  # percent of the request, averaged; None: nothing measured
    target: int
    history: tuple[Recommendation, ...]  # to pass to the next call
    bounds: str = ""  # "min 2" / "max 5" when the count was only brought within them

    @property
    def changed(self) -> bool:
        return self.replicas != self.current

    @property
    def reason(self) -> str:
        if self.bounds:
            return self.bounds
        if self.utilization is None:
            return "no measurement"
        return f"cpu {round(self.utilization)}% of {self.target}%"


def cpu_request_millicores(cpu: Mapping[str, str], proc_type: str) -> int:
    """What one replica of the type asks for: its request ("250m" of "250m/1"), else its
    limit, else one core."""
    raw = cpu.get(proc_type)
    if raw:
        for part in (request_part(raw), limit_part(raw)):
            try:
                millis = cpu_millicores(part)
            except ValueError:
                continue
            if millis > 0:
                return millis
    return ONE_CORE


def utilization(usage_millicores: Sequence[float], request_millicores: int) -> float | None:
    """Average usage as a percentage of the request; None when nothing was measured."""
    if not usage_millicores or request_millicores <= 0:
        return None
    return 100.0 * (sum(usage_millicores) / len(usage_millicores)) / request_millicores


def _clamp(value: int, rule: Rule) -> int:
    return max(rule.min, min(rule.max, value))


def decide(
    rule: Rule,
    current: int,
    usage_millicores: Sequence[float],
    request_millicores: int,
    history: Sequence[Recommendation],
    now: float,
    *,
    window: float = DOWN_WINDOW,
    tolerance: float = TOLERANCE,
) -> Decision:
    measured = utilization(usage_millicores, request_millicores)
    kept = tuple(h for h in history if now - h.at < window)

    def result(replicas: int, recommended: int | None = None) -> Decision:
        remembered = kept if recommended is None else (*kept, Recommendation(now, recommended))
        return Decision(replicas, current, measured, rule.cpu_percent, remembered)

    if current <= 0:
        return result(current)
    if current > rule.max or current < rule.min:
        bounds = f"max {rule.max}" if current > rule.max else f"min {rule.min}"
        return Decision(_clamp(current, rule), current, measured, rule.cpu_percent, kept, bounds)
    if measured is None:
        return result(current)
    ratio = measured / rule.cpu_percent
    recommended = current
    if abs(ratio - 1.0) > tolerance:
        recommended = math.ceil(current * ratio)
    recommended = _clamp(min(recommended, max(2 * current, current + 4)), rule)
    if recommended >= current:
        return result(recommended, recommended)
    # scaling down: the highest recommendation within the window (this one included)
    stabilized = max([recommended, *(h.replicas for h in kept)])
    return result(_clamp(min(stabilized, current), rule), recommended)
