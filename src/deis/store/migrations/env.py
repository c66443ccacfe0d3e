"""Alembic environment of the store.

`deis.store.migrate` passes an open connection in `config.attributes["connection"]`;
the `alembic` command line works too, with `-x url=...` or `sqlalchemy.url` set.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from deis.store.engine import WRITE, make_engine
from deis.store.models import metadata

# Any constant: concurrent upgrades of one PostgreSQL database wait for each other.
PG_MIGRATION_LOCK = 0x6465697


def _configure(**kwargs: object) -> None:
    context.configure(target_metadata=metadata, compare_type=True, **kwargs)  # type: ignore[arg-type]


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    return url or context.config.get_main_option("sqlalchemy.url") or ""


def run_offline() -> None:
    _configure(url=_url(), literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_on(connection: Connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})")
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as conn:
            conn.execution_options(**{WRITE: True})
            run_on(conn)
            if conn.in_transaction():
                conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
