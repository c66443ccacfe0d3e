"""Backup and restore of the store as plain JSON-able data (`deisctl backup/restore`).

    data = dump("sqlite:////var/lib/deis/deis.db")
    load("postgresql://deis@db/deis", data)   # an empty database

The data holds a format version, the schema revision and every table's rows in
dependency order (parents before children), so it moves between SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Table, func, select, text

from deis.store import migrate
from deis.store.engine import WRITE, make_engine
from deis.store.models import UTCDateTime, metadata

FORMAT = "deis-store-dump"
FORMAT_VERSION = 1


class DumpError(ValueError):
    """The data cannot be loaded into this database."""


def dump(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":  # one snapshot for every table
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                revision = MigrationContext.configure(conn).get_current_revision()
                tables = {table.name: _rows(conn, table) for table in metadata.sorted_tables}
    finally:
        engine.dispose()
    return {"format": FORMAT, "version": FORMAT_VERSION, "revision": revision, "tables": tables}


def load(url: str, data: dict[str, Any]) -> None:
    """Load `data` into an empty database at the dump's schema revision.

    A database that was never migrated is first migrated to the dump's revision; after
    the load it is brought to the newest schema.
    """
    _check_format(data)
    revision = data.get("revision")
    current = migrate.current(url)
    if current is None and revision is not None:
        migrate.upgrade(url, revision)
    elif current != revision:
        raise DumpError(
            f"the dump is at schema revision {revision}, the database at {current}:"
            " restore into an empty database"
        )
    _load_rows(url, data["tables"])
    migrate.upgrade(url)


def _check_format(data: dict[str, Any]) -> None:
    if data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
        raise DumpError(f"not a {FORMAT} of version {FORMAT_VERSION}")
    unknown = set(data.get("tables", {})) - set(metadata.tables)
    if unknown:
        raise DumpError(f"unknown tables in the dump: {', '.join(sorted(unknown))}")


def _load_rows(url: str, tables: dict[str, list[dict[str, Any]]]) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execution_options(**{WRITE: True})
            with conn.begin():
                _require_empty(conn)
                for table in metadata.sorted_tables:
                    rows = [_from_json(table, row) for row in tables.get(table.name, [])]
                    if rows:
                        conn.execute(table.insert(), rows)
                _reset_sequences(conn)
    finally:
        engine.dispose()


def _rows(conn: Connection, table: Table) -> list[dict[str, Any]]:
    stmt = select(table).order_by(*table.primary_key.columns)
    return [_to_json(dict(row._mapping)) for row in conn.execute(stmt)]


def _to_json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _from_json(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    unknown = set(row) - set(table.columns.keys())
    if unknown:
        raise DumpError(f"unknown columns in {table.name}: {', '.join(sorted(unknown))}")
    values = dict(row)
    for column in table.columns:
        value = values.get(column.name)
        if isinstance(column.type, UTCDateTime) and isinstance(value, str):
            values[column.name] = datetime.fromisoformat(value)
    return values


def _require_empty(conn: Connection) -> None:
    for table in metadata.sorted_tables:
        if conn.scalar(select(func.count()).select_from(table)):
            raise DumpError(f"the database is not empty (table {table.name} has rows)")


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: the next user gets an id above every loaded one."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(
        text(
            "SELECT setval(pg_get_serial_sequence('users', 'id'),"
            " COALESCE((SELECT MAX(id) FROM users), 0) + 1, false)"
        )
    )
