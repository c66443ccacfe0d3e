"""Scheduled jobs: cron schedules, when they fire, and the jobs an app's config holds.

A schedule is the classic five fields (minute, hour, day of month, month, day of week)
with `*`, lists, ranges, steps and English month and day names, or one of the macros
`@hourly`, `@daily` (`@midnight`), `@weekly`, `@monthly`, `@yearly` (`@annually`).
As in Vixie cron, when both the day of month and the day of week are restricted, a day
matching either one fires. Times are wall-clock times of the job's zone (UTC unless
given); a time that does not exist in that zone (a spring-forward gap) is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from deis.domain.errors import Invalid
from deis.domain.limits import MIN_MEMORY_BYTES, memory_bytes

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, lowest, highest, names for lowest..)
FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, DAYS),
)
NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
DEFAULT_TIMEOUT = 3600
MAX_TIMEOUT = 24 * 3600
MAX_COMMAND = 4096
SEARCH_YEARS = 5  # the farthest a schedule may first fire (29 February on a Monday...)
APP_JSON = "app.json"
CLI = "cli"


@dataclass(frozen=True)
class Schedule:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 is Sunday (7 is folded into 0)
    any_day: bool  # the day-of-month field is *
    any_weekday: bool  # the day-of-week field is *

    def matches_day(self, moment: datetime) -> bool:
        if moment.month not in self.months:
            return False
        in_month = moment.day in self.days
        in_week = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week


def _value(text: str, low: int, names: tuple[str, ...], field: str) -> int:
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + low
    if not text.isdigit():
        raise Invalid(f"{field}: {text!r} is not a number", field="schedule")
    return int(text)


def _parse_field(text: str, field: str, low: int, high: int, names: tuple[str, ...]) -> set[int]:
    found: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise Invalid(f"{field}: bad step {step_text!r}", field="schedule")
            step = int(step_text)
        if body == "*":
            start, end = low, high
        elif "-" in body:
            first, _, last = body.partition("-")
            start, end = _value(first, low, names, field), _value(last, low, names, field)
        else:
            start = _value(body, low, names, field)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high):
            raise Invalid(f"{field}: {part!r} is outside {low}-{high}", field="schedule")
        if start > end:
            raise Invalid(f"{field}: the range {part!r} runs backwards", field="schedule")
        found.update(range(start, end + 1, step))
    return found


def parse_schedule(text: str) -> Schedule:
    """A schedule from its text; Invalid (field "schedule") says what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise Invalid("A schedule is required, like '*/15 * * * *' or '@daily'.", field="schedule")
    source = text.strip()
    expanded = MACROS.get(source.lower(), source)
    if expanded.startswith("@"):
        known = ", ".join(MACROS)
        raise Invalid(f"unknown schedule {source!r} (known: {known})", field="schedule")
    parts = expanded.split()
    if len(parts) != 5:
        raise Invalid(
            f"{source!r} has {len(parts)} fields; a schedule has 5:"
            " minute hour day-of-month month day-of-week",
            field="schedule",
        )
    values = [
        _parse_field(part, name, low, high, names)
        for part, (name, low, high, names) in zip(parts, FIELDS, strict=True)
    ]
    weekdays = {day % 7 for day in values[4]}
    return Schedule(
        text=source,
        minutes=frozenset(values[0]),
        hours=frozenset(values[1]),
        days=frozenset(values[2]),
        months=frozenset(values[3]),
        weekdays=frozenset(weekdays),
        any_day=parts[2] == "*",
        any_weekday=parts[4] == "*",
    )


def normalized(schedule: Schedule) -> str:
    """The schedule as five fields of plain numbers (Sunday is 0), `*` where the text had
    one: what other cron implementations (Kubernetes CronJobs) read the same way."""

    def field(values: frozenset[int], low: int, high: int, star: bool) -> str:
        if star or values == frozenset(range(low, high + 1)):
            return "*"
        return ",".join(str(v) for v in sorted(values))

    return " ".join(
        [
            field(schedule.minutes, 0, 59, False),
            field(schedule.hours, 0, 23, False),
            "*" if schedule.any_day else field(schedule.days, 1, 31, False),
            field(schedule.months, 1, 12, False),
            "*" if schedule.any_weekday else field(schedule.weekdays, 0, 6, False),
        ]
    )


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"unknown time zone {name!r} (e.g. UTC, Europe/Paris)", field="tz") from exc


def next_run(schedule: Schedule, after: datetime, tz: str = "UTC") -> datetime:
    """The first time strictly after `after` (aware) that the schedule fires, in UTC."""
    where = zone(tz)
    local = after.astimezone(where).replace(tzinfo=None, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0)
    last_day = day + timedelta(days=366 * SEARCH_YEARS)
    while day <= last_day:
        if schedule.matches_day(day):
            for hour in sorted(schedule.hours):
                for minute in sorted(schedule.minutes):
                    candidate = day.replace(hour=hour, minute=minute)
                    if candidate <= local:
                        continue
                    moment = candidate.replace(tzinfo=where)
                    if moment.astimezone(UTC).astimezone(where).replace(tzinfo=None) != candidate:
                        continue  # not a time of this zone (the clocks jumped over it)
                    return moment.astimezone(UTC)
        day += timedelta(days=1)
    raise Invalid(f"{schedule.text!r} never fires", field="schedule")


def due_between(schedule: Schedule, start: datetime, end: datetime, tz: str = "UTC") -> bool:
    """Whether the schedule fires in (start, end]."""
    return next_run(schedule, start, tz) <= end


