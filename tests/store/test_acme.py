"""Automatic TLS's records: which apps have it, each domain's state; a removed domain
takes its state along (so it is not renewed any more)."""

from __future__ import annotations

from datetime import timedelta

from deis.domain.acme import AcmeDomain
from deis.store.sqlalchemy_store import SqlStore
from tests.store.conftest import Factory


def test_enable_save_and_what_removing_takes_along(store: SqlStore, make: Factory) -> None:
    now = make.now()
    with store.transaction(write=True) as uow:
        make.user(uow, "alice")
        make.app(uow, "web")
        make.app(uow, "api")
        make.domain(uow, "www.example.com")
        make.domain(uow, "shop.example.com")
        uow.acme.enable("web", now)
        uow.acme.enable("web", now)  # twice: still once
        uow.acme.save(AcmeDomain("www.example.com", "web", "acme-www-example-com"))
        failed = AcmeDomain(
            "shop.example.com", "web", None, "connection refused", now,
            now + timedelta(minutes=2), 2,
        )  # fmt: skip
        uow.acme.save(failed)
    with store.transaction() as uow:
        assert uow.acme.enabled_apps() == ["web"]
        assert uow.acme.enabled("web") and not uow.acme.enabled("api")
        assert uow.acme.domains("web") == [
            failed,
            AcmeDomain("www.example.com", "web", "acme-www-example-com"),
        ]
    with store.transaction(write=True) as uow:
        uow.domains.delete("shop.example.com")
    with store.transaction() as uow:
        assert [d.domain for d in uow.acme.domains("web")] == ["www.example.com"]
    with store.transaction(write=True) as uow:
        uow.acme.disable("web")
    with store.transaction() as uow:
        assert uow.acme.enabled_apps() == [] and uow.acme.domains("web") == []
