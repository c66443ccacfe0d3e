"""Backups: dump() and load() move every row between SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from deis.domain.acme import AcmeDomain
from deis.domain.addons import Addon, Attachment
from deis.domain.backup_schedules import BackupSchedule
from deis.domain.cron import Run as CronRun
from deis.domain.sleep import SleepState
from deis.store.dump import FORMAT, DumpError, dump, load
from deis.store.migrate import current, head, upgrade
from deis.store.models import metadata
from deis.store.sqlalchemy_store import SqlStore
from tests.store.conftest import Factory, backends, empty_database


def fill(url: str, make: Factory) -> None:
    """One of every kind of row."""
    store = SqlStore(url)
    try:
        with store.transaction(write=True) as uow:
            alice = make.user(uow, "alice", admin=True)
            make.user(uow, "bob")
            make.user(uow, "carol")
            uow.tokens.add(alice.id, "digest", make.now())
            uow.login_failures.add("bob", "10.0.0.1", make.now())
            make.app(uow, "web")
            uow.perms.add("web", "carol")
            build = make.build(uow, "web", owner="bob")
            make.release(uow, "web", 1)
            make.release(uow, "web", 2, build=build)
            make.key(uow, "alice", "laptop")
            make.domain(uow, "www.example.com")
            make.cert(uow, "www", domains=["www.example.com"])
            make.settings(uow, "web")
            make.tls(uow, "web")
            started = make.now()
            uow.cron_runs.record(CronRun("web", "backup", started, "schedule", started, 0))
            uow.acme.enable("web", started)
            uow.acme.save(AcmeDomain("www.example.com", "web", "www", "", started, None, 0))
            uow.sleep.save(SleepState("web", after=1800, asleep=True, since=started))
            addon = Addon(
                "postgres-calm-0001",
                "postgres",
                "mini",
                "web",
                "alice",
                "pw",
                25000,
                started,
                started,
            )
            uow.addons.add(addon)
            uow.addons.attach(Attachment(addon.name, "web", "DATABASE_URL", started))
            schedule = BackupSchedule(addon.name, "02:00", "Europe/Paris", 7, started, started)
            uow.addon_schedules.save(schedule)
            uow.users.delete("bob")  # rows whose owner is gone (NULL) travel too
    finally:
        store.close()


@pytest.fixture(params=backends())
def other_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend to restore into."""
    with empty_database(str(request.param), tmp_path) as url:
        yield url


def test_dump_is_json_in_dependency_order(database_url: str, make: Factory) -> None:
    fill(database_url, make)
    data = dump(database_url)
    assert json.loads(json.dumps(data)) == data
    assert (data["format"], data["version"], data["revision"]) == (FORMAT, 1, head())
    assert list(data["tables"]) == [t.name for t in metadata.sorted_tables]
    assert list(data["tables"]).index("apps") < list(data["tables"]).index("releases")
    assert all(data["tables"][name] for name in data["tables"])  # every table has rows


def test_round_trip_between_backends(
    database_url: str, other_url: str, tmp_path: Path, make: Factory
) -> None:
    fill(database_url, make)
    data = json.loads(json.dumps(dump(database_url)))
    upgrade(other_url)
    load(other_url, data)
    assert dump(other_url) == data
    assert current(other_url) == head()
    # and back, into a database that was never migrated
    with empty_database(backend_of(database_url), tmp_path) as third:
        load(third, data)
        assert dump(third) == data


def test_loaded_records_read_back_the_same(
    database_url: str, other_url: str, make: Factory
) -> None:
    fill(database_url, make)
    load(other_url, dump(database_url))
    before, after = SqlStore(database_url), SqlStore(other_url)
    try:
        assert read_all(before) == read_all(after)
    finally:
        before.close()
        after.close()


def test_new_users_get_new_ids_after_a_load(
    database_url: str, other_url: str, make: Factory
) -> None:
    fill(database_url, make)
    data = dump(database_url)
    load(other_url, data)
    highest = max(row["id"] for row in data["tables"]["users"])
    store = SqlStore(other_url)
    try:
        with store.transaction(write=True) as uow:
            dave = make.user(uow, "dave")
    finally:
        store.close()
    assert dave.id > highest


def test_load_refuses_a_database_with_rows(database_url: str, make: Factory) -> None:
    fill(database_url, make)
    with pytest.raises(DumpError, match="not empty"):
        load(database_url, dump(database_url))


def test_load_refuses_other_data(database_url: str) -> None:
    data = dump(database_url)
    with pytest.raises(DumpError):
        load(database_url, {**data, "format": "something else"})
    with pytest.raises(DumpError):
        load(database_url, {**data, "tables": {"nope": []}})
    with pytest.raises(DumpError):
        load(database_url, {**data, "revision": "9999"})
    with pytest.raises(DumpError):
        load(database_url, {**data, "tables": {"users": [{"id": 1, "shoe_size": 9}]}})


def backend_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def read_all(store: SqlStore) -> dict[str, Any]:
    with store.transaction() as uow:
        return {
            "users": uow.users.list(0, 100),
            "admins": uow.users.list_admins(0, 100),
            "token": uow.tokens.user_for("digest"),
            "failures": uow.login_failures.count_since(datetime(2000, 1, 1, tzinfo=UTC)),
            "apps": uow.apps.list(0, 100),
            "perms": uow.perms.users("web"),
            "builds": uow.builds.list("web", 0, 100),
            "releases": uow.releases.list("web", 0, 100),
            "config": [uow.configs.get(r.config) for r in uow.releases.list("web", 0, 10)[0]],
            "keys": uow.keys.list("alice", 0, 100),
            "domains": uow.domains.list("web", 0, 100),
            "certs": uow.certs.list(0, 100),
            "settings": uow.settings.latest("web"),
            "tls": uow.tls.latest("web"),
            "addon_schedules": uow.addon_schedules.all(),
        }
