"""Fixtures of the store tests: a fresh database per test, SQLite always and PostgreSQL
when DEIS_TEST_DATABASE_URL names a server (a `deis_test_<random>` database is created
on it for the test and dropped afterwards, so parallel runs never collide)."""

from __future__ import annotations

import os
import shutil
import uuid as uuidlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from deis.domain.records import (
    TLS,
    App,
    AppSettings,
    Build,
    Certificate,
    Config,
    Domain,
    Key,
    Release,
    User,
)
from deis.store.migrate import upgrade
from deis.store.sqlalchemy_store import SqlStore, SqlUnitOfWork

PG_ENV = "DEIS_TEST_DATABASE_URL"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def backends() -> list[Any]:
    params: list[Any] = ["sqlite"]
    if os.environ.get(PG_ENV):
        params.append(pytest.param("postgresql", marks=pytest.mark.postgres))
    return params


def _server_dsn() -> str:
    """The server's URL as libpq takes it (without a SQLAlchemy driver name)."""
    url = make_url(os.environ[PG_ENV].replace("postgres://", "postgresql://", 1))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _create_database(name: str, template: str | None = None) -> str:
    server = _server_dsn()
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(statement)
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _drop_database(name: str) -> None:
    with psycopg.connect(_server_dsn(), autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))


@contextmanager
def postgres_database(template: str | None = None) -> Iterator[str]:
    """A `deis_test_<random>` database on the server, dropped afterwards."""
    name = f"deis_test_{uuidlib.uuid4().hex[:16]}"
    try:
        yield _create_database(name, template)
    finally:
        _drop_database(name)


@contextmanager
def empty_database(kind: str, directory: Path) -> Iterator[str]:
    """A new database that has nothing in it (not even the schema)."""
    if kind == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{directory / f'deis-{uuidlib.uuid4().hex[:8]}.db'}"


class Templates:
    """One migrated database per backend and session; tests get copies of it (fast)."""

    def __init__(self, stack: ExitStack, directory: Path) -> None:
        self.stack = stack
        self.directory = directory
        self.made: dict[str, str] = {}

    def template(self, kind: str) -> str:
        if kind not in self.made:
            url = self.stack.enter_context(empty_database(kind, self.directory))
            upgrade(url)
            self.made[kind] = url
        return self.made[kind]

    @contextmanager
    def copy(self, kind: str, directory: Path) -> Iterator[str]:
        template = make_url(self.template(kind)).database or ""
        if kind == "postgresql":
            with postgres_database(template=template) as url:
                yield url
        else:
            target = directory / f"deis-{uuidlib.uuid4().hex[:8]}.db"
            shutil.copyfile(template, target)
            yield f"sqlite:///{target}"


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    with ExitStack() as stack:
        yield Templates(stack, tmp_path_factory.mktemp("templates"))


