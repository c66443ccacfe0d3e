"""The Store port on SQLAlchemy: SQLite (WAL) by default, PostgreSQL (psycopg 3) in production.

    store = SqlStore("sqlite:////var/lib/deis/deis.db")
    with store.transaction(write=True) as uow:
        app = uow.apps.lock("web")
        ...

A transaction is one database transaction on one connection: committed when the block
ends without an error, rolled back otherwise. Write transactions begin with BEGIN
IMMEDIATE on SQLite, so writers queue; on PostgreSQL `apps.lock` is SELECT ... FOR UPDATE.
On PostgreSQL a read transaction runs its statements in autocommit: under READ COMMITTED
each statement of a transaction sees its own snapshot anyway, so BEGIN and COMMIT only
cost two round trips.
The schema comes from the migrations (`deis.store.migrate.upgrade`), never from here.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import Connection, Engine

from deis import ports
from deis.store import repos
from deis.store.engine import (
    SQLITE_POOL_SIZE,
    WRITE,
    is_sqlite,
    make_engine,
    normalize_url,
    sqlite_lock_path,
)


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
        self.cron_runs: ports.CronRuns = repos.SqlCronRuns(conn, ids)
        self.acme: ports.AcmeStates = repos.SqlAcme(conn, ids)
        self.sleep: ports.SleepStates = repos.SqlSleep(conn, ids)
        self.addons: ports.Addons = repos.SqlAddons(conn, ids)
        self.addon_schedules: ports.AddonSchedules = repos.SqlAddonSchedules(conn, ids)


class WriterLock:
    """Held by one writer of the database at a time, across threads and, when the
    database is a file, across processes (`flock` on `path`). Re-entrant in a thread."""

    def __init__(self, path: Path | None) -> None:
        self._thread = threading.RLock()
        self._path = path
        self._fd: int | None = None
        self._pid = 0
        self._depth = 0

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # opened again after a fork
            assert self._path is not None
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def __enter__(self) -> None:
        self._thread.acquire()
        try:
            if self._depth == 0 and self._path is not None:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._thread.release()
            raise
        self._depth += 1

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread.release()

    def close(self) -> None:
        with self._thread:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None


class _Kept:
    """A read transaction that outlives its first block (`transaction(keep=True)`)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        try:
            self.txn = conn.begin()
        except BaseException:
            conn.close()
            raise
        self.uow = SqlUnitOfWork(conn)

    @contextmanager
    def ending(self, *, keep: bool = False) -> Iterator[None]:
        """Commits and closes when the block ends (unless `keep`); rolls back on error."""
        try:
            yield
        except BaseException:
            self.end(commit=False)
            raise
        if not keep:
            self.end()

    def end(self, *, commit: bool = True) -> None:
        try:
            if commit:
                self.txn.commit()
            else:
                self.txn.rollback()
        finally:
            self.conn.close()


class SqlStore:
    """Implements `deis.ports.Store`."""

    def __init__(self, url: str, *, threads: int = SQLITE_POOL_SIZE) -> None:
        """`threads`: how many threads may use the store at once (see make_engine)."""
        self.url = normalize_url(url)
        self.engine: Engine = make_engine(self.url, threads=threads)
        self._reads: Engine = (
            self.engine
            if is_sqlite(self.url)  # a read transaction is one snapshot: keep BEGIN
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        # SQLite has one writer at a time. Writers queue on this lock instead of polling
        # SQLite's busy handler, whose growing sleeps made the slowest of many concurrent
        # writes wait seconds: the writers of this process on a thread lock, those of all
        # processes (API workers, deisctl) on a file lock beside the database.
        self._writers: WriterLock | None = None
        if is_sqlite(self.url):
            self._writers = WriterLock(sqlite_lock_path(self.url))
        self._kept = threading.local()  # .transaction: this thread's kept read, or None

    @contextmanager
    def transaction(self, *, write: bool = False, keep: bool = False) -> Iterator[SqlUnitOfWork]:
        kept = self._take_kept()
        if kept is not None and write:
            kept.end()
            kept = None
        if kept is not None:
            with kept.ending():
                yield kept.uow
            return
        if keep and not write:
            opened = _Kept(self._reads.connect())
            with opened.ending(keep=True):
                yield opened.uow
            self._kept.transaction = opened
            return
        queue = self._writers if write and self._writers is not None else nullcontext()
        with queue, (self.engine if write else self._reads).connect() as conn:
            if write:
                conn.execution_options(**{WRITE: True})
            with conn.begin():
                yield SqlUnitOfWork(conn)

    def _take_kept(self) -> _Kept | None:
        kept: _Kept | None = getattr(self._kept, "transaction", None)
        self._kept.transaction = None
        return kept

    def release(self) -> None:
        kept = self._take_kept()
        if kept is not None:
            kept.end()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1").scalar()

    def close(self) -> None:
        self.engine.dispose()
        if self._writers is not None:
            self._writers.close()


def _implements_store(store: SqlStore) -> ports.Store:
    """For the type checker: SqlStore and its unit of work implement the port."""
    return store
