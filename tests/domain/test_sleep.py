"""The rules of idle apps sleeping (deis.domain.sleep): pure."""

from __future__ import annotations

import pytest

from deis.domain.desired import DesiredApp
from deis.domain.errors import Invalid
from deis.domain.sleep import (
    Activity,
    SleepState,
    asleep_event,
    describe_after,
    duration_text,
    may_sleep,
    new_after,
    observe,
    parse_after,
    running_state,
    should_sleep,
    sleeping_types,
    wakes,
    woken_event,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("2h", 7200), ("1d", 86400), ("90s", 90), ("90", 90), (" 45M ", 2700),
     (0, 0), ("0", 0), (600, 600)],
)  # fmt: skip
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_after(text) == seconds


@pytest.mark.parametrize("text", ["5x", "", "-3m", "1.5h", "3", "9999d", True])
def test_bad_durations(text: str | int) -> None:
    with pytest.raises(Invalid):
        parse_after(text)


def test_durations_read_back() -> None:
    assert [duration_text(s) for s in (1800, 5400, 90, 86400, 0.4)] == [
        "30m", "1h30m", "1m30s", "1d", "0s"
    ]  # fmt: skip
    assert asleep_event(1800.2) == "asleep after 30m idle"
    assert woken_event("a request", 0.4123) == "woken by a request (0.41 s)"


def desired(**changes: object) -> DesiredApp:
    base = DesiredApp("a", 3, "img", "image", "", {}, {"web": 2, "worker": 1}, {})
    return DesiredApp(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_asleep_types_run_no_replica_and_keep_the_structure() -> None:
    awake = desired()
    assert running_state(awake) is awake
    asleep = desired(asleep=("web",))
    assert running_state(asleep).structure == {"web": 0, "worker": 1}
    assert asleep.structure == {"web": 2, "worker": 1}
    everything = desired(asleep=("web", "worker"))
    assert running_state(everything).structure == {"web": 0, "worker": 0}


def test_which_types_sleep() -> None:
    structure = {"web": 2, "worker": 1, "clock": 0}
    assert sleeping_types(None, structure) == ()
    assert sleeping_types(SleepState("a", asleep=False), structure) == ()
    assert sleeping_types(SleepState("a", asleep=True), structure) == ("web",)
    all_types = SleepState("a", asleep=True, all_types=True)
    assert sleeping_types(all_types, structure) == ("web", "worker")


def test_who_may_sleep() -> None:
    web = {"web": 1}
    assert may_sleep(None, web, 0) == 0  # the platform's default: never
    assert may_sleep(None, web, 600) == 600
    assert may_sleep(SleepState("a", after=60), web, 600) == 60
    assert may_sleep(SleepState("a", after=0), web, 600) == 0  # never, whatever the default
    assert may_sleep(SleepState("a", after=60, asleep=True), web, 0) == 0  # already
    assert may_sleep(SleepState("a", after=60), {"worker": 1}, 0) == 0  # nothing wakes it
    assert wakes(SleepState("a", after=60), web, 0) and wakes(None, web, 60)
    assert not wakes(None, web, 0) and wakes(SleepState("a", asleep=True), web, 0)
    assert not wakes(SleepState("a", after=60), {"web": 0, "worker": 1}, 0)  # nothing serves


def test_idle_is_measured_from_the_last_change_of_the_count() -> None:
    first = observe(None, 10, now=100.0)
    assert first == Activity(10, 100.0)  # a first look counts as activity
    same = observe(first, 10, now=150.0)
    assert same.active_at == 100.0
    assert not should_sleep(same, 60, now=159.0) and should_sleep(same, 60, now=160.0)
    moved = observe(same, 11, now=170.0)
    assert moved.active_at == 170.0 and not should_sleep(moved, 60, now=200.0)
    assert not should_sleep(moved, 0, now=10_000.0)  # never


def test_a_users_setting() -> None:
    assert new_after("30m", False, None) == 1800
    assert new_after("never", False, 1800) == 0
    assert new_after(None, False, 1800) == 1800  # unchanged
    assert new_after("30m", True, 1800) is None  # back to the platform's default
    with pytest.raises(Invalid):
        new_after("soon", False, None)
    assert [describe_after(a) for a in (None, 0, 1800)] == ["default", "never", "1800s"]
