"""/v2/apps/<id>/cron/: scheduled jobs (an extension of the Deis v2.3 API).

The same permissions as the app's config: its owner, collaborators and administrators.
Adding, removing, suspending and resuming make a release (the jobs are part of the
config), so they wait for its deploy like `POST /config`.
"""

from __future__ import annotations

from fastapi import Response

from deis.api import serialize
from deis.api.deps import Ctx, Me
from deis.api.placement import any_process
from deis.api.responses import JSONResponse
from deis.api.routes.docs import responses
from deis.api.routing import SlashRouter
from deis.api.schemas import CronJobIn, CronJobOut, page_of
from deis.domain.errors import NotFound
from deis.services import cron
from deis.threads import blocking

router = SlashRouter(prefix="/v2/apps/{app_id}/cron")


def _view(ctx: Ctx, me: Me, app_id: str, name: str) -> dict[str, object]:
    for view in cron.list_jobs(ctx, me, app_id):
        if view.job.name == name:
            return serialize.cron_job(view.job, view.next_run, view.last)
    raise NotFound(f"No cron job named {name}.")


@router.get("", responses=responses(page_of(CronJobOut)))
@any_process
def list_jobs(app_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    views = cron.list_jobs(ctx, me, app_id)
    results = [serialize.cron_job(v.job, v.next_run, v.last) for v in views]
    return JSONResponse({"count": len(results), "next": None, "previous": None, "results": results})


@router.post("", status_code=201, responses=responses(CronJobOut, 201))
@blocking
def add_job(app_id: str, body: CronJobIn, ctx: Ctx, me: Me) -> JSONResponse:
    job = cron.add_job(ctx, me, app_id, body.model_dump())
    return JSONResponse(_view(ctx, me, app_id, job.name), status_code=201)


@router.get("/{name}", responses=responses(CronJobOut))
@any_process
def get_job(app_id: str, name: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(_view(ctx, me, app_id, name))


@router.delete("/{name}", status_code=204, responses=responses(status=204))
@blocking
def remove_job(app_id: str, name: str, ctx: Ctx, me: Me) -> Response:
    cron.remove_job(ctx, me, app_id, name)
    return Response(status_code=204)


@router.post("/{name}/run", status_code=202, responses=responses(CronJobOut, 202))
def run_job(app_id: str, name: str, ctx: Ctx, me: Me) -> JSONResponse:
    """Start the job once, now; its output goes to the app's log as `cron.NAME`."""
    cron.run_now(ctx, me, app_id, name)
    return JSONResponse(_view(ctx, me, app_id, name), status_code=202)


@router.post("/{name}/suspend", responses=responses(CronJobOut))
@blocking
def suspend_job(app_id: str, name: str, ctx: Ctx, me: Me) -> JSONResponse:
    cron.set_suspended(ctx, me, app_id, name, True)
    return JSONResponse(_view(ctx, me, app_id, name))


@router.post("/{name}/resume", responses=responses(CronJobOut))
@blocking
def resume_job(app_id: str, name: str, ctx: Ctx, me: Me) -> JSONResponse:
    cron.set_suspended(ctx, me, app_id, name, False)
    return JSONResponse(_view(ctx, me, app_id, name))
