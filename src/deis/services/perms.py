"""Collaborators on an app."""

from __future__ import annotations

from deis.domain.errors import Invalid, NotFound
from deis.domain.records import User
from deis.services.access import app_for
from deis.services.context import Context


def list_collaborators(ctx: Context, actor: User, app_id: str) -> list[str]:
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        return uow.perms.users(app.id)


def share(ctx: Context, actor: User, app_id: str, username: object) -> None:
    if not isinstance(username, str) or not username:
        raise Invalid("Give the username to share the app with.", field="username")
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id, manage=True)
        if uow.users.get(username) is None:
            raise NotFound(f"User {username} not found.")
        if username == app.owner:
            raise Invalid(f"{username} owns {app.id} already.", field="username")
        if uow.perms.has(app.id, username):
            raise Invalid(f"{username} is a collaborator on {app.id} already.", field="username")
        uow.perms.add(app.id, username)
    ctx.logs.write(app.id, "controller", f"{actor.username} shared {app.id} with {username}")


def unshare(ctx: Context, actor: User, app_id: str, username: str) -> None:
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id, manage=True)
        if not uow.perms.has(app.id, username):
            raise NotFound(f"{username} is not a collaborator on {app.id}.")
        uow.perms.remove(app.id, username)
    ctx.logs.write(
        app.id, "controller", f"{actor.username} stopped sharing {app.id} with {username}"
    )
