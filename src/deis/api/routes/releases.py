"""/v2/apps/<id>/builds, /attempts (extension), /config and /releases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body
from fastapi.responses import PlainTextResponse

from deis.api import serialize
from deis.api.deps import Ctx, Me, Paging
from deis.api.placement import any_process, any_process_writing
from deis.api.responses import JSONResponse
from deis.api.routes.docs import responses
from deis.api.routing import SlashRouter
from deis.api.schemas import (
    BuildAttemptOut,
    BuildIn,
    BuildOut,
    ConfigIn,
    ConfigOut,
    ReleaseOut,
    RollbackIn,
    VersionOut,
    page_of,
)
from deis.services import builds, config, releases
from deis.threads import blocking

router = SlashRouter(prefix="/v2/apps/{app_id}")


@router.get("/builds", responses=responses(page_of(BuildOut)))
@any_process
def list_builds(app_id: str, ctx: Ctx, me: Me, page: Paging) -> JSONResponse:
    found, total = builds.list_builds(ctx, me, app_id, page.offset, page.limit)
    return page.response([serialize.build(b) for b in found], total)


@router.post("/builds", status_code=201, responses=responses(BuildOut, 201))
@blocking
def create_build(app_id: str, body: BuildIn, ctx: Ctx, me: Me) -> JSONResponse:
    build = builds.create_from_image(ctx, me, app_id, body.image, body.procfile)
    return JSONResponse(serialize.build(build), status_code=201)


@router.get("/builds/{build_uuid}", responses=responses(BuildOut))
@any_process
def get_build(app_id: str, build_uuid: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(serialize.build(builds.get_build(ctx, me, app_id, build_uuid)))


@router.get("/builds/{build_id}/log", response_class=PlainTextResponse, responses=responses())
def build_log(app_id: str, build_id: str, ctx: Ctx, me: Me) -> PlainTextResponse:
    """Extension: what the build printed, as `git push` showed it; also for a failed push
    (by the id it showed: its uuid or the first 8 characters)."""
    return PlainTextResponse(builds.attempt_output(ctx, me, app_id, build_id))


@router.get("/attempts", responses=responses(page_of(BuildAttemptOut)))
def list_attempts(app_id: str, ctx: Ctx, me: Me, page: Paging) -> JSONResponse:
    """Extension: every push the builder handled (the last ones kept), newest first."""
    found, total = builds.list_attempts(ctx, me, app_id, page.offset, page.limit)
    return page.response([serialize.attempt(a) for a in found], total)


@router.get("/attempts/{build_id}", responses=responses(BuildAttemptOut))
def get_attempt(app_id: str, build_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    """Extension: one build attempt, by its uuid or the first 8 characters of it."""
    return JSONResponse(serialize.attempt(builds.get_attempt(ctx, me, app_id, build_id)))


@router.get("/config", responses=responses(ConfigOut))
@any_process
def get_config(app_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(serialize.config(config.get_config(ctx, me, app_id)))


@router.post("/config", status_code=201, responses=responses(ConfigOut, 201))
@blocking
@any_process_writing
def set_config(app_id: str, body: ConfigIn, ctx: Ctx, me: Me) -> JSONResponse:
    changes = body.model_dump(exclude_unset=True)
    return JSONResponse(
        serialize.config(config.set_config(ctx, me, app_id, changes)), status_code=201
    )


@router.get("/releases", responses=responses(page_of(ReleaseOut)))
@any_process
def list_releases(app_id: str, ctx: Ctx, me: Me, page: Paging) -> JSONResponse:
    found, total = releases.list_releases(ctx, me, app_id, page.offset, page.limit)
    return page.response([serialize.release(r) for r in found], total)


@router.post("/releases/rollback", status_code=201, responses=responses(VersionOut, 201))
@blocking
def rollback(
    app_id: str, ctx: Ctx, me: Me, body: Annotated[RollbackIn | None, Body()] = None
) -> JSONResponse:
    release = releases.rollback(ctx, me, app_id, body.version if body else None)
    return JSONResponse({"version": release.version}, status_code=201)


@router.get("/releases/v{version}", responses=responses(ReleaseOut))
@any_process
def get_release(app_id: str, version: int, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(serialize.release(releases.get_release(ctx, me, app_id, version)))
