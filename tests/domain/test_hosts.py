"""Who may hold a host: the pure rules of deis.domain.hosts."""

from __future__ import annotations

import pytest

from deis.domain.errors import Invalid
from deis.domain.hosts import (
    Holder,
    check_custom_host,
    check_new_app,
    default_label,
    normalize_host,
    parents,
)

HELD = {
    "foo.localhost": Holder("foo", "owner"),
    "shop.example.com": Holder("shop", "owner"),
    "mine.localhost": Holder("mine", "me"),
}


def holder_of(host: str) -> Holder | None:
    return HELD.get(host)


def check(host: str, *, app: str = "evil", owner: str = "me", admin: bool = False) -> None:
    check_custom_host(host, app, owner, "localhost", holder_of, admin=admin)


def test_normal_form() -> None:
    assert normalize_host(" Foo.LocalHost. ") == "foo.localhost"
    assert parents("a.b.c") == ["b.c", "c"]
    assert parents("*.a.b") == ["a.b", "b"]
    assert default_label("foo.localhost", "localhost.") == "foo"
    assert default_label("x.foo.localhost", "localhost") is None
    assert default_label("*.localhost", "localhost") is None
    assert default_label("localhost", "localhost") is None


@pytest.mark.parametrize(
    "host",
    ["deis.localhost", "api.deis.localhost", "*.deis.localhost", "*.localhost"],
)
def test_the_platforms_hosts_are_reserved(host: str) -> None:
    with pytest.raises(Invalid) as refused:
        check(host, admin=True)
    assert "domain" in refused.value.errors


def test_a_wildcard_above_the_platform_domain_covers_the_controller() -> None:
    with pytest.raises(Invalid):
        check_custom_host("*.example.com", "a", "me", "apps.example.com", lambda h: None)
    check_custom_host("*.other.com", "a", "me", "apps.example.com", lambda h: None)


@pytest.mark.parametrize(
    "host", ["foo.localhost", "x.foo.localhost", "*.foo.localhost", "a.shop.example.com"]
)
def test_another_owners_hosts_and_names_under_them_are_refused(host: str) -> None:
    with pytest.raises(Invalid):
        check(host)


def test_names_under_hosts_of_the_same_owner_or_by_an_admin_are_allowed() -> None:
    check("x.mine.localhost")
    check("x.foo.localhost", owner="owner")
    check("x.foo.localhost", admin=True)
    check("x.foo.localhost", app="foo", owner="someone")
    check("foo.localhost", app="foo", owner="someone")  # its own default host, again
    check("bar.localhost")
    check("www.example.com")


def test_an_app_name_whose_host_is_held_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        check_new_app("foo", "me", "localhost", holder_of, [])
    assert "id" in refused.value.errors
    with pytest.raises(Invalid):
        check_new_app("blog", "me", "localhost", holder_of, [Holder("other", "owner")])
    check_new_app("blog", "me", "localhost", holder_of, [Holder("other", "me")])
    check_new_app("blog", "me", "localhost", holder_of, [])
