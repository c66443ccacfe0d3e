"""Users: registration, login with tokens, passwords, cancelling, and administrators."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError

from deis.domain import names
from deis.domain.errors import (
    Conflict,
    Invalid,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from deis.domain.records import User
from deis.domain.users import validate_email, validate_password
from deis.ports import UnitOfWork
from deis.services.access import require_admin
from deis.services.context import Context
from deis.services.paging import every

LOGIN_WINDOW = timedelta(minutes=1)
FAILURES_KEPT = timedelta(hours=1)


def hash_password(ctx: Context, password: str) -> str:
    return ctx.password_hasher.hash(password)


def password_matches(ctx: Context, user: User, password: str) -> bool:
    try:
        return ctx.password_hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASHES: dict[int, str] = {}


def password_matches_dummy(ctx: Context, password: str) -> None:
    """Verify the password against a hash of a password nobody has, made with the same
    parameters as every user's: it takes as long as a real check, and always fails."""
    key = id(ctx.password_hasher)
    dummy = _DUMMY_HASHES.get(key)
    if dummy is None:
        dummy = _DUMMY_HASHES[key] = ctx.password_hasher.hash(secrets.token_hex(16))
    try:
        ctx.password_hasher.verify(dummy, password)
    except (VerificationError, InvalidHashError):
        pass


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _text(data: dict[str, object], field: str, *, max_length: int = 150) -> str:
    value = data.get(field) or ""
    if not isinstance(value, str) or len(value) > max_length:
        raise Invalid(f"Must be text of at most {max_length} characters.", field=field)
    return value


def register(ctx: Context, caller: User | None, data: dict[str, object]) -> User:
    """A new user; the first one is an administrator. The registration mode decides who may."""
    username = names.validate_username(data.get("username"))
    password = validate_password(data.get("password"))
    email = validate_email(data.get("email"))
    first_name, last_name = _text(data, "first_name"), _text(data, "last_name")
    with ctx.store.transaction(write=True) as uow:
        first = uow.users.count() == 0
        if not first:
            check_registration_allowed(ctx.registration_mode, caller)
        refuse_taken_username(uow, username)
        return uow.users.add(
            username=username,
            email=email,
            password_hash=hash_password(ctx, password),
            first_name=first_name,
            last_name=last_name,
            is_superuser=first,
            date_joined=ctx.clock(),
        )


def refuse_taken_username(uow: UnitOfWork, username: str) -> None:
    """Usernames are unique ignoring case: `Admin` next to `admin` would pass for it."""
    other = uow.users.get_ignoring_case(username)
    if other is None:
        return
    if other.username == username:
        raise Invalid("A user with that username already exists.", field="username")
    raise Invalid(
        f"A user named {other.username} already exists; usernames that differ only in case "
        "are not allowed.",
        field="username",
    )


def check_registration_allowed(mode: str, caller: User | None) -> None:
    if mode == "disabled":
        raise PermissionDenied("Registration is disabled on this platform.")
    if mode == "admin_only" and (caller is None or not caller.is_superuser):
        raise PermissionDenied("Only administrators can register new users on this platform.")


def create_admin(ctx: Context, username: str, email: str, password: str) -> User:
    """An administrator made by the operator (`deisctl create-admin`), whatever the mode."""
    username = names.validate_username(username)
    password = validate_password(password)
    email = validate_email(email)
    with ctx.store.transaction(write=True) as uow:
        refuse_taken_username(uow, username)
        return uow.users.add(
            username=username,
            email=email,
            password_hash=hash_password(ctx, password),
            first_name="",
            last_name="",
            is_superuser=True,
            date_joined=ctx.clock(),
        )


def login(ctx: Context, username: object, password: object, address: str) -> str:
    """A new token for the user. Failed attempts are limited per user and per address."""
    if not isinstance(username, str) or not username:
        raise Invalid("This field is required.", field="username")
    if not isinstance(password, str) or not password:
        raise Invalid("This field is required.", field="password")
    now = ctx.clock()
    with ctx.store.transaction(write=True) as uow:
        # Limited per (user, address) and per address: a stranger's failures for a name
        # never lock its owner out elsewhere (they once locked out the admin everywhere).
        since = now - LOGIN_WINDOW
        by_pair = uow.login_failures.count_since(since, username=username, address=address)
        by_address = uow.login_failures.count_since(since, address=address)
        if max(by_pair, by_address) >= ctx.login_failures_allowed:
            raise RateLimited("Too many failed login attempts; try again in a minute.")
        user = uow.users.get(username)
        if user is None:
            # as long as a check of a real user's password: the time taken never tells
            # whether a username exists (nor, below, whether its account is active)
            password_matches_dummy(ctx, password)
            matches = False
        else:
            matches = password_matches(ctx, user, password) and user.is_active
        if user is None or not matches:
            uow.login_failures.prune(now - FAILURES_KEPT)
            uow.login_failures.add(username, address, now)
            failed = True
        else:
            failed = False
            uow.users.update(replace(user, last_login=now))
            token = issue_token(uow, user, now)
    if failed:  # after the block, so the failure is committed
        raise NotAuthenticated("Unable to log in with provided credentials.")
    return token


