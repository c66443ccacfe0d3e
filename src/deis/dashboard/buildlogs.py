"""Build attempts and their output, when the platform keeps them (the logs extension:
`deis.services.builds.list_attempts` and `attempt_output`, answering Unavailable when
no output is kept). Without it the builds page lists the builds and says so."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from deis.dashboard.web import DashboardRoute, Viewer, context_of, render
from deis.domain.errors import NotFound, Unavailable
from deis.services import builds, overview

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

ATTEMPTS_SHOWN = 50


def attempts(request: Request, me: Viewer, app_id: str) -> list[Any] | None:
    """The app's build attempts, newest first; None when the platform keeps none."""
    list_attempts = getattr(builds, "list_attempts", None)
    if list_attempts is None:
        return None
    try:
        found, _ = list_attempts(context_of(request), me.user, app_id, 0, ATTEMPTS_SHOWN)
    except Unavailable:
        return None
    return list(found)


@router.get("/apps/{app_id}/builds/{build_id}/output")
def build_output(request: Request, app_id: str, build_id: str, me: Viewer) -> HTMLResponse:
    ctx = context_of(request)
    summary = overview.app_summary(ctx, me.user, app_id)
    get_attempt = getattr(builds, "get_attempt", None)
    read = getattr(builds, "attempt_output", None)
    if get_attempt is None or read is None:
        raise NotFound("This platform keeps no build output.")
    attempt = get_attempt(ctx, me.user, app_id, build_id)
    text = read(ctx, me.user, app_id, build_id)
    return render(
        request, "build_output.html", tab="builds", app=summary.app, attempt=attempt,
        lines=str(text).splitlines(),
    )  # fmt: skip
