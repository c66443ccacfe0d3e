from __future__ import annotations

import threading

from deis.periodic import Periodic


def test_a_failing_pass_is_logged_and_the_loop_goes_on(caplog):
    passes: list[int] = []
    third = threading.Event()

    def run_once() -> None:
        passes.append(len(passes))
        if len(passes) >= 3:
            third.set()
        if len(passes) == 1:
            raise RuntimeError("the first pass breaks")

    loop = Periodic("test-loop", run_once, 0.01)
    loop.start()
    try:
        assert third.wait(10)
    finally:
        loop.stop()
    assert "test-loop: a pass failed" in caplog.text
    assert "the first pass breaks" in caplog.text


def test_stop_waits_for_the_pass_then_runs_on_exit_once():
    events: list[str] = []
    entered = threading.Event()

    def run_once() -> None:
        events.append("pass")
        entered.set()

    loop = Periodic("test-loop", run_once, 30.0, on_exit=lambda: events.append("exit"))
    loop.start()
    loop.start()  # already running: no second thread
    assert entered.wait(10)
    assert loop.running
    loop.stop()
    assert not loop.running
    assert events == ["pass", "exit"]


def test_it_can_be_started_again_after_a_stop():
    count = threading.Semaphore(0)
    loop = Periodic("test-loop", count.release, 30.0)
    loop.start()
    assert count.acquire(timeout=10)
    loop.stop()
    loop.start()
    assert count.acquire(timeout=10)
    loop.stop()
