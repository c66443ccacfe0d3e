"""Add-ons' backup schedules: saved anew by the add-on's name, their last run recorded,
gone with the add-on."""

from __future__ import annotations

from datetime import timedelta

from deis.domain.addons import Addon
from deis.domain.backup_schedules import BackupSchedule
from deis.store.sqlalchemy_store import SqlStore
from tests.store.conftest import Factory

NAME = "postgres-calm-0001"


def test_save_replace_run_and_what_removing_the_addon_takes_along(
    store: SqlStore, make: Factory
) -> None:
    now = make.now()
    with store.transaction(write=True) as uow:
        make.user(uow, "alice")
        make.app(uow, "web")
        uow.addons.add(Addon(NAME, "postgres", "mini", "web", "alice", "pw", 25000, now, now))
        uow.addon_schedules.save(BackupSchedule(NAME, "02:00", "UTC", 7, now))
        changed = BackupSchedule(NAME, "03:30", "Europe/Paris", 14, now)
        uow.addon_schedules.save(changed)  # replaces
    with store.transaction() as uow:
        assert uow.addon_schedules.all() == [changed]
        assert uow.addon_schedules.get("redis-none-0000") is None
    later = now + timedelta(days=1)
    with store.transaction(write=True) as uow:
        uow.addon_schedules.ran(NAME, later)
    with store.transaction() as uow:
        assert uow.addon_schedules.get(NAME) == BackupSchedule(
            NAME, "03:30", "Europe/Paris", 14, now, later
        )
    with store.transaction(write=True) as uow:
        uow.addons.delete(NAME)
    with store.transaction() as uow:
        assert uow.addon_schedules.all() == []


def test_delete(store: SqlStore, make: Factory) -> None:
    now = make.now()
    with store.transaction(write=True) as uow:
        make.user(uow, "alice")
        make.app(uow, "web")
        uow.addons.add(Addon(NAME, "postgres", "mini", "web", "alice", "pw", 25000, now, now))
        uow.addon_schedules.save(BackupSchedule(NAME, "02:00", "UTC", 7, now))
        uow.addon_schedules.delete(NAME)
        uow.addon_schedules.delete(NAME)  # twice: a no-op
    with store.transaction() as uow:
        assert uow.addon_schedules.get(NAME) is None
