"""The stack builder's helpers: commands are stopped at their timeout, the lock is exclusive."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from deis.stack import build


def test_run_stops_a_silent_command_at_its_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(build.StackError, match="timed out"):
        build._run(["sleep", "30"], 0.5, lambda _: None, "sleeping")
    assert time.monotonic() - started < 10


def test_run_reports_the_tail_of_a_failure() -> None:
    with pytest.raises(build.StackError, match="boom"):
        build._run(["sh", "-c", "echo boom; exit 3"], 30, lambda _: None, "failing")


def test_the_lock_is_exclusive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "STACK_LOCK", tmp_path / "stack.lock")
    order: list[str] = []

    def second() -> None:
        with build._locked():
            order.append("second")

    with build._locked():
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(1.5)
        order.append("first")
    thread.join(timeout=10)
    assert order == ["first", "second"]
