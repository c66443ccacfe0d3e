"""SSH keys users register to push with git."""

from __future__ import annotations

from deis.domain.errors import Invalid, NotFound
from deis.domain.records import Key, User
from deis.domain.sshkeys import parse_public_key, validate_key_id
from deis.services.context import Context


def add(ctx: Context, actor: User, key_id: object, public: object) -> Key:
    name = validate_key_id(key_id)
    if not isinstance(public, str):
        raise Invalid("Give an OpenSSH public key.", field="public")
    info = parse_public_key(public)
    now = ctx.clock()
    key = Key(
        uuid=ctx.make_uuid(),
        id=name,
        owner=actor.username,
        public=info.normalized,
        fingerprint=info.fingerprint_md5,
        fingerprint_sha256=info.fingerprint_sha256,
        created=now,
        updated=now,
    )
    with ctx.store.transaction(write=True) as uow:
        same = uow.keys.by_fingerprint(key.fingerprint)
        if same is not None and same.owner == actor.username:
            raise Invalid(f"This key is already added, as {same.id} (deis keys:list shows it).")
        if uow.keys.get(actor.username, name) is not None:
            raise Invalid(f"You already have a key named {name}.", field="id")
        if same is not None:
            raise Invalid("This public key is already registered by another user.", field="public")
        uow.keys.add(key)
    return key


def list_keys(ctx: Context, actor: User, offset: int, limit: int) -> tuple[list[Key], int]:
    with ctx.store.transaction() as uow:
        return uow.keys.list(actor.username, offset, limit)


def get(ctx: Context, actor: User, key_id: str) -> Key:
    with ctx.store.transaction() as uow:
        key = uow.keys.get(actor.username, key_id)
    if key is None:
        raise NotFound(f"Key {key_id} not found.")
    return key


def remove(ctx: Context, actor: User, key_id: str) -> None:
    with ctx.store.transaction(write=True) as uow:
        if uow.keys.get(actor.username, key_id) is None:
            raise NotFound(f"Key {key_id} not found.")
        uow.keys.delete(actor.username, key_id)
