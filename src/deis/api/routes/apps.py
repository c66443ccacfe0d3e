"""/v2/apps: create, list, show, transfer, destroy; collaborators (perms)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Response

from deis.api import serialize
from deis.api.deps import Ctx, Me, Paging
from deis.api.placement import any_process
from deis.api.responses import JSONResponse
from deis.api.routes.docs import responses
from deis.api.routing import SlashRouter
from deis.api.schemas import AppIn, AppOut, TransferIn, UsernameIn, UsersOut, page_of
from deis.domain.records import App
from deis.services import apps, perms
from deis.services.context import Context
from deis.threads import blocking

router = SlashRouter(prefix="/v2/apps")


def app_json(ctx: Context, app: App) -> dict[str, object]:
    return serialize.app(app, ctx.app_url(app.id))


@router.get("", responses=responses(page_of(AppOut)))
@any_process
def list_apps(ctx: Ctx, me: Me, page: Paging) -> JSONResponse:
    found, total = apps.list_apps(ctx, me, page.offset, page.limit)
    return page.response([app_json(ctx, a) for a in found], total)


@router.post("", status_code=201, responses=responses(AppOut, 201))
@blocking
def create_app(ctx: Ctx, me: Me, body: Annotated[AppIn | None, Body()] = None) -> JSONResponse:
    app = apps.create(ctx, me, body.id if body else None)
    return JSONResponse(app_json(ctx, app), status_code=201)


@router.get("/{app_id}", responses=responses(AppOut))
@any_process
def get_app(app_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(app_json(ctx, apps.get(ctx, me, app_id)))


@router.post("/{app_id}", responses=responses(AppOut))
def transfer_app(app_id: str, body: TransferIn, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(app_json(ctx, apps.transfer(ctx, me, app_id, body.owner)))


@router.delete("/{app_id}", status_code=204, responses=responses(status=204))
@blocking
def destroy_app(app_id: str, ctx: Ctx, me: Me) -> Response:
    apps.destroy(ctx, me, app_id)
    return Response(status_code=204)


@router.get("/{app_id}/perms", responses=responses(UsersOut))
@any_process
def list_perms(app_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse({"users": perms.list_collaborators(ctx, me, app_id)})


@router.post("/{app_id}/perms", status_code=201, responses=responses(status=201))
def share(app_id: str, body: UsernameIn, ctx: Ctx, me: Me) -> Response:
    perms.share(ctx, me, app_id, body.username)
    return Response(status_code=201)


@router.delete("/{app_id}/perms/{username}", status_code=204, responses=responses(status=204))
def unshare(app_id: str, username: str, ctx: Ctx, me: Me) -> Response:
    perms.unshare(ctx, me, app_id, username)
    return Response(status_code=204)
