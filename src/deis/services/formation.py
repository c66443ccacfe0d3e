"""Processes: scale, list, restart, one-off runs and logs. The runtime does the work."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from deis.domain import formation
from deis.domain import terminal as terminal_rules
from deis.domain.desired import Pod, RunResult
from deis.domain.errors import Conflict, Invalid, NotFound
from deis.domain.logs import LineFilter
from deis.domain.records import User
from deis.domain.terminal import Opening
from deis.ports import Terminal
from deis.services import deploys
from deis.services.access import app_for
from deis.services.context import Context
from deis.services.current import current

MAX_LOG_LINES = 10_000


def scale(ctx: Context, actor: User, app_id: str, changes: dict[str, object]) -> dict[str, int]:
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id, lock=True)
        _, build, _ = current(uow, app.id)
        if build is None:
            raise Conflict("No build associated with this release; push code before scaling.")
        structure = formation.scale(app.structure, changes, build)
        uow.apps.update(replace(app, structure=structure, updated=ctx.clock()))
    counts = " ".join(f"{t}={n}" for t, n in sorted(changes.items()))
    ctx.logs.write(app.id, "controller", f"{actor.username} scaled {counts}")
    deploys.deploy_latest(ctx, app.id)
    return structure


def autoscale(
    ctx: Context, app_id: str, proc_type: str, was: int, replicas: int, reason: str
) -> bool:
    """The autoscaler's scale: `proc_type` from `was` to `replicas`, unless its count changed
    meanwhile (a user's scale wins; the next pass decides again). True when scaled."""
    with ctx.store.transaction(write=True) as uow:
        app = uow.apps.lock(app_id)
        if app is None or app.structure.get(proc_type, 0) != was:
            return False
        _, build, _ = current(uow, app.id)
        if build is None:
            return False
        structure = formation.scale(app.structure, {proc_type: replicas}, build)
        uow.apps.update(replace(app, structure=structure, updated=ctx.clock()))
    ctx.logs.write(app_id, "autoscaler", f"scaled {proc_type} from {was} to {replicas} ({reason})")
    deploys.deploy_latest(ctx, app_id)
    return True


def pods(ctx: Context, actor: User, app_id: str, proc_type: str | None = None) -> list[Pod]:
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
    return ctx.runtime.pods(app.id, proc_type)


def restart(
    ctx: Context, actor: User, app_id: str, proc_type: str | None = None, name: str | None = None
) -> list[Pod]:
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        if proc_type is not None:
            unknown = formation.unknown_type(proc_type, current(uow, app.id)[1])
            if unknown is not None:
                raise NotFound(unknown)
    restarted = ctx.runtime.restart(app.id, proc_type, name)
    ctx.logs.write(app.id, "controller", f"{actor.username} restarted {name or proc_type or 'all'}")
    return restarted


def run(ctx: Context, actor: User, app_id: str, command: object) -> RunResult:
    command = terminal_rules.command(command)
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
    desired = deploys.desired_for(ctx, app.id)
    deploys.require_build(desired, "run this command")
    ctx.logs.write(app.id, "controller", f"{actor.username} runs '{command}'")
    return ctx.runtime.run(desired, command)


def terminal(ctx: Context, actor: User, app_id: str, opening: Opening) -> Terminal:
    """An interactive one-off run: like `run`, with the same permission, on a terminal."""
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
    desired = deploys.desired_for(ctx, app.id)
    deploys.require_build(desired, "run this command")
    ctx.logs.write(app.id, "controller", f"{actor.username} runs '{opening.command}' interactively")
    return ctx.runtime.terminal(desired, opening)


def metrics(ctx: Context, actor: User, app_id: str) -> dict[str, Any]:
    """What the router counted for the app: requests, status classes, latency."""
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
    return ctx.router.metrics(app.id)


def _readable_logs(ctx: Context, actor: User, app_id: str, lines: int) -> str:
    if not 1 <= lines <= MAX_LOG_LINES:
        raise Invalid(f"Must be between 1 and {MAX_LOG_LINES}.", field="log_lines")
    with ctx.store.transaction() as uow:
        return app_for(uow, actor, app_id).id


def logs(
    ctx: Context,
    actor: User,
    app_id: str,
    lines: int,
    proc_type: str | None = None,
    replica: str | None = None,
) -> str:
    """The last lines; with a type or a replica, only what those replicas printed."""
    app = _readable_logs(ctx, actor, app_id, lines)
    return ctx.logs.tail(app, lines, LineFilter.of(app, proc_type, replica))


def follow_logs(
    ctx: Context,
    actor: User,
    app_id: str,
    lines: int,
    proc_type: str | None = None,
    replica: str | None = None,
) -> Iterator[str]:
    """The last lines, then new ones as they are written (the caller stops reading)."""
    app = _readable_logs(ctx, actor, app_id, lines)
    return ctx.logs.follow(app, lines, LineFilter.of(app, proc_type, replica))
