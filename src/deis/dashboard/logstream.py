"""An app's logs in the browser: the page shows the last lines, then follows new ones
over Server-Sent Events read from the same follow stream as `deis logs -f`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from deis.dashboard.web import DashboardRoute, Viewer, context_of, dashboard_of, render
from deis.domain.errors import DomainError, NotFound, PermissionDenied
from deis.services import formation, overview
from deis.threads import blocking, blocking_iterate

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

LINES = 200
STREAMS_AT_ONCE = 16  # each live stream holds one of the blocking threads while it polls
KEEPALIVE_SECONDS = 15.0


def follow_slots() -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(STREAMS_AT_ONCE)


@router.get("/apps/{app_id}/logs")
@blocking  # the log adapter may ask the Kubernetes API (DEIS_LOGS=kubernetes)
def logs_page(request: Request, app_id: str, me: Viewer) -> HTMLResponse:
    ctx = context_of(request)
    summary = overview.app_summary(ctx, me.user, app_id)
    try:
        text, note = formation.logs(ctx, me.user, app_id, LINES), ""
    except (NotFound, PermissionDenied):
        raise
    except DomainError as error:
        text, note = "", error.message
    return render(
        request, "logs.html", tab="logs", app=summary.app, lines=text.splitlines(), note=note
    )


def events(chunks: Iterator[str], slots: threading.BoundedSemaphore) -> Iterator[str]:
    """SSE: the backlog as one `backlog` event, then each chunk of new lines as a
    message, a comment now and then so proxies keep the connection open. With every
    slot taken, one `busy` event and the end (the page says so and offers a retry)."""
    if not slots.acquire(blocking=False):
        yield "event: busy\ndata: Too many live log streams are open; try again soon.\n\n"
        return
    try:
        first = True
        quiet_since = time.monotonic()
        for chunk in chunks:
            if chunk:
                data = "".join(f"data: {line}\n" for line in chunk.splitlines())
                yield ("event: backlog\n" if first else "") + data + "\n"
                first = False
                quiet_since = time.monotonic()
            elif first:
                yield "event: backlog\ndata:\n\n"  # nothing written yet: an empty log
                first = False
            elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                yield ": keepalive\n\n"
                quiet_since = time.monotonic()
    finally:
        slots.release()


@router.get("/apps/{app_id}/logs/stream")
def logs_stream(request: Request, app_id: str, me: Viewer) -> StreamingResponse:
    slots: threading.BoundedSemaphore = dashboard_of(request).follow_slots
    chunks = formation.follow_logs(context_of(request), me.user, app_id, LINES)
    return StreamingResponse(
        blocking_iterate(events(chunks, slots)),  # not the few threads of quick requests
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
