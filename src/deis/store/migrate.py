"""Schema migrations, run from code: no alembic.ini is needed at run time.

`upgrade(url)` brings a database to the newest schema (or to a given revision);
`current(url)` tells its revision ("0001"), None for a database never migrated;
`head()` is the newest revision this code knows.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from deis.store.engine import WRITE, make_engine, normalize_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        # configparser interpolation: a literal % (in a password) is written %%.
        config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (the newest by default)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execution_options(**{WRITE: True})
            config = alembic_config(url)
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            if conn.in_transaction():
                conn.commit()
    finally:
        engine.dispose()


def current(url: str) -> str | None:
    """The database's revision; None when it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
