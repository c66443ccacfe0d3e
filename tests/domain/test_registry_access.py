"""Who may do what in the platform's registry (a pure decision over scopes)."""

from __future__ import annotations

from deis.domain import registry_access as ra

ASKED = ra.parse_scopes(
    ["repository:web:pull,push repository:other:pull,push,delete", "registry:catalog:*"]
)


def names(granted: list[ra.Access]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(a.type, a.name, a.actions) for a in granted]


def test_parse_scopes() -> None:
    assert names(ASKED) == [
        ("repository", "web", ("pull", "push")),
        ("repository", "other", ("pull", "push", "delete")),
        ("registry", "catalog", ("*",)),
    ]
    assert ra.parse_scopes(["nonsense", "repository(plugin):x:pull"]) == [
        ra.Access("repository", "x", ("pull",))
    ]


def test_the_builder_pushes_to_its_app_only() -> None:
    builder = ra.Principal(ra.BUILDER, ra.builder_account("web"), app="web")
    assert names(ra.granted(builder, ASKED, lambda _: True)) == [
        ("repository", "web", ("pull", "push"))
    ]


def test_the_platform_pulls_and_deletes_everything_but_never_pushes() -> None:
    platform = ra.Principal(ra.PLATFORM, ra.PLATFORM_ACCOUNT)
    assert names(ra.granted(platform, ASKED, lambda _: False)) == [
        ("repository", "web", ("pull",)),
        ("repository", "other", ("pull", "delete")),
        ("registry", "catalog", ("*",)),
    ]


def test_users_pull_what_they_may_see_and_admins_everything() -> None:
    user = ra.Principal(ra.USER, "alice")
    assert names(ra.granted(user, ASKED, lambda repo: repo == "web")) == [
        ("repository", "web", ("pull",))
    ]
    assert ra.granted(user, ASKED, lambda _: False) == []
    admin = ra.Principal(ra.USER, "root", admin=True)
    assert names(ra.granted(admin, ASKED, lambda _: False)) == [
        ("repository", "web", ("pull",)),
        ("repository", "other", ("pull",)),
        ("registry", "catalog", ("*",)),
    ]