@dataclass(frozen=True)
class Job:
    name: str
    schedule: str
    command: str
    tz: str = "UTC"
    timeout: int = DEFAULT_TIMEOUT  # seconds; the run is killed after it
    memory: str | None = None  # like 256M; the app's own limit when None
    suspended: bool = False
    source: str = CLI  # "cli" or "app.json": app.json's jobs are replaced at each push

    def to_json(self) -> dict[str, object]:
        return {
            "schedule": self.schedule,
            "command": self.command,
            "tz": self.tz,
            "timeout": self.timeout,
            "memory": self.memory,
            "suspended": self.suspended,
            "source": self.source,
        }


def job(
    name: object,
    schedule: object,
    command: object,
    *,
    tz: object = "UTC",
    timeout: object = None,
    memory: object = None,
    source: str = CLI,
) -> Job:
    """A validated job; Invalid names the field that is wrong."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise Invalid(
            "A job name is lowercase letters, digits and dashes (up to 63).", field="name"
        )
    if not isinstance(schedule, str):
        raise Invalid("A schedule is a string like '0 3 * * *'.", field="schedule")
    parsed = parse_schedule(schedule)
    if not isinstance(command, str) or not command.strip():
        raise Invalid("A command is required.", field="command")
    if len(command) > MAX_COMMAND:
        raise Invalid(f"A command is at most {MAX_COMMAND} characters.", field="command")
    if not isinstance(tz, str):
        raise Invalid("A time zone is a name like Europe/Paris.", field="tz")
    zone(tz)
    seconds = DEFAULT_TIMEOUT if timeout is None else timeout
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= MAX_TIMEOUT:
        raise Invalid(f"A timeout is whole seconds, 1 to {MAX_TIMEOUT}.", field="timeout")
    if memory is not None:
        try:
            size = memory_bytes(memory) if isinstance(memory, str) else 0
        except ValueError:
            size = 0
        if size < MIN_MEMORY_BYTES:
            raise Invalid("A memory limit is like 256M or 1G (6M at least).", field="memory")
    next_run(parsed, datetime(2000, 1, 1, tzinfo=UTC), tz)  # a schedule that never fires
    limit = memory if isinstance(memory, str) else None
    return Job(name, parsed.text, command.strip(), tz, seconds, limit, False, source)


def from_json(name: str, data: Mapping[str, object]) -> Job:
    timeout = data.get("timeout")
    memory = data.get("memory")
    return Job(
        name=name,
        schedule=str(data.get("schedule", "")),
        command=str(data.get("command", "")),
        tz=str(data.get("tz") or "UTC"),
        timeout=timeout if isinstance(timeout, int) else DEFAULT_TIMEOUT,
        memory=memory if isinstance(memory, str) else None,
        suspended=bool(data.get("suspended", False)),
        source=str(data.get("source") or CLI),
    )


def jobs_of(cron: Mapping[str, Mapping[str, object]]) -> list[Job]:
    return [from_json(name, cron[name]) for name in sorted(cron)]


def as_config(jobs: list[Job]) -> dict[str, dict[str, object]]:
    return {j.name: j.to_json() for j in sorted(jobs, key=lambda j: j.name)}


def suspended(existing: Job, value: bool) -> Job:
    return replace(existing, suspended=value)


def app_json_jobs(document: object) -> list[Job]:
    """The jobs of an app.json's `cron` section (Dokku's form), named by position unless
    an entry has a `name`: [{"command": "...", "schedule": "..."}]."""
    if not isinstance(document, Mapping):
        raise Invalid("app.json must be a JSON object.", field="app.json")
    entries = document.get("cron", [])
    if not isinstance(entries, list):
        raise Invalid("app.json's cron is a list of {command, schedule}.", field="app.json")
    found: list[Job] = []
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping):
            raise Invalid(f"app.json cron entry {index} is not an object.", field="app.json")
        name = entry.get("name", f"app-json-{index}")
        try:
            found.append(
                job(
                    name,
                    entry.get("schedule"),
                    entry.get("command"),
                    tz=entry.get("tz", "UTC"),
                    timeout=entry.get("timeout"),
                    memory=entry.get("memory"),
                    source=APP_JSON,
                )
            )
        except Invalid as exc:
            raise Invalid(f"app.json cron entry {index}: {exc.message}", field="app.json") from exc
    names = [j.name for j in found]
    if len(set(names)) != len(names):
        raise Invalid("app.json's cron entries must have different names.", field="app.json")
    return found


def with_app_json(current: list[Job], declared: list[Job]) -> list[Job]:
    """The app's jobs after a push: app.json's replace the ones it declared before; jobs
    added with `deis cron:add` stay (a job of the same name is app.json's from then on)."""
    kept = {j.name: j for j in current if j.source != APP_JSON}
    suspended_before = {j.name for j in current if j.suspended}
    for declared_job in declared:
        kept[declared_job.name] = replace(
            declared_job, suspended=declared_job.name in suspended_before
        )
    return sorted(kept.values(), key=lambda j: j.name)


@dataclass(frozen=True)
class Run:
    """The last run of a job: when, how it was started, and how it ended (exit_code None:
    still going; 124: stopped at its timeout; -1: the platform could not start it)."""

    app: str
    name: str
    started: datetime
    trigger: str  # "schedule" or "manual"
    finished: datetime | None = None
    exit_code: int | None = None

    @property
    def duration(self) -> float | None:
        if self.finished is None:
            return None
        return (self.finished - self.started).total_seconds()
