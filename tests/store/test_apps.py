"""Contract of the app repositories: apps, perms, builds, configs, releases, settings, TLS."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from deis.domain.errors import Conflict, NotFound
from deis.store.sqlalchemy_store import SqlStore, SqlUnitOfWork
from tests.store.conftest import Factory


def people(uow: SqlUnitOfWork, make: Factory, *names: str) -> None:
    for name in names or ("alice",):
        make.user(uow, name)


# --- apps --------------------------------------------------------------------------------


def test_app_add_get_lock(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make)
        app = make.app(uow, "web", "alice")
    with store.transaction() as uow:
        assert uow.apps.get("web") == app
        assert uow.apps.get("nope") is None
    with store.transaction(write=True) as uow:
        assert uow.apps.lock("web") == app
        assert uow.apps.lock("nope") is None
    assert app.created.utcoffset() == timedelta(0)


def test_app_duplicate_id_conflicts(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make)
        make.app(uow, "web")
        with pytest.raises(Conflict) as info:
            make.app(uow, "web")
        assert info.value.field == "id"


def test_app_of_unknown_owner_is_not_found(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow, pytest.raises(NotFound):
        make.app(uow, "web", "ghost")


def test_app_update_writes_owner_structure_updated(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make, "alice", "bob")
        app = make.app(uow, "web", "alice")
    changed = replace(app, owner="bob", structure={"web": 3, "worker": 2}, updated=make.now())
    with store.transaction(write=True) as uow:
        uow.apps.update(changed)
    with store.transaction() as uow:
        assert uow.apps.get("web") == changed
        assert uow.apps.owned_by("bob") == ["web"]
        assert uow.apps.owned_by("alice") == []


def test_app_list_pages_by_id(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make)
        for app_id in ["delta", "alpha", "echo", "charlie", "bravo"]:
            make.app(uow, app_id)
    with store.transaction() as uow:
        apps, total = uow.apps.list(0, 100)
        assert ([a.id for a in apps], total) == (["alpha", "bravo", "charlie", "delta", "echo"], 5)
        apps, total = uow.apps.list(1, 2)
        assert ([a.id for a in apps], total) == (["bravo", "charlie"], 5)
        apps, total = uow.apps.list(10, 2)
        assert (apps, total) == ([], 5)
        assert all(a.owner == "alice" for a in uow.apps.list(0, 100)[0])


def test_app_list_visible_to_keeps_owned_and_shared(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make, "alice", "bob", "carol")
        make.app(uow, "a1", "alice")
        make.app(uow, "a2", "alice")
        make.app(uow, "b1", "bob")
        make.app(uow, "b2", "bob")
        make.app(uow, "c1", "carol")
        uow.perms.add("b2", "alice")
        uow.perms.add("c1", "alice")
        uow.perms.add("c1", "bob")
    with store.transaction() as uow:
        apps, total = uow.apps.list(0, 10, visible_to="alice")
        assert ([a.id for a in apps], total) == (["a1", "a2", "b2", "c1"], 4)
        apps, total = uow.apps.list(1, 2, visible_to="alice")
        assert ([a.id for a in apps], total) == (["a2", "b2"], 4)
        apps, total = uow.apps.list(0, 10, visible_to="bob")
        assert ([a.id for a in apps], total) == (["b1", "b2", "c1"], 3)
        assert uow.apps.list(0, 10, visible_to="ghost") == ([], 0)
        assert uow.apps.owned_by("alice") == ["a1", "a2"]


def test_app_delete_removes_everything_of_it(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make, "alice", "bob")
        releases = {}
        for app_id in ("web", "other"):
            make.app(uow, app_id)
            build = make.build(uow, app_id)
            releases[app_id] = make.release(uow, app_id, 1, build=build)
            make.domain(uow, f"{app_id}.example.com", app_id)
            make.settings(uow, app_id)
            make.tls(uow, app_id)
            uow.perms.add(app_id, "bob")
        make.cert(uow, "shared", domains=["web.example.com", "other.example.com"])
    with store.transaction(write=True) as uow:
        uow.apps.delete("web")
    with store.transaction() as uow:
        assert uow.apps.get("web") is None
        assert uow.builds.list("web", 0, 10) == ([], 0)
        assert uow.configs.get(releases["web"].config) is None
        assert uow.configs.get(releases["other"].config) is not None
        assert uow.releases.list("web", 0, 10) == ([], 0)
        assert uow.releases.latest("web") is None
        assert uow.domains.get("web.example.com") is None
        assert uow.settings.latest("web") is None
        assert uow.tls.latest("web") is None
        assert uow.perms.users("web") == []
        assert uow.certs.for_domain("web.example.com") is None
        shared = uow.certs.get("shared")
        assert shared is not None and shared.domains == ["other.example.com"]
        # the other app is untouched
        assert uow.releases.latest("other") is not None
        assert uow.perms.users("other") == ["bob"]
        assert uow.apps.list(0, 10, visible_to="bob")[1] == 1
    with store.engine.connect() as conn:
        for table in ("builds", "configs", "releases", "domains", "app_settings", "tls", "perms"):
            rows = conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table} WHERE app_id = 'web'")
            assert rows.scalar() == 0, table


# --- perms -------------------------------------------------------------------------------


def test_perms(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make, "alice", "carol", "bob")
        make.app(uow, "web")
        uow.perms.add("web", "carol")
        uow.perms.add("web", "bob")
        uow.perms.add("web", "bob")  # twice: still once
    with store.transaction() as uow:
        assert uow.perms.users("web") == ["bob", "carol"]
        assert uow.perms.has("web", "bob")
        assert not uow.perms.has("web", "alice")  # the owner is not a collaborator
        assert not uow.perms.has("other", "bob")
    with store.transaction(write=True) as uow:
        uow.perms.remove("web", "bob")
        uow.perms.remove("web", "nobody")
    with store.transaction() as uow:
        assert uow.perms.users("web") == ["carol"]
        assert not uow.perms.has("web", "bob")


def test_perm_for_unknown_user_or_app_is_not_found(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make)
        make.app(uow, "web")
        with pytest.raises(NotFound):
            uow.perms.add("web", "ghost")
        with pytest.raises(NotFound):
            uow.perms.add("nope", "alice")


# --- builds and configs ------------------------------------------------------------------


def test_builds(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make)
        make.app(uow, "web")
        make.app(uow, "other")
        builds = [make.build(uow, "web") for _ in range(5)]
        other = make.build(uow, "other")
    with store.transaction() as uow:
        assert uow.builds.get("web", builds[2].uuid) == builds[2]
        assert uow.builds.get("other", builds[2].uuid) is None
        assert uow.builds.get("web", other.uuid) is None
        assert uow.builds.list("web", 0, 10) == (builds[::-1], 5)
        assert uow.builds.list("web", 1, 2) == ([builds[3], builds[2]], 5)
        assert uow.builds.list("other", 0, 10) == ([other], 1)


def test_build_of_unknown_app_is_not_found(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make)
        with pytest.raises(NotFound):
            make.build(uow, "nope")


def test_configs_keep_nested_json(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make)
        make.app(uow, "web")
        config = make.config(uow, "web", values={"FOO": "bar", "EMPTY": "", "UNI": "ünï"})
    with store.transaction() as uow:
        assert uow.configs.get(config.uuid) == config
        assert uow.configs.get("0" * 36) is None
    assert config.healthcheck["web"]["livenessProbe"]["httpGet"]["port"] == 5000


# --- releases ----------------------------------------------------------------------------


def test_releases(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make)
        make.app(uow, "web")
        v1 = make.release(uow, "web", 1)
        build = make.build(uow, "web")
        v2 = make.release(uow, "web", 2, build=build)
        v3 = make.release(uow, "web", 3, build=build)
    with store.transaction() as uow:
        assert uow.releases.get("web", 2) == v2
        assert v2.build == build.uuid and v1.build is None
        assert uow.releases.get("web", 9) is None
        assert uow.releases.get("other", 1) is None
        assert uow.releases.latest("web") == v3
        assert uow.releases.latest("other") is None
        assert uow.releases.list("web", 0, 10) == ([v3, v2, v1], 3)
        assert uow.releases.list("web", 1, 1) == ([v2], 3)
    later = make.now()
    with store.transaction(write=True) as uow:
        uow.releases.set_failed("web", 3, True, later)
    with store.transaction() as uow:
        assert uow.releases.get("web", 3) == replace(v3, failed=True, updated=later)


def test_release_version_is_unique_per_app(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make)
        make.app(uow, "web")
        make.app(uow, "other")
        make.release(uow, "web", 1)
        make.release(uow, "other", 1)
        with pytest.raises(Conflict):
            make.release(uow, "web", 1)


# --- settings and TLS --------------------------------------------------------------------


def test_settings_latest(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make)
        make.app(uow, "web")
        make.app(uow, "other")
        assert uow.settings.latest("web") is None
        make.settings(uow, "web", maintenance=False)
        newest = make.settings(uow, "web", maintenance=True)
        make.settings(uow, "other")
    with store.transaction() as uow:
        assert uow.settings.latest("web") == newest
    assert newest.autoscale == {"web": {"min": 1, "max": 3, "cpu_percent": 80}}


def test_tls_latest(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make)
        make.app(uow, "web")
        assert uow.tls.latest("web") is None
        make.tls(uow, "web", enforced=True)
        newest = make.tls(uow, "web", enforced=False)
    with store.transaction() as uow:
        assert uow.tls.latest("web") == newest


def test_an_owned_record_stores_its_owner_by_name(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make)
        make.app(uow, "web")
        config = make.config(uow, "web", "alice")
        orphan = make.config(uow, "web", "")  # the record of a deleted user
    with store.transaction() as uow:
        assert uow.configs.get(config.uuid) == config
        assert uow.configs.get(orphan.uuid) == orphan


def test_an_owned_record_of_an_unknown_user_is_not_found_and_not_stored(
    store: SqlStore, make: Factory
) -> None:
    with store.transaction(write=True) as uow:
        people(uow, make)
        make.app(uow, "web")
    with store.transaction(write=True) as uow, pytest.raises(NotFound, match="ghost"):
        make.config(uow, "web", "ghost")
    with store.transaction(write=True) as uow:
        with pytest.raises(NotFound, match="ghost"):  # in a savepoint: the transaction goes on
            make.domain(uow, "www.example.com", "web", "ghost")
        make.domain(uow, "api.example.com", "web", "alice")
    with store.transaction() as uow:
        assert uow.domains.get("www.example.com") is None
        assert uow.domains.get("api.example.com") is not None