@pytest.fixture(params=backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_database(backend: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes empty databases of the test's backend; all are dropped after the test."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(empty_database(backend, tmp_path))


@pytest.fixture
def database_url(backend: str, templates: Templates, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of the test's own."""
    with templates.copy(backend, tmp_path) as url:
        yield url


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    store = SqlStore(database_url)
    try:
        yield store
    finally:
        store.close()


class Factory:
    """Records with sensible defaults, added through a unit of work. Times increase."""

    def __init__(self) -> None:
        self.tick = 0

    def now(self) -> datetime:
        self.tick += 1
        return T0 + timedelta(seconds=self.tick)

    @staticmethod
    def uuid() -> str:
        return str(uuidlib.uuid4())

    def user(self, uow: SqlUnitOfWork, username: str = "alice", admin: bool = False) -> User:
        return uow.users.add(
            username=username,
            email=f"{username}@example.com",
            password_hash=f"hash-of-{username}",
            first_name=username.title(),
            last_name="Tester",
            is_superuser=admin,
            date_joined=self.now(),
        )

    def app(self, uow: SqlUnitOfWork, app_id: str = "web", owner: str = "alice") -> App:
        when = self.now()
        app = App(self.uuid(), app_id, owner, {"web": 1}, when, when)
        uow.apps.add(app)
        return app

    def build(self, uow: SqlUnitOfWork, app: str = "web", owner: str = "alice") -> Build:
        when = self.now()
        build = Build(
            self.uuid(), app, owner, f"registry/{app}:git-{self.tick}", f"{self.tick:040x}",
            {"web": "python app.py"}, "", when, when,
        )  # fmt: skip
        uow.builds.add(build)
        return build

    def config(
        self,
        uow: SqlUnitOfWork,
        app: str = "web",
        owner: str = "alice",
        values: dict[str, str] | None = None,
    ) -> Config:
        when = self.now()
        config = Config(
            self.uuid(), app, owner, values or {}, {"web": "512M"}, {"web": "500m"},
            {"disk": "ssd"}, {"username": "u"},
            {"web": {"livenessProbe": {"httpGet": {"path": "/", "port": 5000}}}},
            when, when,
        )  # fmt: skip
        uow.configs.add(config)
        return config

    def release(
        self,
        uow: SqlUnitOfWork,
        app: str = "web",
        version: int = 1,
        owner: str = "alice",
        build: Build | None = None,
        config: Config | None = None,
    ) -> Release:
        config = config or self.config(uow, app, owner)
        when = self.now()
        release = Release(
            self.uuid(), app, owner, version, build.uuid if build else None, config.uuid,
            f"{owner} created release v{version}", False, when, when,
        )  # fmt: skip
        uow.releases.add(release)
        return release

    def key(
        self, uow: SqlUnitOfWork, owner: str = "alice", key_id: str = "laptop", n: int = 0
    ) -> Key:
        when = self.now()
        key = Key(
            self.uuid(), key_id, owner, f"ssh-ed25519 AAAA{owner}{key_id}{n} {owner}@host",
            ":".join(f"{(n + i) % 256:02x}" for i in range(16)) + f"-{owner}-{key_id}",
            f"SHA256:{owner}{key_id}{n}", when, when,
        )  # fmt: skip
        uow.keys.add(key)
        return key

    def domain(
        self, uow: SqlUnitOfWork, domain: str, app: str = "web", owner: str = "alice"
    ) -> Domain:
        when = self.now()
        record = Domain(self.uuid(), app, owner, domain, when, when)
        uow.domains.add(record)
        return record

    def cert(
        self,
        uow: SqlUnitOfWork,
        name: str = "www-example-com",
        owner: str = "alice",
        domains: list[str] | None = None,
    ) -> Certificate:
        when = self.now()
        cert = Certificate(
            uuid=self.uuid(), name=name, owner=owner,
            certificate="-----BEGIN CERTIFICATE-----\n...", key="-----BEGIN PRIVATE KEY-----",
            common_name="www.example.com", san=["www.example.com", "example.com"],
            fingerprint="AB:CD", expires=when + timedelta(days=90), starts=when,
            issuer="/CN=Test CA", subject="/CN=www.example.com", domains=domains or [],
            created=when, updated=when,
        )  # fmt: skip
        uow.certs.add(cert)
        return cert

    def settings(
        self, uow: SqlUnitOfWork, app: str = "web", maintenance: bool = False
    ) -> AppSettings:
        when = self.now()
        settings = AppSettings(
            self.uuid(), app, "alice", maintenance, True, ["10.0.0.0/8"],
            {"web": {"min": 1, "max": 3, "cpu_percent": 80}}, {"team": "a"}, when, when,
        )  # fmt: skip
        uow.settings.add(settings)
        return settings

    def tls(self, uow: SqlUnitOfWork, app: str = "web", enforced: bool = True) -> TLS:
        when = self.now()
        tls = TLS(self.uuid(), app, "alice", enforced, when, when)
        uow.tls.add(tls)
        return tls


@pytest.fixture
def make() -> Factory:
    return Factory()
