"""Units of work: commit and rollback, writers serialized, lists in constant queries."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from deis.store.engine import normalize_url
from deis.store.sqlalchemy_store import SqlStore
from tests.store.conftest import Factory


def test_block_without_error_commits(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        make.user(uow, "alice")
    with store.transaction() as uow:
        assert uow.users.get("alice") is not None


def test_block_with_error_rolls_back(store: SqlStore, make: Factory) -> None:
    with pytest.raises(RuntimeError), store.transaction(write=True) as uow:
        make.user(uow, "alice")
        raise RuntimeError("boom")
    with store.transaction() as uow:
        assert uow.users.get("alice") is None


def test_a_kept_read_is_continued_by_the_next_read_of_its_thread(
    store: SqlStore, make: Factory
) -> None:
    with store.transaction(keep=True) as kept:
        kept.users.count()
    elsewhere: list[object] = []

    def read_elsewhere() -> None:
        with store.transaction() as uow:
            elsewhere.append(uow)

    other = threading.Thread(target=read_elsewhere)
    other.start()
    other.join()
    assert elsewhere[0] is not kept  # another thread's transaction is its own
    with store.transaction() as continued:
        assert continued is kept
    with store.transaction() as after:
        assert after is not kept  # continued once, then ended
    store.release()  # nothing kept: nothing to do


def test_a_kept_read_ends_before_a_write_and_at_release(store: SqlStore, make: Factory) -> None:
    with store.transaction(keep=True) as kept:
        pass
    with store.transaction(write=True) as uow:
        assert uow is not kept
        make.user(uow, "alice")
    with store.transaction() as uow:
        assert uow is not kept
        assert uow.users.get("alice") is not None  # a new snapshot sees the write
    with store.transaction(keep=True) as kept:
        pass
    store.release()
    with store.transaction() as uow:
        assert uow is not kept
    with store.transaction(keep=True):
        pass
    with pytest.raises(RuntimeError), store.transaction():
        raise RuntimeError("rolled back")
    assert store.engine.pool.checkedout() == 0


def test_ping_and_close(database_url: str) -> None:
    store = SqlStore(database_url)
    store.ping()
    store.close()


def test_ping_raises_when_the_database_cannot_answer(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path}")  # a directory is no database
    with pytest.raises(OperationalError):
        store.ping()
    store.close()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql://u:p@h:5433/db", "postgresql+psycopg://u:p@h:5433/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_postgres_urls_use_psycopg(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


def test_sqlite_settings(store: SqlStore) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_sqlite_write_transactions_begin_immediate(store: SqlStore) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    statements: list[str] = []

    def trace(dbapi_connection: Any, _record: Any) -> None:
        # BEGIN goes straight to the driver, past SQLAlchemy's statement events.
        dbapi_connection.set_trace_callback(statements.append)

    store.engine.dispose()  # the next connections are new, and traced
    event.listen(store.engine, "connect", trace)
    try:
        with store.transaction(write=True) as uow:
            uow.users.count()
        with store.transaction() as uow:
            uow.users.count()
    finally:
        event.remove(store.engine, "connect", trace)
    begins = [s for s in statements if s.startswith("BEGIN")]
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]


@contextmanager
def count_statements(store: SqlStore) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.strip())

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def queries_to_list(store: SqlStore, call: Any) -> int:
    with count_statements(store) as statements, store.transaction() as uow:
        call(uow)
    return len([s for s in statements if s.upper().startswith("SELECT")])


def test_lists_take_a_constant_number_of_queries(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        for name in ("alice", "bob"):
            make.user(uow, name)
        for i in range(100):
            app_id = f"app-{i:03d}"
            make.app(uow, app_id, "alice" if i % 2 else "bob")
            make.domain(uow, f"{app_id}.example.com", app_id)
            make.cert(uow, f"cert-{i:03d}", domains=[f"{app_id}.example.com"])
            make.build(uow, "app-000")
            make.key(uow, "alice", f"key-{i}")
        uow.perms.add("app-000", "alice")

    def apps(limit: int) -> Any:
        return lambda uow: uow.apps.list(0, limit, visible_to="alice")

    assert queries_to_list(store, apps(100)) == queries_to_list(store, apps(1)) <= 3
    assert queries_to_list(store, lambda uow: uow.apps.list(0, 100)) <= 2
    assert queries_to_list(store, lambda uow: uow.certs.list(0, 100)) <= 3
    assert queries_to_list(store, lambda uow: uow.builds.list("app-000", 0, 100)) <= 2
    assert queries_to_list(store, lambda uow: uow.keys.list("alice", 0, 100)) <= 2
    assert queries_to_list(store, lambda uow: uow.keys.of_users(["alice"])) <= 1
    with store.transaction() as uow:
        assert len(uow.apps.list(0, 100)[0]) == 100
        assert len(uow.certs.list(0, 100)[0]) == 100
        assert all(len(c.domains) == 1 for c in uow.certs.list(0, 100)[0])


def test_concurrent_writers_make_consecutive_versions(store: SqlStore, make: Factory) -> None:
    """20 writers lock the app, read the latest version and add the next: no duplicates."""
    with store.transaction(write=True) as uow:
        make.user(uow, "alice")
        make.app(uow, "web")
        v1 = make.release(uow, "web", 1)
    errors: list[BaseException] = []
    start = threading.Barrier(20)

    def writer() -> None:
        try:
            start.wait()
            with store.transaction(write=True) as uow:
                assert uow.apps.lock("web") is not None
                latest = uow.releases.latest("web")
                assert latest is not None
                uow.releases.add(replace(v1, uuid=make.uuid(), version=latest.version + 1))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with store.transaction() as uow:
        releases, total = uow.releases.list("web", 0, 100)
    assert total == 21
    assert sorted(r.version for r in releases) == list(range(1, 22))


def transaction_ids(uow: Any) -> tuple[int, int]:
    """The server transaction of two statements in a row (PostgreSQL)."""
    conn = uow.users.conn
    first = conn.exec_driver_sql("SELECT txid_current()").scalar_one()
    second = conn.exec_driver_sql("SELECT txid_current()").scalar_one()
    return int(first), int(second)


def test_postgres_reads_run_in_autocommit_and_writes_in_one_transaction(
    store: SqlStore,
) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    with store.transaction() as uow:
        first, second = transaction_ids(uow)
        assert first != second  # each statement its own: no BEGIN, no COMMIT
    with store.transaction(keep=True) as uow:
        first, second = transaction_ids(uow)
        assert first != second
    store.release()
    with store.transaction(write=True) as uow:
        first, second = transaction_ids(uow)
        assert first == second
    with store.transaction() as uow:  # the connection went back as it came
        first, second = transaction_ids(uow)
        assert first != second
