"""PostgreSQL engines: a pooled connection idle past the window is pinged before use."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from deis.store.engine import make_engine
from tests.store.conftest import PG_ENV, _server_dsn

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} is not set"),
]


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def terminate(pid: int) -> None:
    """End a server backend, as a server restart would, and wait until it is gone."""
    with psycopg.connect(_server_dsn(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            assert time.monotonic() < deadline, f"backend {pid} did not end"
            time.sleep(0.02)


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    made: list[Engine] = []
    yield made
    for engine in made:
        engine.dispose()


def test_a_dead_connection_idle_past_the_window_is_replaced_before_use(
    engines: list[Engine],
) -> None:
    engine = make_engine(_server_dsn(), ping_after_idle_s=0.0)
    engines.append(engine)
    first = backend_pid(engine)
    terminate(first)
    assert backend_pid(engine) != first  # pinged, found dead, replaced: no error


def test_a_connection_used_within_the_window_is_not_pinged(engines: list[Engine]) -> None:
    engine = make_engine(_server_dsn(), ping_after_idle_s=3600.0)
    engines.append(engine)
    first = backend_pid(engine)
    terminate(first)
    with pytest.raises(OperationalError), engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert backend_pid(engine) != first  # the failure invalidated the pool
