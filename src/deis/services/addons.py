"""Add-ons (`deis addons`): servers made for an app and attached to apps by config vars.

Permissions are config's: whoever may configure an app (its owner, collaborators,
administrators) creates add-ons for it, attaches add-ons it can see to it and detaches
them; only the owner of the add-on's app or an administrator destroys one. Attaching and
detaching make a release with or without the var, deployed like any config change.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from deis.domain import addons as rules
from deis.domain import backup_schedules as schedules
from deis.domain.addons import Addon, Attachment
from deis.domain.backup_schedules import BackupSchedule
from deis.domain.errors import Conflict, Invalid, NotFound, PermissionDenied, Unavailable
from deis.domain.records import App, User
from deis.domain.releases import Released
from deis.domain.terminal import Opening
from deis.ports import AddonServers, Objects, Terminal, UnitOfWork
from deis.services.access import app_for, can_manage
from deis.services.context import Context
from deis.services.current import current
from deis.services.followups import follow_up
from deis.services.releases import new_release

PROVISIONING = "creating"


@dataclass(frozen=True)
class AddonView:
    """An add-on as `deis addons:info` shows it: its record, its state, its attachments."""

    addon: Addon
    state: str
    attachments: list[Attachment]
    disk_used: int | None = None  # bytes on its disk, where the servers can tell
    schedule: BackupSchedule | None = None  # its daily backups (None: on demand only)


def services() -> list[rules.Service]:
    return list(rules.SERVICES.values())


def _servers(ctx: Context) -> AddonServers:
    if ctx.addons is None:
        raise Unavailable("This platform runs no add-ons (DEIS_ADDONS=none).")
    return ctx.addons


def _visible(uow: UnitOfWork, actor: User, name: str) -> Addon:
    """The add-on if the actor may configure its app or an app it is attached to."""
    addon = uow.addons.get(rules.check_name(name)) if isinstance(name, str) else None
    if addon is None:
        raise NotFound(f"Add-on {name} not found.")
    for app_id in [addon.app, *(a.app for a in uow.addons.attachments(addon=addon.name))]:
        try:
            app_for(uow, actor, app_id)
        except NotFound:
            continue
        return addon
    raise NotFound(f"Add-on {name} not found.")


def _state(ctx: Context, name: str) -> str:
    return ctx.addons.state(name) if ctx.addons is not None else "unknown"


def list_addons(ctx: Context, actor: User, app_id: str | None = None) -> list[AddonView]:
    """The add-ons of one app (made for it or attached to it), or all the actor can see."""
    with ctx.store.transaction() as uow:
        if app_id is not None:
            found = uow.addons.of_apps([app_for(uow, actor, app_id).id])
        elif actor.is_superuser:
            found = uow.addons.all()
        else:
            apps, _ = uow.apps.list(0, 1_000_000, visible_to=actor.username)
            found = uow.addons.of_apps([a.id for a in apps]) if apps else []
        attached = {a.name: uow.addons.attachments(addon=a.name) for a in found}
        planned = {s.addon: s for s in uow.addon_schedules.all()}
    return [
        AddonView(a, _state(ctx, a.name), attached[a.name], schedule=planned.get(a.name))
        for a in found
    ]


def info(ctx: Context, actor: User, name: str) -> AddonView:
    with ctx.store.transaction() as uow:
        addon = _visible(uow, actor, name)
        attached = uow.addons.attachments(addon=addon.name)
        schedule = uow.addon_schedules.get(addon.name)
    used = ctx.addons.disk_used(addon.name) if ctx.addons is not None else None
    return AddonView(addon, _state(ctx, addon.name), attached, used, schedule)


def _var_free(uow: UnitOfWork, app_id: str, var: str) -> None:
    config = current(uow, app_id)[2]
    if var in config.values:
        raise Conflict(
            f"{app_id} has {var} set already: unset it, or attach with --as another name."
        )


def _attach(
    ctx: Context, uow: UnitOfWork, actor: User, app: App, addon: Addon, var: str
) -> Released:
    """Attach in the caller's write transaction: the attachment, a config with the var, a
    release. The follow-up (the deploy) is the caller's, once committed."""
    _var_free(uow, app.id, var)
    uow.addons.attach(Attachment(addon.name, app.id, var, ctx.clock()))
    summary = rules.attached_summary(actor.username, addon.name, var, addon.kind)
    url = ctx.addons.url(addon) if ctx.addons is not None else addon.url()
    build = _set_var(ctx, uow, actor, app, var, url, summary)
    return Released(app.id, summary, deploy=build)


