"""Contract of the account repositories: users, tokens, login failures, keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from deis.domain.errors import Conflict, NotFound
from deis.store.sqlalchemy_store import SqlStore
from tests.store.conftest import T0, Factory

# --- users -------------------------------------------------------------------------------


def test_add_user_returns_the_stored_user(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        added = make.user(uow, "alice", admin=True)
    with store.transaction() as uow:
        user = uow.users.get("alice")
    assert user == added
    assert user is not None
    assert isinstance(user.id, int)
    assert user.email == "alice@example.com"
    assert user.password_hash == "hash-of-alice"
    assert (user.first_name, user.last_name) == ("Alice", "Tester")
    assert user.is_superuser and user.is_staff and user.is_active
    assert user.date_joined == T0 + timedelta(seconds=1)
    assert user.date_joined.tzinfo is not None and user.date_joined.utcoffset() == timedelta(0)
    assert user.last_login is None


def test_get_unknown_user_is_none(store: SqlStore) -> None:
    with store.transaction() as uow:
        assert uow.users.get("nobody") is None
        assert uow.users.get_by_id(12345) is None


def test_get_by_id(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        alice = make.user(uow, "alice")
        bob = make.user(uow, "bob")
    with store.transaction() as uow:
        assert uow.users.get_by_id(bob.id) == bob
        assert uow.users.get_by_id(alice.id) == alice
    assert alice.id != bob.id


def test_duplicate_username_conflicts_and_the_transaction_goes_on(
    store: SqlStore, make: Factory
) -> None:
    with store.transaction(write=True) as uow:
        make.user(uow, "alice")
        with pytest.raises(Conflict) as info:
            make.user(uow, "alice")
        assert info.value.field == "username"
        make.user(uow, "bob")  # still usable: the failed insert was only a savepoint
    with store.transaction() as uow:
        assert uow.users.count() == 2


def test_update_writes_every_mutable_field(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        alice = make.user(uow, "alice")
    login = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    changed = replace(
        alice,
        email="a@new.example",
        first_name="Al",
        last_name="Ice",
        is_superuser=True,
        is_staff=True,
        is_active=False,
        last_login=login,
        password_hash="new-hash",
    )
    with store.transaction(write=True) as uow:
        uow.users.update(changed)
    with store.transaction() as uow:
        assert uow.users.get("alice") == changed


def test_count_and_list_pages_by_username(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        for name in ["dave", "alice", "carol", "bob", "eve"]:
            make.user(uow, name, admin=name in ("bob", "eve"))
    with store.transaction() as uow:
        assert uow.users.count() == 5
        users, total = uow.users.list(1, 2)
        assert total == 5
        assert [u.username for u in users] == ["bob", "carol"]
        users, total = uow.users.list(4, 10)
        assert ([u.username for u in users], total) == (["eve"], 5)
        admins, total = uow.users.list_admins(0, 10)
        assert ([u.username for u in admins], total) == (["bob", "eve"], 2)
        admins, total = uow.users.list_admins(1, 10)
        assert ([u.username for u in admins], total) == (["eve"], 2)


def test_delete_user_cascades_keys_tokens_and_perms(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        make.user(uow, "alice")
        bob = make.user(uow, "bob")
        make.app(uow, "web", "alice")
        uow.perms.add("web", "bob")
        make.key(uow, "bob", "laptop")
        uow.tokens.add(bob.id, "digest-bob", make.now())
        build = make.build(uow, "web", "bob")  # bob deployed alice's app
    with store.transaction(write=True) as uow:
        uow.users.delete("bob")
    with store.transaction() as uow:
        assert uow.users.get("bob") is None
        assert uow.keys.list("bob", 0, 10) == ([], 0)
        assert uow.tokens.user_for("digest-bob") is None
        assert uow.perms.users("web") == []
        kept = uow.builds.get("web", build.uuid)
    assert kept is not None and kept.owner == ""  # history stays, without its user


def test_delete_user_who_owns_apps_is_refused(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        make.user(uow, "alice")
        make.app(uow, "web", "alice")
        with pytest.raises(Conflict):
            uow.users.delete("alice")
        assert uow.users.get("alice") is not None


def test_new_user_never_reuses_a_deleted_id(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        make.user(uow, "alice")
        bob = make.user(uow, "bob")
        uow.users.delete("bob")
        carol = make.user(uow, "carol")
    assert carol.id > bob.id


# --- tokens ------------------------------------------------------------------------------


def test_tokens(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        alice = make.user(uow, "alice")
        bob = make.user(uow, "bob")
        uow.tokens.add(alice.id, "d1", make.now())
        uow.tokens.add(alice.id, "d2", make.now())
        uow.tokens.add(bob.id, "d3", make.now())
    with store.transaction() as uow:
        assert uow.tokens.user_for("d1") == alice
        assert uow.tokens.user_for("d3") == bob
        assert uow.tokens.user_for("unknown") is None
    with store.transaction(write=True) as uow:
        uow.tokens.revoke_all(alice.id)
    with store.transaction() as uow:
        assert uow.tokens.user_for("d1") is None
        assert uow.tokens.user_for("d2") is None
        assert uow.tokens.user_for("d3") == bob


def test_revoking_one_token_keeps_the_others(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        alice = make.user(uow, "alice")
        uow.tokens.add(alice.id, "d1", make.now())
        uow.tokens.add(alice.id, "d2", make.now())
    with store.transaction(write=True) as uow:
        uow.tokens.revoke("d1")
        uow.tokens.revoke("unknown")
    with store.transaction() as uow:
        assert uow.tokens.user_for("d1") is None
        assert uow.tokens.user_for("d2") == alice


def test_duplicate_token_digest_conflicts(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        alice = make.user(uow, "alice")
        uow.tokens.add(alice.id, "d1", make.now())
        with pytest.raises(Conflict):
            uow.tokens.add(alice.id, "d1", make.now())


# --- login failures ----------------------------------------------------------------------


def test_login_failures_count_and_prune(store: SqlStore) -> None:
    with store.transaction(write=True) as uow:
        for minute, (user, address) in enumerate(
            [("alice", "10.0.0.1"), ("alice", "10.0.0.2"), ("bob", "10.0.0.1"), ("bob", "::1")]
        ):
            uow.login_failures.add(user, address, T0 + timedelta(minutes=minute))
    since = T0 + timedelta(minutes=1)
    with store.transaction() as uow:
        failures = uow.login_failures
        assert failures.count_since(T0) == 4
        assert failures.count_since(since) == 3
        assert failures.count_since(T0, username="alice") == 2
        assert failures.count_since(since, username="alice") == 1
        assert failures.count_since(T0, address="10.0.0.1") == 2
        assert failures.count_since(since, address="10.0.0.1") == 1
        assert failures.count_since(T0, username="bob", address="::1") == 1
        assert failures.count_since(T0, username="carol") == 0
    with store.transaction(write=True) as uow:
        uow.login_failures.prune(T0 + timedelta(minutes=2))
    with store.transaction() as uow:
        assert uow.login_failures.count_since(T0) == 2


def test_times_in_other_zones_are_compared_as_utc(store: SqlStore) -> None:
    plus_two = timezone(timedelta(hours=2))
    with store.transaction(write=True) as uow:
        # 12:00+02:00 is 10:00 UTC
        uow.login_failures.add("alice", "::1", datetime(2024, 1, 1, 12, 0, tzinfo=plus_two))
    with store.transaction() as uow:
        assert uow.login_failures.count_since(datetime(2024, 1, 1, 9, 59, tzinfo=UTC)) == 1
        assert uow.login_failures.count_since(datetime(2024, 1, 1, 10, 1, tzinfo=UTC)) == 0


# --- keys --------------------------------------------------------------------------------


def test_key_add_get_and_lookups(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        make.user(uow, "alice")
        key = make.key(uow, "alice", "laptop")
    with store.transaction() as uow:
        assert uow.keys.get("alice", "laptop") == key
        assert uow.keys.get("bob", "laptop") is None
        assert uow.keys.get("alice", "desktop") is None
        assert uow.keys.by_fingerprint(key.fingerprint) == key
        assert uow.keys.by_fingerprint(key.fingerprint_sha256) == key
        assert uow.keys.by_fingerprint("00:11") is None
        assert uow.keys.by_fingerprint("SHA256:nope") is None
        assert uow.keys.by_public(key.public) == key
        assert uow.keys.by_public("ssh-rsa nope") is None


def test_key_duplicates(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        make.user(uow, "alice")
        make.user(uow, "bob")
        key = make.key(uow, "alice", "laptop")
        with pytest.raises(Conflict) as info:
            make.key(uow, "alice", "laptop", n=1)  # same id, other public key
        assert info.value.field == "id"
        with pytest.raises(Conflict) as info:
            uow.keys.add(replace(key, uuid=make.uuid(), id="other"))  # same public key
        assert info.value.field == "public"
        make.key(uow, "bob", "laptop")  # ids are unique per owner only


def test_key_of_unknown_user_is_not_found(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow, pytest.raises(NotFound):
        make.key(uow, "ghost", "laptop")


def test_key_list_of_users_and_delete(store: SqlStore, make: Factory) -> None:
    with store.transaction(write=True) as uow:
        for name in ("alice", "bob", "carol"):
            make.user(uow, name)
        a1 = make.key(uow, "alice", "k1")
        a2 = make.key(uow, "alice", "k2")
        a3 = make.key(uow, "alice", "k3")
        b1 = make.key(uow, "bob", "k1")
        make.key(uow, "carol", "k1")
    with store.transaction() as uow:
        assert uow.keys.list("alice", 0, 10) == ([a1, a2, a3], 3)
        assert uow.keys.list("alice", 1, 1) == ([a2], 3)
        assert uow.keys.list("nobody", 0, 10) == ([], 0)
        assert uow.keys.of_users(["alice", "bob"]) == [a1, a2, a3, b1]
        assert uow.keys.of_users([]) == []
    with store.transaction(write=True) as uow:
        uow.keys.delete("alice", "k2")
        uow.keys.delete("bob", "k3")  # not there: nothing happens
    with store.transaction() as uow:
        assert uow.keys.list("alice", 0, 10) == ([a1, a3], 2)
        assert uow.keys.get("bob", "k1") == b1
