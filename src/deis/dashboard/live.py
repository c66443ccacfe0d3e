"""What the runtime and the router say about an app right now. Either may be absent
(a platform without a router, a runtime that runs nothing): then the page says so."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from deis.dashboard import present
from deis.dashboard.rates import RateMeter, Traffic
from deis.domain.desired import Pod
from deis.domain.errors import DomainError, NotFound, PermissionDenied
from deis.domain.records import User
from deis.services import formation, sleep
from deis.services.context import Context
from deis.services.overview import AppSummary

log = logging.getLogger("deis.dashboard")


@dataclass(frozen=True)
class Live:
    state: str
    pods: list[Pod] | None  # None: the runtime does not report replicas
    pods_note: str
    traffic: Traffic | None  # None: the router counts nothing here
    traffic_note: str
    asleep_since: datetime | None = None  # asleep (deis ps:sleep) since then


def pods_of(ctx: Context, actor: User, app_id: str) -> tuple[list[Pod] | None, str]:
    try:
        return formation.pods(ctx, actor, app_id), ""
    except (NotFound, PermissionDenied):
        raise
    except DomainError as error:
        return None, error.message


def traffic_of(
    ctx: Context, meter: RateMeter, actor: User, app_id: str
) -> tuple[Traffic | None, str]:
    try:
        snapshot = formation.metrics(ctx, actor, app_id)
    except (NotFound, PermissionDenied):
        raise
    except DomainError as error:
        return None, error.message
    return meter.observe(app_id, snapshot, time.time()), ""


def asleep_since(ctx: Context, app_id: str) -> datetime | None:
    state = sleep.state_of(ctx, app_id)
    return (state.since or datetime.now(UTC)) if state is not None and state.asleep else None


def live(ctx: Context, meter: RateMeter, actor: User, summary: AppSummary) -> Live:
    app_id = summary.app.id
    pods, pods_note = pods_of(ctx, actor, app_id)
    traffic, traffic_note = traffic_of(ctx, meter, actor, app_id)
    since = asleep_since(ctx, app_id)
    state = (
        present.live_state(summary.latest, summary.app.structure, pods, since is not None)
        if pods is not None
        else present.record_state(summary.latest)
    )
    return Live(state, pods, pods_note, traffic, traffic_note, since)
