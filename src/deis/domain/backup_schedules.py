"""Daily backups of an add-on (`deis addons:backups:schedule NAME --at 02:00 --tz ZONE`).

A schedule takes one backup a day at a local time of a time zone and keeps the last
`keep` scheduled backups (on-demand ones are never pruned). When the platform was down
at the scheduled time it takes one backup when it is back, not one per missed day; on
the day a clock springs forward over the time, it runs at the first minute that exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from deis.domain.cron import zone
from deis.domain.errors import Invalid

DEFAULT_TZ = "UTC"
DEFAULT_KEEP = 7
KEEP_MAX = 90
SCHEDULED_BY = "scheduled"  # the owner of the backups a schedule takes
_AT_RE = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


@dataclass(frozen=True)
class BackupSchedule:
    """`since`: when it was set (it first runs at the first `at` after that);
    `last_run`: when it last took a backup (None: not yet)."""

    addon: str
    at: str  # "HH:MM", local to tz
    tz: str
    keep: int
    since: datetime
    last_run: datetime | None = None


def check_at(value: object) -> str:
    """`2:00`, `02:00` → `02:00`."""
    match = _AT_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise Invalid("Must be a time of day as HH:MM, 00:00 to 23:59 (e.g. 02:00).", field="at")
    return f"{int(match[1]):02d}:{match[2]}"


def check_tz(value: object) -> str:
    if value is None or value == "":
        return DEFAULT_TZ
    if not isinstance(value, str):
        raise Invalid("Must be a time zone name (e.g. UTC, Europe/Paris).", field="tz")
    zone(value)  # raises Invalid naming the field
    return value


def check_keep(value: object) -> int:
    if value is None:
        return DEFAULT_KEEP
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= KEEP_MAX:
        raise Invalid(f"Must be a number of backups from 1 to {KEEP_MAX}.", field="keep")
    return value


def parse_schedule(
    addon: str, at: object, tz: object, keep: object, now: datetime
) -> BackupSchedule:
    """A new schedule from what a user gave (tz and keep may be left out)."""
    return BackupSchedule(addon, check_at(at), check_tz(tz), check_keep(keep), since=now)


def _exists(local: datetime, where: ZoneInfo) -> bool:
    """Whether the wall-clock time happens in the zone (not in a spring-forward gap)."""
    there = local.replace(tzinfo=where)
    return there.astimezone(UTC).astimezone(where).replace(tzinfo=None) == local


def _moment(day: date, at: str, where: ZoneInfo) -> datetime:
    """The day's `at` in UTC: the first minute after it that exists when it does not;
    its first occurrence when a clock falls back over it."""
    hour, minute = (int(part) for part in at.split(":"))
    local = datetime.combine(day, time(hour, minute))
    while not _exists(local, where):
        local += timedelta(minutes=1)
    return local.replace(tzinfo=where, fold=0).astimezone(UTC)


def next_run(schedule: BackupSchedule, after: datetime) -> datetime:
    """The first scheduled time strictly after `after` (aware), in UTC."""
    where = zone(schedule.tz)
    day = after.astimezone(where).date() - timedelta(days=1)
    while (moment := _moment(day, schedule.at, where)) <= after:
        day += timedelta(days=1)
    return moment


def due_after(schedule: BackupSchedule) -> datetime:
    """When it runs next: the first scheduled time after it last ran or was set."""
    last = schedule.since if schedule.last_run is None else max(schedule.last_run, schedule.since)
    return next_run(schedule, last)


def due(schedule: BackupSchedule, now: datetime) -> bool:
    """Whether a backup is to be taken now (once, however many days were missed)."""
    return due_after(schedule) <= now


def describe(schedule: BackupSchedule) -> str:
    """`daily at 02:00 (Europe/Paris), keeping the last 7`."""
    return f"daily at {schedule.at} ({schedule.tz}), keeping the last {schedule.keep}"


def to_prune(records: list[dict[str, Any]], keep: int) -> list[str]:
    """The ids of the scheduled backups beyond the newest `keep` (records as stored)."""
    scheduled = sorted((str(r["id"]) for r in records if r.get("scheduled") is True), reverse=True)
    return scheduled[keep:]
