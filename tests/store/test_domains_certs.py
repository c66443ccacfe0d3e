"""Contract of the domain and certificate repositories."""

from __future__ import annotations

from dataclasses import replace

import pytest

from deis.domain.errors import Conflict, NotFound
from deis.store.sqlalchemy_store import SqlStore, SqlUnitOfWork
from tests.store.conftest import Factory


def setup_apps(uow: SqlUnitOfWork, make: Factory) -> None:
    make.user(uow, "alice")
    make.user(uow, "bob")
    make.app(uow, "web", "alice")
    make.app(uow, "api", "bob")


def test_domains(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        setup_apps(uow, make)
        web = make.domain(uow, "web", "web")
        www = make.domain(uow, "www.example.com", "web")
        star = make.domain(uow, "*.example.org", "web")
        api = make.domain(uow, "api", "api", "bob")
    with store.transaction() as uow:
        assert uow.domains.get("www.example.com") == www
        assert uow.domains.get("nope.example.com") is None
        assert uow.domains.list("web", 0, 10) == ([web, www, star], 3)  # oldest first
        assert uow.domains.list("web", 1, 1) == ([www], 3)
        assert uow.domains.list("api", 0, 10) == ([api], 1)
    with store.transaction(write=True) as uow:
        uow.domains.delete("www.example.com")
        uow.domains.delete("never.example.com")
    with store.transaction() as uow:
        assert uow.domains.list("web", 0, 10) == ([web, star], 2)


def test_domain_is_unique_across_apps(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        setup_apps(uow, make)
        make.domain(uow, "www.example.com", "web")
        with pytest.raises(Conflict) as info:
            make.domain(uow, "www.example.com", "api", "bob")
        assert info.value.field == "domain"


def test_certificate_add_get_list_delete(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        setup_apps(uow, make)
        b = make.cert(uow, "b-cert", "alice")
        a = make.cert(uow, "a-cert", "bob")
        c = make.cert(uow, "c-cert", "alice")
    with store.transaction() as uow:
        assert uow.certs.get("b-cert") == b
        assert uow.certs.get("nope") is None
        assert uow.certs.list(0, 10) == ([a, b, c], 3)
        assert uow.certs.list(1, 1) == ([b], 3)
        assert uow.certs.list(0, 10, owner="alice") == ([b, c], 2)
        assert uow.certs.list(1, 10, owner="alice") == ([c], 2)
        assert uow.certs.list(0, 10, owner="carol") == ([], 0)
    got = b
    assert got.certificate.startswith("-----BEGIN CERTIFICATE")
    assert got.san == ["www.example.com", "example.com"]
    assert got.expires > got.starts
    with store.transaction(write=True) as uow:
        uow.certs.delete("b-cert")
        uow.certs.delete("nope")
    with store.transaction() as uow:
        assert uow.certs.list(0, 10) == ([a, c], 2)


def test_certificate_name_is_unique(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        setup_apps(uow, make)
        make.cert(uow, "www")
        with pytest.raises(Conflict) as info:
            make.cert(uow, "www")
        assert info.value.field == "name"


def test_attach_detach_for_domain(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        setup_apps(uow, make)
        make.domain(uow, "www.example.com", "web")
        make.domain(uow, "example.com", "web")
        make.domain(uow, "api.example.com", "api", "bob")
        cert = make.cert(uow, "www")
        uow.certs.attach("www", "www.example.com")
        uow.certs.attach("www", "example.com")
        uow.certs.attach("www", "example.com")  # twice: once
    with store.transaction() as uow:
        attached = uow.certs.get("www")
        assert attached == replace(cert, domains=["example.com", "www.example.com"])
        assert uow.certs.for_domain("www.example.com") == attached
        assert uow.certs.for_domain("api.example.com") is None
        assert uow.certs.list(0, 10) == ([attached], 1)
    with store.transaction(write=True) as uow:
        uow.certs.detach("www", "example.com")
        uow.certs.detach("www", "api.example.com")  # not attached: nothing happens
    with store.transaction() as uow:
        assert uow.certs.for_domain("example.com") is None
        assert uow.certs.get("www") == replace(cert, domains=["www.example.com"])


def test_attach_needs_the_certificate_and_the_domain(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        setup_apps(uow, make)
        make.domain(uow, "www.example.com", "web")
        make.cert(uow, "www")
        with pytest.raises(NotFound):
            uow.certs.attach("nope", "www.example.com")
        with pytest.raises(NotFound):
            uow.certs.attach("www", "unknown.example.com")


def test_added_certificate_with_domains_is_attached(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        setup_apps(uow, make)
        make.domain(uow, "www.example.com", "web")
        cert = make.cert(uow, "www", domains=["www.example.com"])
    with store.transaction() as uow:
        assert uow.certs.for_domain("www.example.com") == cert


def test_deleting_a_domain_or_cert_removes_the_attachment(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        setup_apps(uow, make)
        make.domain(uow, "a.example.com", "web")
        make.domain(uow, "b.example.com", "web")
        make.cert(uow, "one", domains=["a.example.com", "b.example.com"])
        make.cert(uow, "two", domains=["b.example.com"])
    with store.transaction(write=True) as uow:
        uow.domains.delete("a.example.com")
        uow.certs.delete("two")
    with store.transaction() as uow:
        one = uow.certs.get("one")
        assert one is not None and one.domains == ["b.example.com"]
        assert uow.certs.for_domain("b.example.com") == one
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM cert_domains").scalar() == 1
