"""Cron schedules and jobs (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deis.domain import cron
from deis.domain.errors import Invalid


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "after", "expected"),
    [
        ("* * * * *", "2026-12-06 10:00:30", "2026-12-06 10:01:00"),
        ("*/15 * * * *", "2026-12-06 10:01:00", "2026-12-06 10:15:00"),
        ("0 3 * * *", "2026-12-06 03:00:00", "2026-12-07 03:00:00"),
        ("@hourly", "2026-12-06 10:59:59", "2026-12-06 11:00:00"),
        ("@daily", "2026-12-06 10:00:00", "2026-12-07 00:00:00"),
        ("@weekly", "2026-12-06 10:00:00", "2026-12-13 00:00:00"),  # a Sunday
        ("@monthly", "2026-12-06 10:00:00", "2027-01-01 00:00:00"),
        ("30 9 * * mon-fri", "2026-12-05 12:00:00", "2026-12-07 09:30:00"),  # Sat -> Mon
        ("0 0 29 feb *", "2026-12-06 00:00:00", "2028-02-29 00:00:00"),
        ("0 12 * jan,jul 7", "2026-12-06 00:00:00", "2027-01-03 12:00:00"),  # 7 is Sunday
        ("5-10/5 1 * * *", "2026-12-06 01:05:00", "2026-12-06 01:10:00"),
    ],
)
def test_next_run(schedule: str, after: str, expected: str) -> None:
    assert cron.next_run(cron.parse_schedule(schedule), at(after)) == at(expected)


def test_day_of_month_or_day_of_week_when_both_are_given() -> None:
    schedule = cron.parse_schedule("0 0 13 * fri")  # the 13th, or any Friday
    assert cron.next_run(schedule, at("2026-12-06 00:00")) == at("2026-12-11 00:00")  # Fri
    assert cron.next_run(schedule, at("2026-12-11 00:00")) == at("2026-12-13 00:00")  # 13th


def test_a_zone_fires_at_its_wall_clock_time_and_skips_a_missing_hour() -> None:
    daily = cron.parse_schedule("0 9 * * *")
    assert cron.next_run(daily, at("2026-12-06 00:00"), "Europe/Paris") == at("2026-12-06 08:00")
    assert cron.next_run(daily, at("2026-07-06 00:00"), "Europe/Paris") == at("2026-07-06 07:00")
    at_2_30 = cron.parse_schedule("30 2 * * *")  # 29 March 2026: 02:00 -> 03:00 in Paris
    assert cron.next_run(at_2_30, at("2026-03-28 12:00"), "Europe/Paris") == at("2026-03-30 00:30")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "A schedule is required"),
        ("* * * *", "has 4 fields"),
        ("60 * * * *", "minute: '60' is outside 0-59"),
        ("* 24 * * *", "hour"),
        ("* * 0 * *", "day of month"),
        ("* * * 13 *", "month"),
        ("*/0 * * * *", "bad step"),
        ("5-1 * * * *", "runs backwards"),
        ("x * * * *", "is not a number"),
        ("@often", "unknown schedule"),
        ("0 0 31 feb *", "never fires"),
    ],
)
def test_bad_schedules_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(Invalid) as raised:
        cron.job("backup", text, "true")
    assert raised.value.field == "schedule"
    assert says in raised.value.message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "Bad_Name"}, "name"),
        ({"command": "  "}, "command"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"memory": "lots"}, "memory"),
        ({"memory": "1M"}, "memory"),
    ],
)
def test_bad_jobs_name_the_field(changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"name": "backup", "schedule": "@daily", "command": "true"}
    values.update(changes)
    with pytest.raises(Invalid) as raised:
        cron.job(
            values["name"],
            values["schedule"],
            values["command"],
            tz=values.get("tz", "UTC"),
            timeout=values.get("timeout"),
            memory=values.get("memory"),
        )
    assert raised.value.field == field


def test_a_job_round_trips_through_the_config() -> None:
    job = cron.job("backup", "0 3 * * *", "python backup.py", tz="Europe/Paris", memory="256M")
    stored = cron.as_config([job])
    assert cron.jobs_of(stored) == [job]
    assert job.timeout == cron.DEFAULT_TIMEOUT and job.source == cron.CLI


def test_app_json_jobs_replace_earlier_app_json_jobs_and_keep_cli_ones() -> None:
    declared = cron.app_json_jobs(
        {"cron": [{"command": "python clean.py", "schedule": "@daily"},
                  {"name": "report", "command": "python report.py", "schedule": "0 8 * * 1"}]}
    )  # fmt: skip
    assert [j.name for j in declared] == ["app-json-1", "report"]
    assert all(j.source == cron.APP_JSON for j in declared)
    old_declared = cron.job("old", "@hourly", "true", source=cron.APP_JSON)
    mine = cron.job("mine", "@hourly", "true")
    paused = cron.suspended(cron.job("report", "@daily", "x", source=cron.APP_JSON), True)
    after = cron.with_app_json([old_declared, mine, paused], declared)
    assert [j.name for j in after] == ["app-json-1", "mine", "report"]
    assert [j for j in after if j.name == "report"][0].suspended  # stays suspended


@pytest.mark.parametrize(
    "document",
    [[], {"cron": {}}, {"cron": [1]}, {"cron": [{"schedule": "@daily"}]},
     {"cron": [{"command": "x", "schedule": "nope"}]}],
)  # fmt: skip
def test_a_bad_app_json_cron_section_is_refused(document: object) -> None:
    with pytest.raises(Invalid) as raised:
        cron.app_json_jobs(document)
    assert raised.value.field == "app.json"


def test_due_between() -> None:
    every_minute = cron.parse_schedule("* * * * *")
    assert cron.due_between(every_minute, at("2026-12-06 10:00:00"), at("2026-12-06 10:01:00"))
    assert not cron.due_between(every_minute, at("2026-12-06 10:00:00"), at("2026-12-06 10:00:59"))


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("* * * * *", "* * * * *"),
        ("@daily", "0 0 * * *"),
        ("*/20 9-11 * jan,jul mon-fri", "0,20,40 9,10,11 * 1,7 1,2,3,4,5"),
        ("0 0 13 * 7", "0 0 13 * 0"),
    ],
)
def test_normalized_schedules_for_other_crons(text: str, plain: str) -> None:
    assert cron.normalized(cron.parse_schedule(text)) == plain
