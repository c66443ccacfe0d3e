"""Databases for tests, migrated once per test process into a template and copied per
test: a SQLite file, and a fresh PostgreSQL database per test when DEIS_TEST_DATABASE_URL
points at a server (created and dropped here, named with a random id)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from deis.store.migrate import upgrade

POSTGRES_ENV = "DEIS_TEST_DATABASE_URL"
_templates: dict[str, str] = {}


def database_urls() -> list[object]:
    """Parameters for a fixture: 'sqlite' always, 'postgresql' when a server is given."""
    params: list[object] = ["sqlite"]
    if os.environ.get(POSTGRES_ENV):
        params.append(pytest.param("postgresql", marks=pytest.mark.postgres))
    return params


def server_url() -> str:
    """The PostgreSQL server's URL in libpq form (for psycopg)."""
    url = os.environ[POSTGRES_ENV]
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql://" + url[len(prefix) :]
    return url


def sqlalchemy_url(libpq_url: str, database: str) -> str:
    base, _, _ = libpq_url.rpartition("/")
    return f"{base}/{database}".replace("postgresql://", "postgresql+psycopg://", 1)


def _admin(statement: sql.Composable) -> None:
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(statement)


def _drop(name: str) -> None:
    _admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _sqlite_template() -> Path:
    if "sqlite" not in _templates:
        directory = tempfile.mkdtemp(prefix="deis-test-template-")
        atexit.register(shutil.rmtree, directory, True)
        path = Path(directory) / "template.db"
        upgrade(f"sqlite:///{path}")
        _templates["sqlite"] = str(path)
    return Path(_templates["sqlite"])


def _postgres_template() -> str:
    if "postgresql" not in _templates:
        name = f"deis_test_template_{uuid.uuid4().hex[:12]}"
        _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        atexit.register(_drop, name)
        upgrade(sqlalchemy_url(server_url(), name))
        _templates["postgresql"] = name
    return _templates["postgresql"]


@contextmanager
def fresh_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of that kind, private to one test."""
    if kind == "sqlite":
        path = tmp_path / "deis.db"
        shutil.copyfile(_sqlite_template(), path)
        yield f"sqlite:///{path}"
        return
    template = _postgres_template()
    name = f"deis_test_{uuid.uuid4().hex[:12]}"
    _admin(
        sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    )
    try:
        yield sqlalchemy_url(server_url(), name)
    finally:
        _drop(name)
