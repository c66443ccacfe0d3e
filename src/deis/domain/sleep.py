"""Idle apps sleep: the rules, pure.

An app whose web type got no request for `after` seconds is put to sleep: the runtime
stops the replicas of its sleeping types (web, or every type) while its structure stays
what the user scaled it to. The first request wakes it: the router holds it while the
replicas start. The setting of an app is `after` (seconds; 0: never; None: the
platform's default) and `all_types` (the other types sleep with web).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from deis.domain.desired import DesiredApp
from deis.domain.errors import Invalid

NEVER = 0
MIN_AFTER = 10  # seconds: shorter would stop an app between two requests of one page
MAX_AFTER = 30 * 24 * 3600
SLEEPING_TYPE = "web"
_DURATION = re.compile(r"^([0-9]{1,7})([smhd]?)$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_after(text: str | int) -> int:
    """Seconds from "30m", "2h", "1d", "90s" or "90"; Invalid otherwise."""
    if isinstance(text, bool):
        raise Invalid("after is a duration like 30m, 2h or 1d.", field="after")
    if isinstance(text, int):
        seconds = text
    else:
        m = _DURATION.match(text.strip().lower())
        if not m:
            raise Invalid(f"after is a duration like 30m, 2h or 1d (not {text!r}).", field="after")
        seconds = int(m.group(1)) * _UNIT[m.group(2)]
    if seconds == NEVER:
        return NEVER
    if not MIN_AFTER <= seconds <= MAX_AFTER:
        raise Invalid(
            f"after must be from {MIN_AFTER}s to {MAX_AFTER // 86400}d (or never).", field="after"
        )
    return seconds


def new_after(after: str | int | None, default: bool, current: int | None) -> int | None:
    """The app's `after` once a user sets it: `default` back to the platform's (None),
    "never" (0), a duration, or unchanged when `after` is None."""
    if default:
        return None
    if after is None:
        return current
    if isinstance(after, str) and after.strip().lower() == "never":
        return NEVER
    return parse_after(after)


def describe_after(after: int | None) -> str:
    """How the controller's log says a setting: never, default, 1800s."""
    if after is None:
        return "default"
    return "never" if after == NEVER else f"{after}s"


def duration_text(seconds: float) -> str:
    """30m, 2h, 1d, 90s, 1h30m: how logs and the CLI say a duration."""
    whole = int(round(seconds))
    if whole <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts)


@dataclass(frozen=True)
class SleepState:
    """An app's sleep setting and state, as the store keeps it."""

    app: str
    after: int | None = None  # seconds; 0: never; None: the platform's default
    all_types: bool = False  # every process type sleeps, not only web
    asleep: bool = False
    since: datetime | None = None  # when it fell asleep, or woke

    def effective_after(self, default: int) -> int:
        return default if self.after is None else self.after


def sleeping_types(state: SleepState | None, structure: Mapping[str, int]) -> tuple[str, ...]:
    """The process types the runtime keeps stopped: none while awake."""
    if state is None or not state.asleep:
        return ()
    if state.all_types:
        return tuple(sorted(t for t, n in structure.items() if n > 0))
    return (SLEEPING_TYPE,) if structure.get(SLEEPING_TYPE, 0) > 0 else ()


def running_state(desired: DesiredApp) -> DesiredApp:
    """What the runtime runs: the desired state with its sleeping types at 0 replicas.
    The structure the records hold (and `deployed` answers) stays the app's own."""
    if not desired.asleep:
        return desired
    structure = {t: (0 if t in desired.asleep else n) for t, n in desired.structure.items()}
    return replace(desired, structure=structure)


def wakes(state: SleepState | None, structure: Mapping[str, int], default: int) -> bool:
    """Whether the router holds a request that finds no replica while the app wakes:
    the app may sleep, or sleeps now (and has a web type to wake)."""
    if structure.get(SLEEPING_TYPE, 0) <= 0:
        return False
    after = (state or SleepState("")).effective_after(default)
    return after > 0 or (state is not None and state.asleep)


def may_sleep(state: SleepState | None, structure: Mapping[str, int], default: int) -> int:
    """The app's idle time in seconds before it sleeps; 0 when it never does (asleep
    already, sleeping off, or no web type to wake it)."""
    after = (state or SleepState("")).effective_after(default)
    if after <= 0 or (state is not None and state.asleep):
        return 0
    if structure.get(SLEEPING_TYPE, 0) <= 0:
        return 0
    return after


@dataclass(frozen=True)
class Activity:
    """What the sleep loop remembers of one app: the router's request count it last saw,
    and when that count last moved (or the app last woke)."""

    requests: int
    active_at: float


def observe(previous: Activity | None, requests: int, now: float) -> Activity:
    """The app's activity after one look at the router's count. A first look (the
    platform just started) counts as activity: nothing sleeps before `after` has passed."""
    if previous is None or requests != previous.requests:
        return Activity(requests, now)
    return previous


def idle_for(activity: Activity, now: float) -> float:
    return max(0.0, now - activity.active_at)


def should_sleep(activity: Activity, after: int, now: float) -> bool:
    return after > 0 and idle_for(activity, now) >= after


def asleep_event(idle: float) -> str:
    return f"asleep after {duration_text(idle)} idle"


def woken_event(by: str, seconds: float) -> str:
    return f"woken by {by} ({seconds:.2f} s)"
