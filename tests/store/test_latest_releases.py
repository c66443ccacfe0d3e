"""Contract of Releases.latest_of: the latest release of many apps in one query."""

from __future__ import annotations

from deis.store.sqlalchemy_store import SqlStore
from tests.store.conftest import Factory


def test_latest_of_many_apps(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        make.user(uow, "alice")
        make.user(uow, "bob")
        for app in ("a", "b", "c"):
            make.app(uow, app)
        make.release(uow, "a", 1)
        newest_a = make.release(uow, "a", 2, owner="bob")
        newest_b = make.release(uow, "b", 1)
    with store.transaction() as uow:
        assert uow.releases.latest_of(["a", "b", "c", "missing"]) == {
            "a": newest_a,
            "b": newest_b,
        }
        assert uow.releases.latest_of(["a"]) == {"a": uow.releases.latest("a")}
        assert uow.releases.latest_of([]) == {}


def test_current_is_the_latest_release_not_marked_failed(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        make.user(uow, "alice")
        make.app(uow, "a")
        make.release(uow, "a", 1)
        serving = make.release(uow, "a", 2)
        make.release(uow, "a", 3)
        uow.releases.set_failed("a", 3, True, serving.updated)
    with store.transaction() as uow:
        assert uow.releases.current("a") == serving
        latest = uow.releases.latest("a")
        assert latest is not None and latest.version == 3 and latest.failed
        assert uow.releases.current("missing") is None
