"""SQLite engines: a connection kept open for each thread that may use the engine."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from deis.store.engine import make_engine


def connections_opened(engine: Engine) -> list[Any]:
    opened: list[Any] = []
    event.listen(engine, "connect", lambda dbapi, _record: opened.append(dbapi))
    return opened


def use_at_once(engine: Engine, threads: int) -> None:
    """`threads` threads each holding a connection at the same moment."""
    together = threading.Barrier(threads)
    failures: list[BaseException] = []

    def use() -> None:
        try:
            with engine.connect() as conn:
                together.wait(timeout=10)
                conn.exec_driver_sql("SELECT 1")
        except BaseException as exc:  # reported by the test, in its own thread
            failures.append(exc)

    running = [threading.Thread(target=use) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join(timeout=30)
    assert not failures


@pytest.mark.parametrize(
    ("threads", "at_once", "opened_in_two_rounds"),
    [
        (12, 12, 12),  # the second round opens none
        (2, 6, 2 + 4 + 4),  # the 2 kept; the 4 more opened, and closed, each round
    ],
)
def test_the_connections_kept_open_are_one_for_each_thread(
    tmp_path: Path, threads: int, at_once: int, opened_in_two_rounds: int
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'deis.db'}", threads=threads)
    try:
        opened = connections_opened(engine)
        use_at_once(engine, at_once)
        use_at_once(engine, at_once)
        assert len(opened) == opened_in_two_rounds
    finally:
        engine.dispose()