def _set_var(
    ctx: Context,
    uow: UnitOfWork,
    actor: User,
    app: App,
    var: str,
    value: str | None,
    summary: str,
) -> bool:
    """A new config with the var set (None: unset) and a release; whether it deploys."""
    _, build, old = current(uow, app.id)
    values = {k: v for k, v in old.values.items() if k != var}
    if value is not None:
        values[var] = value
    now = ctx.clock()
    config = replace(
        old, uuid=ctx.make_uuid(), owner=actor.username, created=now, updated=now, values=values
    )
    uow.configs.add(config)
    new_release(ctx, uow, app, actor, build=build, config=config, summary=summary)
    return build is not None


def _reach(ctx: Context, name: str) -> None:
    """Tell the servers which apps reach the add-on now (after a commit)."""
    if ctx.addons is None:
        return
    with ctx.store.transaction() as uow:
        addon = uow.addons.get(name)
        apps = [a.app for a in uow.addons.attachments(addon=name)]
    if addon is not None:
        ctx.addons.reach(addon, apps)


def _new_name(uow: UnitOfWork, kind: rules.Service, ctx: Context) -> str:
    """A free add-on name that is no app's either (on a cluster each is a namespace)."""
    taken = uow.addons.names()
    while True:
        name = rules.new_name(kind, ctx.rng, taken)
        if uow.apps.get(name) is None:
            return name
        taken.add(name)


def create(
    ctx: Context, actor: User, app_id: str, service: object, as_name: object = None
) -> AddonView:
    """Make an add-on for the app, wait until it accepts connections, attach it."""
    kind, plan = rules.parse_service(service)
    var = rules.config_var(kind, as_name)
    servers = _servers(ctx)
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id, lock=True)
        _var_free(uow, app.id, var)
        now = ctx.clock()
        addon = Addon(
            name=_new_name(uow, kind, ctx),
            service=kind.name,
            plan=plan.name,
            app=app.id,
            owner=actor.username,
            password=secrets.token_hex(16),
            port=rules.free_port(uow.addons.ports()),
            created=now,
            updated=now,
        )
        uow.addons.add(addon)  # the name and the port are held while it is made
    try:
        servers.provision(addon)
        with ctx.store.transaction(write=True) as uow:
            app = app_for(uow, actor, app_id, lock=True)
            released = _attach(ctx, uow, actor, app, addon, var)
    except BaseException:
        servers.deprovision(addon.name)
        with ctx.store.transaction(write=True) as uow:
            uow.addons.delete(addon.name)
        raise
    ctx.logs.write(app.id, "controller", f"{actor.username} created {addon.name} ({plan.name})")
    _reach(ctx, addon.name)
    follow_up(ctx, released)
    return info(ctx, actor, addon.name)


def attach(ctx: Context, actor: User, name: str, app_id: str, as_name: object = None) -> AddonView:
    with ctx.store.transaction(write=True) as uow:
        addon = _visible(uow, actor, name)
        app = app_for(uow, actor, app_id, lock=True)
        if any(a.app == app.id for a in uow.addons.attachments(addon=addon.name)):
            raise Conflict(f"{addon.name} is attached to {app.id} already.")
        var = rules.config_var(addon.kind, as_name)
        released = _attach(ctx, uow, actor, app, addon, var)
    _reach(ctx, addon.name)
    follow_up(ctx, released)
    return info(ctx, actor, addon.name)


def detach(ctx: Context, actor: User, name: str, app_id: str) -> None:
    """Remove the var in a new release; the add-on and its data stay."""
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id, lock=True)
        addon = _visible(uow, actor, name)
        released = _detach(ctx, uow, actor, app, addon)
    _reach(ctx, addon.name)
    follow_up(ctx, released)


def _detach(ctx: Context, uow: UnitOfWork, actor: User, app: App, addon: Addon) -> Released:
    found = [a for a in uow.addons.attachments(addon=addon.name) if a.app == app.id]
    if not found:
        raise NotFound(f"{addon.name} is not attached to {app.id}.")
    uow.addons.detach(addon.name, app.id)
    summary = rules.detached_summary(actor.username, addon.name)
    build = _set_var(ctx, uow, actor, app, found[0].var, None, summary)
    return Released(app.id, summary, deploy=build)


