"""Daily backups of add-ons (`deis addons:backups:schedule`), with the permissions of an
on-demand backup: whoever may configure an app the add-on belongs or is attached to.

The platform's loop (deis.platform.addon_backups) calls `take_scheduled_backups` every
minute or so: each due schedule takes a backup as `deis addons:backup` does, by
"scheduled", then the oldest scheduled backups beyond its `keep` are deleted (on-demand
ones never are).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from deis.domain import backup_schedules as rules
from deis.domain.addons import Addon, backup_key, backups_prefix
from deis.domain.backup_schedules import BackupSchedule
from deis.domain.errors import DomainError, NotFound
from deis.domain.records import User
from deis.ports import Objects
from deis.services import addons
from deis.services.context import Context

log = logging.getLogger(__name__)


def get(ctx: Context, actor: User, name: str) -> BackupSchedule:
    with ctx.store.transaction() as uow:
        addon = addons._visible(uow, actor, name)
        found = uow.addon_schedules.get(addon.name)
    if found is None:
        raise NotFound(f"{addon.name} is backed up on demand only (no schedule).")
    return found


def set_schedule(
    ctx: Context, actor: User, name: str, at: object, tz: object = None, keep: object = None
) -> BackupSchedule:
    """Set (or change) the add-on's daily backups; a change keeps when it last ran."""
    with ctx.store.transaction(write=True) as uow:
        addon = addons._visible(uow, actor, name)
        schedule = rules.parse_schedule(addon.name, at, tz, keep, ctx.clock())
        before = uow.addon_schedules.get(addon.name)
        if before is not None:
            schedule = replace(schedule, last_run=before.last_run)
        uow.addon_schedules.save(schedule)
    said = f"{actor.username} scheduled backups of {addon.name}: {rules.describe(schedule)}"
    ctx.logs.write(addon.app, "controller", said)
    return schedule


def remove(ctx: Context, actor: User, name: str) -> None:
    """Back to on-demand backups only (the backups taken stay)."""
    with ctx.store.transaction(write=True) as uow:
        addon = addons._visible(uow, actor, name)
        if uow.addon_schedules.get(addon.name) is None:
            raise NotFound(f"{addon.name} has no backup schedule.")
        uow.addon_schedules.delete(addon.name)
    said = f"{actor.username} unscheduled the backups of {addon.name}"
    ctx.logs.write(addon.app, "controller", said)


def take_scheduled_backups(ctx: Context, now: datetime) -> list[str]:
    """One pass: a backup of every add-on whose schedule is due; answers their names. A
    failure is written to the add-on's app's log and the others go on."""
    if ctx.addons is None or ctx.objects is None:
        return []
    with ctx.store.transaction() as uow:
        due = [
            (schedule, uow.addons.get(schedule.addon))
            for schedule in uow.addon_schedules.all()
            if rules.due(schedule, now)
        ]
    return [
        addon.name
        for schedule, addon in due
        if addon is not None and _take(ctx, ctx.objects, schedule, addon, now)
    ]


def _take(
    ctx: Context, objects: Objects, schedule: BackupSchedule, addon: Addon, now: datetime
) -> bool:
    """Whether the backup was taken. Either way the schedule has run: a failed one is
    tried again at the next scheduled time, not every pass."""
    try:
        addons.take_backup(ctx, addon, rules.SCHEDULED_BY, now, scheduled=True)
        taken = True
    except Exception as error:  # whatever the servers raise, the other add-ons go on
        if not isinstance(error, DomainError):
            log.exception("the scheduled backup of %s failed", addon.name)
        said = f"the scheduled backup of {addon.name} failed: {error}"
        ctx.logs.write(addon.app, "controller", said)
        taken = False
    with ctx.store.transaction(write=True) as uow:
        uow.addon_schedules.ran(addon.name, now)
    if taken:
        _prune(objects, addon, schedule.keep)
    return taken


def _prune(objects: Objects, addon: Addon, keep: int) -> None:
    records = addons.backup_records(objects, addon.name)
    for old in rules.to_prune(records, keep):
        objects.delete(f"{backups_prefix(addon.name)}/{old}.json")
        objects.delete(backup_key(addon, old))
