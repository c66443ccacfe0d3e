"""The Store port on SQLAlchemy: SQLite (WAL) by default, PostgreSQL (psycopg 3) in production.

    store = SqlStore("sqlite:////var/lib/deis/deis.db")
    with store.transaction(write=True) as uow:
        app = uow.apps.lock("web")
        ...

A transaction is one database transaction on one connection: committed when the block
ends without an error, rolled back otherwise. Write transactions begin with BEGIN
IMMEDIATE on SQLite, so writers queue; on PostgreSQL `apps.lock` is SELECT ... FOR UPDATE.
The schema comes from the migrations (`deis.store.migrate.upgrade`), never from here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import Connection, Engine

from deis import ports
from deis.store import repos
from deis.store.engine import WRITE, is_sqlite, make_engine, normalize_url


class SqlUnitOfWork:
    """The repositories of one transaction (implements `deis.ports.UnitOfWork`)."""

    def __init__(self, conn: Connection) -> None:
        ids: dict[str, int] = {}  # users.id by username, looked up once per transaction
        self.users: ports.Users = repos.SqlUsers(conn, ids)
        self.tokens: ports.Tokens = repos.SqlTokens(conn, ids)
        self.login_failures: ports.LoginFailures = repos.SqlLoginFailures(conn, ids)
        self.apps: ports.Apps = repos.SqlApps(conn, ids)
        self.perms: ports.Perms = repos.SqlPerms(conn, ids)
        self.builds: ports.Builds = repos.SqlBuilds(conn, ids)
        self.configs: ports.Configs = repos.SqlConfigs(conn, ids)
        self.releases: ports.Releases = repos.SqlReleases(conn, ids)
        self.keys: ports.Keys = repos.SqlKeys(conn, ids)
        self.domains: ports.Domains = repos.SqlDomains(conn, ids)
        self.certs: ports.Certificates = repos.SqlCertificates(conn, ids)
        self.settings: ports.Settings = repos.SqlSettings(conn, ids)
        self.tls: ports.TLSSettings = repos.SqlTLS(conn, ids)


class SqlStore:
    """Implements `deis.ports.Store`."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.engine: Engine = make_engine(self.url)
        # SQLite has one writer at a time. Writers of this process queue on this lock
        # instead of polling SQLite's busy handler, whose growing sleeps made the slowest
        # of many concurrent writes wait seconds. Other processes still rely on it.
        self._writers = threading.RLock() if is_sqlite(self.url) else None

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[SqlUnitOfWork]:
        queue = self._writers if write and self._writers is not None else nullcontext()
        with queue, self.engine.connect() as conn:
            if write:
                conn.execution_options(**{WRITE: True})
            with conn.begin():
                yield SqlUnitOfWork(conn)

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1").scalar()

    def close(self) -> None:
        self.engine.dispose()


def _implements_store(store: SqlStore) -> ports.Store:
    """For the type checker: SqlStore and its unit of work implement the port."""
    return store
