"""Idle apps sleep and wake (deis.domain.sleep): the setting (`deis ps:sleep`), putting
an app to sleep (the sleep loop) and waking it (the router, on a request; `deis
ps:wake`). Sleeping and waking go through the deploy of the app's current release, whose
desired state says which types are asleep, so every deploy keeps an app's sleep as it is.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from deis.domain.errors import Conflict, DeployFailed, NotFound, Unavailable
from deis.domain.records import User
from deis.domain.sleep import (
    NEVER,
    SLEEPING_TYPE,
    SleepState,
    asleep_event,
    describe_after,
    may_sleep,
    new_after,
    woken_event,
)
from deis.ports import UnitOfWork
from deis.services import deploys, routes
from deis.services.access import app_for
from deis.services.context import Context

log = logging.getLogger(__name__)

NOT_HERE = (
    "Apps cannot sleep on this platform: its runtime or router cannot stop and wake them"
    " (Kubernetes: not yet)."
)


@dataclass(frozen=True)
class SleepView:
    """What `deis ps:sleep` shows."""

    state: SleepState
    after: int  # the effective idle time in seconds (0: never)
    default: bool  # `after` is the platform's default


def _state(uow: UnitOfWork, app_id: str) -> SleepState:
    return uow.sleep.get(app_id) or SleepState(app_id)


def _view(ctx: Context, state: SleepState) -> SleepView:
    return SleepView(state, state.effective_after(ctx.sleep_after), state.after is None)


def get(ctx: Context, actor: User, app_id: str) -> SleepView:
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        return _view(ctx, _state(uow, app.id))


def configure(
    ctx: Context,
    actor: User,
    app_id: str,
    *,
    after: str | int | None,
    all_types: bool | None = None,
    default: bool = False,
) -> SleepView:
    """Set the idle time (`after`: "30m", seconds, "never"), or go back to the platform's
    default; an app set to never sleep while asleep wakes."""
    new_after(after, default, None)  # a bad duration is refused before anything is read
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id, lock=True)
        old = _state(uow, app.id)
        new = replace(
            old,
            after=new_after(after, default, old.after),
            all_types=old.all_types if all_types is None else all_types,
        )
        if new.after and new.after != old.after and not ctx.sleeps:
            raise Unavailable(NOT_HERE)
        uow.sleep.save(new)
    types = "all types" if new.all_types else "web"
    said = f"after={describe_after(new.after)} ({types})"
    ctx.logs.write(app.id, "controller", f"{actor.username} set sleep: {said}")
    routes.publish(ctx, app.id)  # the router holds requests only for apps that may sleep
    view = _view(ctx, new)
    if new.asleep and view.after == NEVER:
        wake(ctx, app.id, by=actor.username)
    return view


def put_to_sleep(ctx: Context, app_id: str, idle: float) -> bool:
    """Stop the app's sleeping types (the sleep loop decided). False when it may not
    sleep any more (a user changed its setting, it has no web type) or is gone."""
    with ctx.store.transaction(write=True) as uow:
        app = uow.apps.lock(app_id)
        if app is None:
            return False
        state = _state(uow, app_id)
        if not may_sleep(state, app.structure, ctx.sleep_after):
            return False
        uow.sleep.save(replace(state, asleep=True, since=ctx.clock()))
    return _stop(ctx, app_id, asleep_event(idle))


def _stop(ctx: Context, app_id: str, event: str) -> bool:
    ctx.logs.write(app_id, "runtime", event)
    routes.publish(ctx, app_id)  # held requests wake it, whatever its setting
    try:
        deploys.deploy_latest(ctx, app_id)
    except NotFound:
        return False
    return True


def sleep_now(ctx: Context, actor: User, app_id: str) -> SleepView:
    """`deis ps:sleep --now`: asleep at once, whatever its idle time; the next request
    wakes it. An app without a web type has nothing to wake it: refused."""
    if not ctx.sleeps:
        raise Unavailable(NOT_HERE)
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id, lock=True)
        state = _state(uow, app.id)
        if app.structure.get(SLEEPING_TYPE, 0) <= 0:
            raise Conflict(f"{app.id} has no web process: no request would wake it.")
        if not state.asleep:
            uow.sleep.save(replace(state, asleep=True, since=ctx.clock()))
    if not state.asleep:
        _stop(ctx, app.id, f"asleep: put to sleep by {actor.username}")
    return get(ctx, actor, app_id)


def state_of(ctx: Context, app_id: str) -> SleepState | None:
    with ctx.store.transaction() as uow:
        return uow.sleep.get(app_id)


def is_asleep(ctx: Context, app_id: str) -> bool:
    state = state_of(ctx, app_id)
    return state is not None and state.asleep


def wake(ctx: Context, app_id: str, by: str = "a request") -> float | None:
    """Start the app's sleeping types; returns when they serve, with the seconds it took.
    None when the app was not asleep: it is deployed all the same (a wake or a deploy
    under way is waited for; replicas that crashed are started again). Raises NotFound
    for an app that is gone, DeployFailed when the replicas cannot serve (a sleeping app
    then stays asleep, and the next request tries again)."""
    began = time.monotonic()
    with ctx.store.transaction(write=True) as uow:
        if uow.apps.lock(app_id) is None:
            raise NotFound(f"App {app_id} not found.")
        state = _state(uow, app_id)
        if state.asleep:
            uow.sleep.save(replace(state, asleep=False, since=ctx.clock()))
    if not state.asleep:
        deploys.deploy_latest(ctx, app_id)
        return None
    try:
        deploys.deploy_latest(ctx, app_id)
    except DeployFailed:
        _asleep_again(ctx, app_id)
        raise
    took = time.monotonic() - began
    routes.publish(ctx, app_id)
    ctx.logs.write(app_id, "runtime", woken_event(by, took))
    return took


def _asleep_again(ctx: Context, app_id: str) -> None:
    """A wake that failed: the runtime went back to the asleep state, so do the records."""
    with ctx.store.transaction(write=True) as uow:
        if uow.apps.lock(app_id) is None:
            return
        uow.sleep.save(replace(_state(uow, app_id), asleep=True, since=ctx.clock()))


def wake_by_user(ctx: Context, actor: User, app_id: str) -> SleepView:
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
    wake(ctx, app.id, by=actor.username)
    return get(ctx, actor, app_id)
