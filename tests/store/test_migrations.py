"""The migrations build exactly the schema of the models."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from deis.store.engine import make_engine
from deis.store.migrate import current, head, upgrade
from deis.store.models import metadata


def test_upgrade_builds_the_schema_of_the_models(new_database: Callable[[], str]) -> None:
    url = new_database()
    assert current(url) is None
    upgrade(url)
    assert current(url) == head() == "0007"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert tables == set(metadata.tables) | {"alembic_version"}


def test_upgrade_twice_changes_nothing(new_database: Callable[[], str]) -> None:
    url = new_database()
    upgrade(url)
    upgrade(url)
    assert current(url) == head()


def test_comparison_notices_a_difference(new_database: Callable[[], str]) -> None:
    """The check above would catch a migration that drifts from the models."""
    url = new_database()
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP INDEX ix_keys_fingerprint")
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert [d[0] for d in diff] == ["add_index"]


def test_sqlite_file_and_directory_are_created(tmp_path_factory: pytest.TempPathFactory) -> None:
    directory = tmp_path_factory.mktemp("state") / "nested" / "dir"
    url = f"sqlite:///{directory / 'deis.db'}"
    upgrade(url)
    assert (directory / "deis.db").exists()
    assert current(url) == head()
