"""Domains of an app: its default one (APP.<platform domain>) and custom ones."""

from __future__ import annotations

from deis.domain.domains import resolve_host, validate_domain
from deis.domain.errors import Invalid, NotFound
from deis.domain.hosts import check_custom_host
from deis.domain.records import Domain, User
from deis.services import routes
from deis.services.access import app_for
from deis.services.context import Context
from deis.services.hostnames import holder_lookup


def list_domains(
    ctx: Context, actor: User, app_id: str, offset: int, limit: int
) -> tuple[list[Domain], int]:
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        return uow.domains.list(app.id, offset, limit)


def add(ctx: Context, actor: User, app_id: str, domain: object) -> Domain:
    name = validate_domain(domain)
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id)
        if uow.domains.get(name) is not None:
            raise Invalid(f"Domain {name} is already in use by an application.", field="domain")
        if "." not in name and name != app.id:
            raise Invalid(
                "A domain without a dot names the app itself; give a full domain name.",
                field="domain",
            )
        host = resolve_host(name, ctx.platform_domain)
        own, _ = uow.domains.list(app.id, 0, 10_000)
        if host in {resolve_host(d.domain, ctx.platform_domain) for d in own}:
            raise Invalid(f"Domain {host} is already a domain of {app.id}.", field="domain")
        check_custom_host(
            host,
            app.id,
            app.owner,
            ctx.platform_domain,
            holder_lookup(uow, ctx.platform_domain),
            admin=actor.is_superuser,
        )
        now = ctx.clock()
        record = Domain(
            uuid=ctx.make_uuid(), app=app.id, owner=actor.username, domain=name,
            created=now, updated=now,
        )  # fmt: skip
        uow.domains.add(record)
    ctx.logs.write(app.id, "controller", f"{actor.username} added domain {name}")
    routes.publish(ctx, app.id)
    return record


def remove(ctx: Context, actor: User, app_id: str, domain: str) -> None:
    name = domain.lower().rstrip(".")
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id)
        record = uow.domains.get(name)
        if record is None or record.app != app.id:
            raise NotFound(f"Domain {name} not found on {app.id}.")
        uow.domains.delete(name)
    ctx.logs.write(app.id, "controller", f"{actor.username} removed domain {name}")
    routes.publish(ctx, app.id)