def destroy(
    ctx: Context, actor: User, name: str, confirm: object = None, force: bool = False
) -> None:
    """Remove the server and its data. Refused while attached to an app, unless forced
    (then detached from each first, in new releases)."""
    if confirm != name:
        raise Invalid(f"Confirm with the add-on's name ({name}).", field="confirm")
    servers = _servers(ctx)
    with ctx.store.transaction(write=True) as uow:
        addon = _visible(uow, actor, name)
        owner_app = uow.apps.get(addon.app)
        if owner_app is None or not can_manage(actor, owner_app):
            raise_denied(addon)
        attached = uow.addons.attachments(addon=addon.name)
        if attached and not force:
            apps = ", ".join(a.app for a in attached)
            raise Conflict(
                f"{addon.name} is attached to {apps}: detach it first, or destroy with --force."
            )
        released = []
        for attachment in attached:
            app = uow.apps.lock(attachment.app)
            if app is not None:
                released.append(_detach(ctx, uow, actor, app, addon))
    servers.reach(addon, [])
    servers.deprovision(addon.name)
    if ctx.objects is not None:  # its backups go with it
        for key in ctx.objects.keys(rules.backups_prefix(addon.name)):
            ctx.objects.delete(key)
    with ctx.store.transaction(write=True) as uow:
        uow.addons.delete(addon.name)
    ctx.logs.write(addon.app, "controller", f"{actor.username} destroyed {addon.name}")
    for each in released:
        follow_up(ctx, each)


def change_plan(ctx: Context, actor: User, name: str, plan: object) -> AddonView:
    """`deis addons:upgrade NAME PLAN`: the server restarted with the plan's sizes and its
    data; the record changes only once it accepts connections again."""
    servers = _servers(ctx)
    with ctx.store.transaction() as uow:
        addon = _visible(uow, actor, name)
    chosen = rules.new_plan(addon, plan)
    changed = replace(addon, plan=chosen.name, updated=ctx.clock())
    servers.change_plan(addon, changed)
    with ctx.store.transaction(write=True) as uow:
        uow.addons.set_plan(addon.name, chosen.name, changed.updated)
    said = f"{actor.username} changed the plan of {addon.name} from {addon.plan} to {chosen.name}"
    ctx.logs.write(addon.app, "controller", said)
    return info(ctx, actor, addon.name)


def raise_denied(addon: Addon) -> None:
    raise PermissionDenied(
        f"Only the owner of {addon.app} or an administrator can destroy {addon.name}."
    )


def app_removed(ctx: Context, app_id: str) -> None:
    """Before an app is deleted: its add-ons go with it, unless attached to another app,
    which then holds them."""
    with ctx.store.transaction(write=True) as uow:
        gone: list[str] = []
        touched = [a.name for a in uow.addons.of_apps([app_id])]
        for addon in uow.addons.of_apps([app_id]):
            others = [a.app for a in uow.addons.attachments(addon=addon.name) if a.app != app_id]
            uow.addons.detach(addon.name, app_id)
            if addon.app != app_id:
                continue
            if others:
                uow.addons.set_app(addon.name, others[0], ctx.clock())
            else:
                gone.append(addon.name)
    for name in gone:
        if ctx.addons is not None:
            ctx.addons.deprovision(name)
        with ctx.store.transaction(write=True) as uow:
            uow.addons.delete(name)
    for name in touched:
        if name not in gone:
            _reach(ctx, name)


def adopt_all(ctx: Context) -> int:
    """At platform start: hand the servers every add-on and its attached apps."""
    if ctx.addons is None:
        return 0
    with ctx.store.transaction() as uow:
        found = [
            (a, [t.app for t in uow.addons.attachments(addon=a.name)]) for a in uow.addons.all()
        ]
    ctx.addons.adopt(found)
    return len(found)


def as_dict(view: AddonView) -> dict[str, Any]:
    """Shared by the API and the dashboard."""
    addon = view.addon
    plan = addon.sizes
    return {
        "name": addon.name,
        "service": addon.service,
        "plan": addon.plan,
        "app": addon.app,
        "owner": addon.owner,
        "state": view.state,
        "memory": f"{plan.memory_mb}M",
        "cpus": plan.cpus,
        "connections": plan.connections,
        "disk": f"{plan.disk_gb}G",
        "disk_used": view.disk_used,
        "attachments": [{"app": a.app, "var": a.var} for a in view.attachments],
        "backup_schedule": None if view.schedule is None else schedule_dict(view.schedule),
    }


