"""An app's routing settings (maintenance, routable, allow-list, autoscale, label) and TLS.

Each change adds a new record, so the history is kept; the latest one is in force.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from deis.domain import appsettings as rules
from deis.domain.errors import Invalid
from deis.domain.records import TLS, AppSettings, User
from deis.ports import UnitOfWork
from deis.services import deploys, routes
from deis.services.access import app_for
from deis.services.context import Context


def _latest(uow: UnitOfWork, app_id: str) -> AppSettings:
    settings = uow.settings.latest(app_id)
    assert settings is not None, "every app gets settings when it is created"
    return settings


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid("Must be true or false.", field=field)
    return value


def get(ctx: Context, actor: User, app_id: str) -> AppSettings:
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        return _latest(uow, app.id)


def changed_fields(old: AppSettings, changes: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in ("maintenance", "routable"):
        if changes.get(name) is not None:
            fields[name] = _flag(changes[name], name)
    if changes.get("whitelist") is not None:
        fields["whitelist"] = rules.validate_whitelist(changes["whitelist"])
    if changes.get("autoscale") is not None:
        fields["autoscale"] = rules.merge_autoscale(old.autoscale, changes["autoscale"])
    if changes.get("label") is not None:
        fields["label"] = rules.merge_label(old.label, changes["label"])
    return fields


def update(ctx: Context, actor: User, app_id: str, changes: dict[str, Any]) -> AppSettings:
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id, lock=True)
        old = _latest(uow, app.id)
        fields = changed_fields(old, changes)
        if not fields:
            raise Invalid(
                "Give at least one of maintenance, routable, whitelist, autoscale, label.",
                field="non_field_errors",
            )
        settings = _save(ctx, uow, actor, old, fields)
    words = ", ".join(f"{k}={v}" for k, v in sorted(fields.items()))
    ctx.logs.write(app.id, "controller", f"{actor.username} changed settings: {words}")
    routes.publish(ctx, app.id)
    if "autoscale" in fields:  # the runtime's desired state carries the rules
        deploys.deploy_latest(ctx, app.id)
    return settings


def _save(
    ctx: Context, uow: UnitOfWork, actor: User, old: AppSettings, fields: dict[str, Any]
) -> AppSettings:
    now = ctx.clock()
    settings = replace(
        old, uuid=ctx.make_uuid(), owner=actor.username, created=now, updated=now, **fields
    )
    uow.settings.add(settings)
    return settings


def whitelist(ctx: Context, actor: User, app_id: str) -> list[str]:
    return get(ctx, actor, app_id).whitelist


def change_whitelist(
    ctx: Context, actor: User, app_id: str, addresses: object, *, add: bool
) -> list[str]:
    wanted = rules.validate_whitelist(addresses)
    if not wanted:
        raise Invalid("Give at least one address.", field="addresses")
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id, lock=True)
        old = _latest(uow, app.id)
        if add:
            new = rules.merge_whitelist_add(old.whitelist, wanted)
        else:
            new = rules.merge_whitelist_remove(old.whitelist, wanted)
        _save(ctx, uow, actor, old, {"whitelist": new})
    verb = "allowed" if add else "stopped allowing"
    ctx.logs.write(app.id, "controller", f"{actor.username} {verb} {', '.join(wanted)}")
    routes.publish(ctx, app.id)
    return new


def get_tls(ctx: Context, actor: User, app_id: str) -> TLS:
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        tls = uow.tls.latest(app.id)
        assert tls is not None, "every app gets TLS settings when it is created"
        return tls


def set_tls(ctx: Context, actor: User, app_id: str, https_enforced: object) -> TLS:
    enforced = _flag(https_enforced, "https_enforced")
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id, lock=True)
        old = uow.tls.latest(app.id)
        assert old is not None
        now = ctx.clock()
        tls = replace(
            old, uuid=ctx.make_uuid(), owner=actor.username, https_enforced=enforced,
            created=now, updated=now,
        )  # fmt: skip
        uow.tls.add(tls)
    state = "enforced" if enforced else "no longer enforced"
    ctx.logs.write(app.id, "controller", f"{actor.username}: HTTPS {state}")
    routes.publish(ctx, app.id)
    return tls
