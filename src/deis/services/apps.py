"""Apps: create (with v1, its config and its default domain), list, show, transfer, destroy."""

from __future__ import annotations

from dataclasses import replace

from deis.domain import names
from deis.domain import releases as summaries
from deis.domain.errors import Invalid
from deis.domain.hosts import check_new_app
from deis.domain.records import TLS, App, AppSettings, Config, Domain, User
from deis.ports import UnitOfWork
from deis.services import routes
from deis.services.access import app_for
from deis.services.context import Context
from deis.services.hostnames import holder_lookup, holders_under
from deis.services.releases import new_release

NAME_ATTEMPTS = 20


def create(ctx: Context, actor: User, app_id: object = None) -> App:
    with ctx.store.transaction(write=True) as uow:
        if app_id is None or app_id == "":
            chosen = unused_name(ctx, uow)
        else:
            chosen = names.validate_app_id(app_id)
            if uow.apps.get(chosen) is not None:
                raise Invalid("Application with this id already exists.", field="id")
        if uow.domains.get(chosen) is not None:
            raise Invalid(f"The domain {chosen} is already in use.", field="id")
        check_new_app(
            chosen,
            actor.username,
            ctx.platform_domain,
            holder_lookup(uow, ctx.platform_domain),
            holders_under(uow, f"{chosen}.{ctx.platform_domain}"),
            admin=actor.is_superuser,
        )
        app = add_app(ctx, uow, actor, chosen)
    ctx.logs.write(app.id, "controller", f"{actor.username} created {app.id}")
    routes.publish(ctx, app.id)
    return app


def unused_name(ctx: Context, uow: UnitOfWork) -> str:
    for _ in range(NAME_ATTEMPTS):
        candidate = names.generate_app_id(ctx.rng)
        if uow.apps.get(candidate) is None and uow.domains.get(candidate) is None:
            host = f"{candidate}.{ctx.platform_domain}"
            if holder_lookup(uow, ctx.platform_domain)(host) is None and not uow.domains.under(
                host
            ):
                return candidate
    raise Invalid("Could not find a free name; give one.", field="id")


def add_app(ctx: Context, uow: UnitOfWork, actor: User, app_id: str) -> App:
    """The app with everything a new app has: v1, an empty config, settings, its domain."""
    now = ctx.clock()
    owner = actor.username
    app = App(uuid=ctx.make_uuid(), id=app_id, owner=owner, structure={}, created=now, updated=now)
    uow.apps.add(app)
    config = Config(
        uuid=ctx.make_uuid(), app=app_id, owner=owner, values={}, memory={}, cpu={}, tags={},
        registry={}, healthcheck={}, created=now, updated=now,
    )  # fmt: skip
    uow.configs.add(config)
    new_release(
        ctx, uow, app, actor, build=None, config=config, summary=summaries.initial_summary(owner)
    )
    uow.domains.add(
        Domain(
            uuid=ctx.make_uuid(), app=app_id, owner=owner, domain=app_id, created=now, updated=now
        )
    )
    uow.settings.add(
        AppSettings(
            uuid=ctx.make_uuid(), app=app_id, owner=owner, maintenance=False, routable=True,
            whitelist=[], autoscale={}, label={}, created=now, updated=now,
        )
    )  # fmt: skip
    uow.tls.add(
        TLS(
            uuid=ctx.make_uuid(),
            app=app_id,
            owner=owner,
            https_enforced=False,
            created=now,
            updated=now,
        )
    )
    return app


def list_apps(ctx: Context, actor: User, offset: int, limit: int) -> tuple[list[App], int]:
    visible_to = None if actor.is_superuser else actor.username
    with ctx.store.transaction() as uow:
        return uow.apps.list(offset, limit, visible_to=visible_to)


def get(ctx: Context, actor: User, app_id: str) -> App:
    with ctx.store.transaction() as uow:
        return app_for(uow, actor, app_id)


def transfer(ctx: Context, actor: User, app_id: str, new_owner: object) -> App:
    if not isinstance(new_owner, str) or not new_owner:
        raise Invalid("Give the username of the new owner.", field="owner")
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id, manage=True, lock=True)
        if uow.users.get(new_owner) is None:
            raise Invalid(f"User {new_owner} not found.", field="owner")
        app = replace(app, owner=new_owner, updated=ctx.clock())
        uow.apps.update(app)
        if uow.perms.has(app.id, new_owner):
            uow.perms.remove(app.id, new_owner)
    ctx.logs.write(app.id, "controller", f"{actor.username} transferred {app.id} to {new_owner}")
    return app


def destroy(ctx: Context, actor: User, app_id: str) -> None:
    """Remove what the app runs first, so a failure there leaves the app to retry."""
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id, manage=True)
    ctx.router.remove(app.id)
    ctx.runtime.remove(app.id)
    for remove in ctx.app_removers:
        remove(app.id)
    with ctx.store.transaction(write=True) as uow:
        uow.apps.delete(app.id)
    ctx.logs.remove(app.id)