def _utc_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def schedule_dict(schedule: BackupSchedule) -> dict[str, Any]:
    """Shared by the API and the dashboard."""
    last_run = schedule.last_run
    return {
        "addon": schedule.addon,
        "at": schedule.at,
        "tz": schedule.tz,
        "keep": schedule.keep,
        "last_run": None if last_run is None else _utc_text(last_run),
        "next_run": _utc_text(schedules.due_after(schedule)),
    }


def service_dict(service: rules.Service) -> dict[str, Any]:
    return {
        "name": service.name,
        "title": service.title,
        "var": service.var,
        "plans": [
            {
                "name": p.name,
                "memory": f"{p.memory_mb}M",
                "cpus": p.cpus,
                "connections": p.connections,
                "disk": f"{p.disk_gb}G",
                "description": p.description,
                "default": p.name == service.default_plan,
            }
            for p in service.plans
        ],
    }


# --- backups ---------------------------------------------------------------------------


def _objects(ctx: Context) -> Objects:
    if ctx.objects is None:
        raise Unavailable("This platform keeps no backups (no object store).")
    return ctx.objects


def list_backups(ctx: Context, actor: User, name: str) -> list[dict[str, Any]]:
    """The add-on's backups, newest first."""
    objects = _objects(ctx)
    with ctx.store.transaction() as uow:
        addon = _visible(uow, actor, name)
    found = backup_records(objects, addon.name)
    return sorted(found, key=lambda b: str(b.get("id")), reverse=True)


def backup(ctx: Context, actor: User, name: str) -> dict[str, Any]:
    """A snapshot of the add-on's data into the object store, now."""
    _servers(ctx)  # unavailable before anything is looked up
    _objects(ctx)
    with ctx.store.transaction() as uow:
        addon = _visible(uow, actor, name)
    return take_backup(ctx, addon, actor.username, ctx.clock())


def backup_records(objects: Objects, name: str) -> list[dict[str, Any]]:
    """The records of the add-on's backups, in no order."""
    prefix = rules.backups_prefix(name)
    return [json.loads(objects.get(k)) for k in objects.keys(prefix) if k.endswith(".json")]


def take_backup(
    ctx: Context, addon: Addon, by: str, now: datetime, scheduled: bool = False
) -> dict[str, Any]:
    """The snapshot and its record (`scheduled`: taken by a schedule, which prunes only
    those), and a line in the add-on's app's log."""
    servers, objects = _servers(ctx), _objects(ctx)
    prefix = rules.backups_prefix(addon.name)
    taken = {k.removeprefix(prefix + "/").split(".", 1)[0] for k in objects.keys(prefix)}
    made = rules.backup_id(now, taken)
    size = servers.backup(addon, rules.backup_key(addon, made))
    record = {
        "id": made,
        "addon": addon.name,
        "service": addon.service,
        "size": size,
        "created": _utc_text(now),
        "owner": by,
        **({"scheduled": True} if scheduled else {}),
    }
    objects.put(f"{prefix}/{made}.json", json.dumps(record).encode())
    ctx.logs.write(addon.app, "controller", f"{by} backed up {addon.name} ({made})")
    return record


def restore(ctx: Context, actor: User, name: str, backup_id: object) -> dict[str, Any]:
    """Replace the add-on's data with a backup's (the attached apps see it at once)."""
    wanted = rules.check_backup_id(backup_id)
    servers, objects = _servers(ctx), _objects(ctx)
    with ctx.store.transaction() as uow:
        addon = _visible(uow, actor, name)
    record_key = f"{rules.backups_prefix(addon.name)}/{wanted}.json"
    if not objects.exists(record_key):
        raise NotFound(f"{addon.name} has no backup {wanted}.")
    servers.restore(addon, rules.backup_key(addon, wanted))
    message = f"{actor.username} restored {addon.name} from {wanted}"
    ctx.logs.write(addon.app, "controller", message)
    return dict(json.loads(objects.get(record_key)))


def terminal(ctx: Context, actor: User, name: str, opening: Opening) -> Terminal:
    """`deis addons:connect`: the service's client on a terminal, for whoever may
    configure an app it belongs or is attached to."""
    servers = _servers(ctx)
    with ctx.store.transaction() as uow:
        addon = _visible(uow, actor, name)
    ctx.logs.write(addon.app, "controller", f"{actor.username} connected to {addon.name}")
    return servers.terminal(addon, opening)