def issue_token(uow: UnitOfWork, user: User, now: datetime) -> str:
    """A random token, shown once; only its SHA-256 digest is stored."""
    token = secrets.token_hex(20)
    uow.tokens.add(user.id, token_digest(token), now)
    return token


def authenticate(ctx: Context, token: str, *, keep: bool = False) -> User:
    """keep=True: the caller's next read continues this transaction (see Store)."""
    lifetime = ctx.token_lifetime
    issued_after = ctx.clock() - lifetime if lifetime else None
    with ctx.store.transaction(keep=keep) as uow:
        user = uow.tokens.user_for(token_digest(token), issued_after)
    if user is None or not user.is_active:
        raise NotAuthenticated("Invalid token.")
    return user


def logout(ctx: Context, token: str) -> None:
    """Revoke one token (signing out of a session); the user's other tokens stay valid."""
    with ctx.store.transaction(write=True) as uow:
        uow.tokens.revoke(token_digest(token))


def change_password(
    ctx: Context, actor: User, password: object, new_password: object, username: object = None
) -> None:
    """Your own password (giving the current one), or anyone's as an administrator.

    As in Deis, your own tokens stay valid (the Deis client keeps using its token); an
    administrator's reset of another user's password signs that user out everywhere."""
    new = validate_password(new_password)
    with ctx.store.transaction(write=True) as uow:
        if username and username != actor.username:
            require_admin(actor)
            target = user_named(uow, username)
            uow.tokens.revoke_all(target.id)
        else:
            target = actor
            if not isinstance(password, str) or not password_matches(ctx, actor, password):
                raise Invalid("Current password does not match.", field="password")
        uow.users.update(replace(target, password_hash=hash_password(ctx, new)))


def user_named(uow: UnitOfWork, username: object) -> User:
    user = uow.users.get(username) if isinstance(username, str) else None
    if user is None:
        raise NotFound(f"User {username} not found.")
    return user


def cancel(ctx: Context, actor: User, username: object = None) -> None:
    """Remove an account; refused while it owns apps."""
    with ctx.store.transaction(write=True) as uow:
        if username and username != actor.username:
            require_admin(actor)
            target = user_named(uow, username)
        else:
            target = actor
        owned = uow.apps.owned_by(target.username)
        if owned:
            raise Conflict(
                "User still has applications assigned. Delete or transfer ownership first: "
                + ", ".join(sorted(owned))
            )
        uow.users.delete(target.username)


def regenerate_token(
    ctx: Context, actor: User, username: object = None, all_users: bool = False
) -> str | None:
    """A new token replacing the old ones: yours, another user's, or everyone's (admins)."""
    now = ctx.clock()
    with ctx.store.transaction(write=True) as uow:
        if all_users:
            require_admin(actor)
            for user in every(uow.users.list):
                uow.tokens.revoke_all(user.id)
            return None
        if username and username != actor.username:
            require_admin(actor)
            target = user_named(uow, username)
        else:
            target = actor
        uow.tokens.revoke_all(target.id)
        return issue_token(uow, target, now)


def list_users(ctx: Context, actor: User, offset: int, limit: int) -> tuple[list[User], int]:
    require_admin(actor)
    with ctx.store.transaction() as uow:
        return uow.users.list(offset, limit)


def list_admins(ctx: Context, actor: User, offset: int, limit: int) -> tuple[list[User], int]:
    require_admin(actor)
    with ctx.store.transaction() as uow:
        return uow.users.list_admins(offset, limit)


def set_admin(ctx: Context, actor: User, username: object, is_admin: bool) -> User:
    require_admin(actor)
    with ctx.store.transaction(write=True) as uow:
        target = user_named(uow, username)
        updated = replace(target, is_superuser=is_admin, is_staff=is_admin)
        uow.users.update(updated)
        return updated
