"""Engines for the store: URL normalisation and per-backend connection settings.

SQLite runs in WAL mode with foreign keys on and a 30 s busy timeout. SQLAlchemy emits
BEGIN itself (pysqlite's own transaction handling is switched off), and a connection
carrying the `WRITE` execution option begins with BEGIN IMMEDIATE, so writers queue on
the database lock instead of failing half-way through their transaction.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import StaticPool

WRITE = "deis_write"  # execution option: this connection's transaction will write
BUSY_TIMEOUT_S = 30
PG_POOL_SIZE = 10
PG_MAX_OVERFLOW = 20
SQLITE_POOL_SIZE = 5  # connections kept open when the caller says nothing of its threads
SQLITE_MAX_OVERFLOW = 30
# A pooled PostgreSQL connection idle this long is pinged before it is used again (as
# HikariCP's aliveBypassWindowMs): a ping on every checkout was two of a config write's
# thirteen round trips, and under load a round trip waits for a core and for the GIL.
PING_AFTER_IDLE_S = 1.0


def normalize_url(url: str) -> str:
    """Point PostgreSQL URLs at the psycopg 3 driver; leave others as they are."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(url: str) -> bool:
    return make_url(normalize_url(url)).get_backend_name() == "sqlite"


def sqlite_lock_path(url: str) -> Path | None:
    """The file the writers of a SQLite database file lock (None: a database in memory)."""
    if not is_sqlite(url):
        return None
    database = make_url(normalize_url(url)).database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).expanduser().with_name(Path(database).name + ".writers")


def json_loads(text: str | bytes) -> Any:
    """JSON columns, read by orjson (a tenth of json.loads' time); what it refuses and
    json.loads reads (NaN, a lone surrogate escape) still reads."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def make_engine(
    url: str, *, ping_after_idle_s: float = PING_AFTER_IDLE_S, threads: int = SQLITE_POOL_SIZE
) -> Engine:
    """`threads`: how many threads may use the engine at once. A SQLite pool keeps a
    connection open for each: one opened beyond the pool was closed again when given
    back, and the next one read the schema again (8 concurrent config writes in a
    process of 33 threads, with 5 kept: a quarter fewer writes a second). A PostgreSQL
    pool keeps PG_POOL_SIZE whatever the threads: each connection is a server process,
    shared by all of the platform's processes."""
    url = normalize_url(url)
    if is_sqlite(url):
        return _sqlite_engine(url, max(threads, 1))
    engine = create_engine(
        url,
        json_deserializer=json_loads,
        pool_size=PG_POOL_SIZE,
        max_overflow=PG_MAX_OVERFLOW,
        pool_recycle=1800,
    )
    _ping_when_idle(engine, ping_after_idle_s)
    return engine


IDLE_SINCE = "deis_idle_since"  # connection record info: time.monotonic() at checkin


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Ping a connection that sat in the pool `idle_s` or longer before handing it out;
    one that does not answer is replaced by a new one (the server restarted, a firewall
    dropped it). A connection used within `idle_s` is handed out as it is: if the server
    went away in between, that request fails and SQLAlchemy invalidates the whole pool."""

    def on_checkin(_dbapi: Any, record: Any) -> None:
        record.info[IDLE_SINCE] = time.monotonic()

    def on_checkout(dbapi: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop(IDLE_SINCE, None)
        if since is None or time.monotonic() - since < idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"pooled connection did not answer: {exc}") from exc

    event.listen(engine.pool, "checkin", on_checkin)
    event.listen(engine.pool, "checkout", on_checkout)


def _sqlite_engine(url: str, pool_size: int) -> Engine:
    parsed = make_url(url)
    database = parsed.database or ""
    memory = database in ("", ":memory:") or "mode=memory" in str(parsed)
    kwargs: dict[str, Any] = {
        "connect_args": {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        "json_deserializer": json_loads,
    }
    if memory:
        kwargs["poolclass"] = StaticPool
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.update(pool_size=pool_size, max_overflow=SQLITE_MAX_OVERFLOW)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN, see _sqlite_on_begin
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # Straight to the driver: through conn.exec_driver_sql (SQLAlchemy's whole statement
    # path, events and all) BEGIN cost a third of an empty transaction.
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")
