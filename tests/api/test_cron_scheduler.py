"""The scheduler with a clock of the test's and a runtime whose runs last until released:
a run still going when its job is due again is skipped (and logged), never doubled; a
missed run is caught up at start only within the window."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from deis.domain.desired import DesiredApp, RunResult
from deis.platform.cron import CronLoop
from tests.api.conftest import Api, User


class SlowRuntime:
    """Delegates to the real (record) runtime, but `run` lasts until `release`."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.released = threading.Event()
        self.runs: list[tuple[str, str, float | None]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def run(self, desired: DesiredApp, command: str, timeout: float | None = None) -> RunResult:
        self.runs.append((desired.app, command, timeout))
        self.released.wait(10)
        return RunResult(0, "done\n")


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, app_id: str, source: str, message: str, *, by_app: bool = False) -> None:
        self.lines.append(f"{app_id if by_app else 'deis'}[{source}]: {message}")

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


def scheduler(
    api: Api, now: list[datetime], catch_up: float = 0
) -> tuple[CronLoop, SlowRuntime, Lines]:
    context = api.client.app.state.context  # type: ignore[attr-defined]
    runtime, logs = SlowRuntime(context.runtime), Lines()
    loop = CronLoop(clock=lambda: now[0], catch_up=catch_up)
    loop.context = replace(context, runtime=runtime, logs=logs)  # type: ignore[arg-type]
    loop._looked_until = now[0] - timedelta(seconds=catch_up)
    return loop, runtime, logs


def test_an_overlong_run_is_skipped_not_doubled(api: Api, alice: User) -> None:
    alice.create_app("slow")
    alice.post("/v2/apps/slow/builds/", {"image": "example/app:1"})
    job = {"name": "tick", "schedule": "* * * * *", "command": "sleep 90", "timeout": 100}
    assert alice.post("/v2/apps/slow/cron/", job).status_code == 201
    now = [datetime(2026, 12, 6, 10, 0, 30, tzinfo=UTC)]
    loop, runtime, logs = scheduler(api, now)
    now[0] += timedelta(minutes=1)
    loop.look()  # 10:01 is due: the run starts and lasts
    now[0] += timedelta(minutes=1)
    loop.look()  # 10:02 is due while it runs: skipped
    runtime.released.set()
    loop.wait_idle(10)
    assert [(app, command) for app, command, _ in runtime.runs] == [("slow", "sleep 90")]
    assert runtime.runs[0][2] == 100  # the job's own timeout
    assert "deis[cron.tick]: started (schedule): sleep 90" in logs.lines
    assert any("skipped: the previous run is still going" in line for line in logs.lines)
    assert "slow[cron.tick]: done" in logs.lines
    assert any(line.startswith("deis[cron.tick]: exited 0 after") for line in logs.lines)
    last = alice.get("/v2/apps/slow/cron/tick").json()["last_run"]
    assert last["exit_code"] == 0 and last["trigger"] == "schedule"


def test_a_missed_run_is_caught_up_only_within_the_window(api: Api, alice: User) -> None:
    alice.create_app("late")
    alice.post("/v2/apps/late/builds/", {"image": "example/app:1"})
    alice.post("/v2/apps/late/cron/", {"name": "nightly", "schedule": "0 3 * * *", "command": "x"})
    at_3_05 = datetime(2026, 12, 6, 3, 5, 0, tzinfo=UTC)
    without, runtime, _ = scheduler(api, [at_3_05])  # default: no catch-up
    runtime.released.set()
    without.look()
    without.wait_idle(10)
    assert runtime.runs == []
    within, runtime, _ = scheduler(api, [at_3_05], catch_up=600)  # 10 minutes
    runtime.released.set()
    within.look()
    within.wait_idle(10)
    assert [command for _, command, _ in runtime.runs] == ["x"]
