"""An app's config: environment values, limits, tags, registry credentials, healthchecks.

Every change makes a new Config and a new release from it and the current build.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from deis.domain import config as rules
from deis.domain import formation
from deis.domain import releases as summaries
from deis.domain.errors import Invalid
from deis.domain.records import Config, User
from deis.domain.releases import Released
from deis.domain.routing import ROUTER_KEYS
from deis.services.access import app_for
from deis.services.context import Context
from deis.services.current import current
from deis.services.followups import follow_up
from deis.services.releases import new_release

FIELDS = ("values", "memory", "cpu", "tags", "registry", "healthcheck")


def get_config(ctx: Context, actor: User, app_id: str) -> Config:
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        return current(uow, app.id)[2]


def limited_types(changes: dict[str, Any]) -> list[str]:
    """The process types a change sets a memory or CPU limit for (not those it unsets)."""
    names: list[str] = []
    for name in ("memory", "cpu"):
        change = changes.get(name)
        if isinstance(change, dict):
            names += [str(t) for t, v in change.items() if v is not None and str(t) not in names]
    return names


def merged(old: Config, changes: dict[str, Any]) -> dict[str, Any]:
    """The config's fields after the changes; each field merges onto the old one."""
    fields: dict[str, Any] = {}
    for name in FIELDS:
        change = changes.get(name)
        if change is None:
            continue
        if not isinstance(change, dict):
            raise Invalid("Must be an object of names to values.", field=name)
        if name == "values":
            fields[name] = rules.merge_values(old.values, change)
        elif name in ("memory", "cpu"):
            fields[name] = rules.merge_limits(getattr(old, name), change, name)
        elif name == "tags":
            fields[name] = rules.merge_tags(old.tags, change)
        elif name == "registry":
            fields[name] = rules.merge_registry(old.registry, change)
        else:
            fields[name] = rules.merge_healthcheck(old.healthcheck, change)
    return fields


def set_config(ctx: Context, actor: User, app_id: str, changes: dict[str, Any]) -> Config:
    """Merge the changes onto the current config; a value of None unsets it.

    A change that changes nothing makes no release and answers the current config.
    """
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id, lock=True)
        _, build, old = current(uow, app.id)
        fields = merged(old, changes)
        if build is not None:  # before the first build, limits may be set for types to come
            formation.require_types(limited_types(changes), build)
        if all(getattr(old, name) == value for name, value in fields.items()):
            return old
        now = ctx.clock()
        config = replace(
            old, uuid=ctx.make_uuid(), owner=actor.username, created=now, updated=now, **fields
        )
        uow.configs.add(config)
        summary = summaries.config_change_summary(actor.username, old, config)
        new_release(ctx, uow, app, actor, build=build, config=config, summary=summary)
    publish = any(old.values.get(k) != config.values.get(k) for k in ROUTER_KEYS)
    follow_up(ctx, Released(app.id, summary, publish=publish, deploy=build is not None))
    return config
