"""The rules of scheduled add-on backups (deis.domain.backup_schedules): pure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from deis.domain.backup_schedules import (
    BackupSchedule,
    check_at,
    describe,
    due,
    due_after,
    next_run,
    parse_schedule,
    to_prune,
)
from deis.domain.errors import Invalid

SET = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def schedule(at: str = "02:00", tz: str = "UTC", **extra: Any) -> BackupSchedule:
    return BackupSchedule("postgres-calm-1234", at, tz, 7, since=extra.pop("since", SET), **extra)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_a_schedule_is_parsed_with_defaults() -> None:
    made = parse_schedule("postgres-calm-1234", "2:00", None, None, SET)
    assert made == BackupSchedule("postgres-calm-1234", "02:00", "UTC", 7, since=SET)
    assert describe(made) == "daily at 02:00 (UTC), keeping the last 7"
    assert parse_schedule("x", "23:59", "Europe/Paris", 90, SET).keep == 90


@pytest.mark.parametrize(
    ("at", "tz", "keep", "field"),
    [("24:00", None, None, "at"), ("2", None, None, "at"), ("02:60", None, None, "at"),
     (200, None, None, "at"), ("02:00", "Mars/Olympus", None, "tz"), ("02:00", 3, None, "tz"),
     ("02:00", None, 0, "keep"), ("02:00", None, 91, "keep"), ("02:00", None, "7", "keep"),
     ("02:00", None, True, "keep")],
)  # fmt: skip
def test_bad_input_names_its_field(at: object, tz: object, keep: object, field: str) -> None:
    with pytest.raises(Invalid) as raised:
        parse_schedule("x", at, tz, keep, SET)
    assert raised.value.field == field


def test_check_at_accepts_the_edges() -> None:
    assert [check_at(v) for v in ("00:00", "23:59", " 9:05 ")] == ["00:00", "23:59", "09:05"]


def test_the_next_run_is_the_local_time_in_the_zone() -> None:
    paris = schedule(tz="Europe/Paris")
    assert next_run(paris, utc(2026, 1, 10, 0, 30)) == utc(2026, 1, 10, 1, 0)  # UTC+1
    assert next_run(paris, utc(2026, 7, 10, 0, 30)) == utc(2026, 7, 11, 0, 0)  # UTC+2
    assert next_run(schedule(), utc(2026, 1, 10, 2, 0)) == utc(2026, 1, 11, 2, 0)  # strictly


def test_in_a_spring_forward_gap_it_runs_at_the_next_minute_that_exists() -> None:
    # 2026-03-29 in Paris: 02:00 CET jumps to 03:00 CEST; 02:30 does not happen.
    paris = schedule("02:30", "Europe/Paris")
    assert next_run(paris, utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 29, 1, 0)  # 03:00 CEST
    assert next_run(paris, utc(2026, 3, 29, 1, 0)) == utc(2026, 3, 30, 0, 30)


def test_when_the_clock_falls_back_it_runs_once() -> None:
    # 2026-10-25 in Paris: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
    paris = schedule("02:30", "Europe/Paris")
    first = next_run(paris, utc(2026, 10, 24, 12, 0))
    assert first == utc(2026, 10, 25, 0, 30)
    assert next_run(paris, first) == utc(2026, 10, 26, 1, 30)


def test_it_first_runs_at_the_first_time_after_it_was_set() -> None:
    made = schedule(since=utc(2026, 3, 1, 1, 0))
    assert not due(made, utc(2026, 3, 1, 1, 59))
    assert due(made, utc(2026, 3, 1, 2, 0))
    late = schedule(since=utc(2026, 3, 1, 3, 0))  # set after today's time: tomorrow
    assert not due(late, utc(2026, 3, 1, 23, 0))
    assert due(late, utc(2026, 3, 2, 2, 0, 30))


def test_a_platform_down_for_days_runs_it_once_when_back() -> None:
    ran = schedule(last_run=utc(2026, 3, 2, 2, 0, 20))
    back = utc(2026, 3, 6, 9, 0)
    assert due(ran, back)
    after = BackupSchedule(ran.addon, ran.at, ran.tz, ran.keep, ran.since, last_run=back)
    assert not due(after, utc(2026, 3, 7, 1, 59))
    assert due_after(after) == utc(2026, 3, 7, 2, 0)


def test_only_scheduled_backups_beyond_keep_are_pruned() -> None:
    records: list[dict[str, Any]] = [
        {"id": "b20260301020000", "scheduled": True},
        {"id": "b20260302020000", "scheduled": True},
        {"id": "b20260302100000", "owner": "alice"},
        {"id": "b20260303020000", "scheduled": True},
    ]
    assert to_prune(records, 2) == ["b20260301020000"]
    assert to_prune(records, 3) == []
