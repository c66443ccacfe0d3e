"""/v2/apps/<id>/pods, /scale, /run (also as a WebSocket), /logs: what the runtime runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response, WebSocket
from fastapi.responses import PlainTextResponse, StreamingResponse

from deis.api import serialize, terminal
from deis.api.deps import Ctx, Me, Paging
from deis.api.responses import JSONResponse
from deis.api.routes.docs import responses
from deis.api.routing import SlashRouter
from deis.api.schemas import MetricsOut, PodListOut, PodOut, RunIn, RunOut, ScaleIn, page_of
from deis.services import formation
from deis.threads import blocking, blocking_iterate

router = SlashRouter(prefix="/v2/apps/{app_id}")


@router.get("/pods", responses=responses(page_of(PodOut)))
@blocking
def list_pods(app_id: str, ctx: Ctx, me: Me, page: Paging) -> JSONResponse:
    found = formation.pods(ctx, me, app_id)
    return page.response(
        [serialize.pod(p) for p in found[page.offset : page.offset + page.limit]], len(found)
    )


@router.get("/pods/{proc_type}", responses=responses(page_of(PodOut)))
@blocking
def list_pods_of_type(app_id: str, proc_type: str, ctx: Ctx, me: Me, page: Paging) -> JSONResponse:
    found = formation.pods(ctx, me, app_id, proc_type)
    return page.response(
        [serialize.pod(p) for p in found[page.offset : page.offset + page.limit]], len(found)
    )


@router.get("/pods/{proc_type}/{name}", responses=responses(page_of(PodOut)))
@blocking
def get_pod(app_id: str, proc_type: str, name: str, ctx: Ctx, me: Me, page: Paging) -> JSONResponse:
    found = [p for p in formation.pods(ctx, me, app_id, proc_type) if p.name == name]
    return page.response([serialize.pod(p) for p in found], len(found))


@router.post("/pods/restart", responses=responses(PodListOut))
@blocking
def restart_all(app_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse([serialize.pod(p) for p in formation.restart(ctx, me, app_id)])


@router.post("/pods/{proc_type}/restart", responses=responses(PodListOut))
@blocking
def restart_type(app_id: str, proc_type: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse([serialize.pod(p) for p in formation.restart(ctx, me, app_id, proc_type)])


@router.post("/pods/{proc_type}/{name}/restart", responses=responses(PodListOut))
@blocking
def restart_one(app_id: str, proc_type: str, name: str, ctx: Ctx, me: Me) -> JSONResponse:
    restarted = formation.restart(ctx, me, app_id, proc_type, name)
    return JSONResponse([serialize.pod(p) for p in restarted])


@router.post("/scale", status_code=204, responses=responses(status=204))
@blocking
def scale(app_id: str, body: ScaleIn, ctx: Ctx, me: Me) -> Response:
    formation.scale(ctx, me, app_id, dict(body.root))
    return Response(status_code=204)


@router.post("/run", responses=responses(RunOut))
@blocking
def run(app_id: str, body: RunIn, ctx: Ctx, me: Me) -> JSONResponse:
    result = formation.run(ctx, me, app_id, body.command)
    return JSONResponse({"exit_code": result.exit_code, "output": result.output})


@router.websocket("/run")
@router.websocket("/run/")
async def run_on_terminal(websocket: WebSocket, app_id: str) -> None:
    """Extension: the run route upgraded to a WebSocket runs the command on a terminal."""
    await terminal.serve(websocket, app_id)


@router.get("/metrics", responses=responses(MetricsOut))
@blocking
def metrics(app_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    """Extension: requests, status classes and latency the router counted for the app."""
    return JSONResponse(formation.metrics(ctx, me, app_id))


@router.get("/logs", response_class=PlainTextResponse, responses=responses())
@blocking  # the log adapter may ask the Kubernetes API (DEIS_LOGS=kubernetes)
def logs(
    app_id: str,
    ctx: Ctx,
    me: Me,
    log_lines: Annotated[int, Query(ge=1, le=formation.MAX_LOG_LINES)] = 100,
    follow: bool = False,
    proc_type: Annotated[str | None, Query(alias="type", max_length=63)] = None,
    replica: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The app's last lines, oldest first. Extensions: `follow=true` streams new ones;
    `type=web` and `replica=APP-web-1234567890-abcde` keep only what those replicas
    printed (no platform events)."""
    if follow:
        stream = formation.follow_logs(ctx, me, app_id, log_lines, proc_type, replica)
        return StreamingResponse(blocking_iterate(stream), media_type="text/plain; charset=utf-8")
    return PlainTextResponse(formation.logs(ctx, me, app_id, log_lines, proc_type, replica))
