"""/v2/apps/<id>/addons/ and /v2/addons/: add-ons (an extension of the Deis v2.3 API).

The permissions of config: whoever may configure an app creates add-ons for it and
attaches and detaches them; only the owner of the add-on's app or an administrator
destroys one. Creating, attaching and detaching make a release, so they wait for its
deploy like `POST /config`; creating also waits until the server accepts connections.
"""

from __future__ import annotations

from fastapi import Response, WebSocket

from deis.api import terminal
from deis.api.deps import Ctx, Me
from deis.api.responses import JSONResponse
from deis.api.routes.docs import responses
from deis.api.routing import SlashRouter
from deis.api.schemas import (
    AddonBackupOut,
    AddonBackupScheduleOut,
    AddonIn,
    AddonOut,
    AddonServiceOut,
    AttachIn,
    BackupScheduleIn,
    PlanIn,
    page_of,
)
from deis.domain.records import User
from deis.domain.terminal import Opening
from deis.ports import Terminal
from deis.services import addons, backup_schedules
from deis.services.context import Context
from deis.threads import blocking

router = SlashRouter()


def _page(results: list[dict[str, object]]) -> JSONResponse:
    return JSONResponse({"count": len(results), "next": None, "previous": None, "results": results})


@router.get("/v2/addons/services", responses=responses(page_of(AddonServiceOut)))
@blocking
def list_services(me: Me) -> JSONResponse:
    """The services and their plans (sizes)."""
    return _page([addons.service_dict(s) for s in addons.services()])


@router.get("/v2/addons", responses=responses(page_of(AddonOut)))
@blocking
def list_all(ctx: Ctx, me: Me) -> JSONResponse:
    return _page([addons.as_dict(v) for v in addons.list_addons(ctx, me)])


@router.get("/v2/addons/{name}", responses=responses(AddonOut))
@blocking
def get_addon(name: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(addons.as_dict(addons.info(ctx, me, name)))


@router.patch("/v2/addons/{name}", responses=responses(AddonOut))
@blocking
def change_plan(name: str, body: PlanIn, ctx: Ctx, me: Me) -> JSONResponse:
    """`{"plan": "standard"}`: the server restarted with that plan's sizes and its data
    (a disk never shrinks); answers once it accepts connections again."""
    return JSONResponse(addons.as_dict(addons.change_plan(ctx, me, name, body.plan)))


@router.delete("/v2/addons/{name}", status_code=204, responses=responses(status=204))
@blocking
def destroy_addon(
    name: str, ctx: Ctx, me: Me, confirm: str | None = None, force: bool = False
) -> Response:
    """`?confirm=NAME` (required), `&force=true` to detach it from every app first."""
    addons.destroy(ctx, me, name, confirm, force)
    return Response(status_code=204)


@router.get("/v2/addons/{name}/backups", responses=responses(page_of(AddonBackupOut)))
@blocking
def list_backups(name: str, ctx: Ctx, me: Me) -> JSONResponse:
    """Newest first."""
    return _page(addons.list_backups(ctx, me, name))


@router.post("/v2/addons/{name}/backups", status_code=201, responses=responses(AddonBackupOut, 201))
@blocking
def make_backup(name: str, ctx: Ctx, me: Me) -> JSONResponse:
    """A snapshot of the data now (pg_dump; a Redis RDB), kept in the object store."""
    return JSONResponse(addons.backup(ctx, me, name), status_code=201)


@router.post("/v2/addons/{name}/backups/{backup}/restore", responses=responses(AddonBackupOut))
@blocking
def restore_backup(name: str, backup: str, ctx: Ctx, me: Me) -> JSONResponse:
    """Replace the add-on's data with the backup's."""
    return JSONResponse(addons.restore(ctx, me, name, backup))


# The schedule's routes only read and write the database: they stay on the quick threads.
SCHEDULE = "/v2/addons/{name}/backups/schedule"


@router.get(SCHEDULE, responses=responses(AddonBackupScheduleOut))
def get_backup_schedule(name: str, ctx: Ctx, me: Me) -> JSONResponse:
    """The add-on's daily backups; 404 when it is backed up on demand only."""
    return JSONResponse(addons.schedule_dict(backup_schedules.get(ctx, me, name)))


@router.put(SCHEDULE, responses=responses(AddonBackupScheduleOut))
def set_backup_schedule(name: str, body: BackupScheduleIn, ctx: Ctx, me: Me) -> JSONResponse:
    """`{"at": "02:00", "tz": "Europe/Paris", "keep": 7}`: a backup a day at that local
    time (tz: UTC unless given), keeping the last `keep` scheduled ones (7 unless given)."""
    made = backup_schedules.set_schedule(ctx, me, name, body.at, body.tz, body.keep)
    return JSONResponse(addons.schedule_dict(made))


@router.delete(SCHEDULE, status_code=204, responses=responses(status=204))
def delete_backup_schedule(name: str, ctx: Ctx, me: Me) -> Response:
    """Back to backups on demand only; the backups taken stay."""
    backup_schedules.remove(ctx, me, name)
    return Response(status_code=204)


@router.websocket("/v2/addons/{name}/connect")
@router.websocket("/v2/addons/{name}/connect/")
async def connect(websocket: WebSocket, name: str) -> None:
    """`deis addons:connect`: psql or redis-cli on a terminal, as `deis run` has one (the
    opening's command is ignored)."""

    def start(ctx: Context, user: User, opening: Opening) -> Terminal:
        return addons.terminal(ctx, user, name, opening)

    await terminal.serve_with(websocket, start, name)


@router.get("/v2/apps/{app_id}/addons", responses=responses(page_of(AddonOut)))
@blocking
def list_of_app(app_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    return _page([addons.as_dict(v) for v in addons.list_addons(ctx, me, app_id)])


@router.post("/v2/apps/{app_id}/addons", status_code=201, responses=responses(AddonOut, 201))
@blocking
def create_addon(app_id: str, body: AddonIn, ctx: Ctx, me: Me) -> JSONResponse:
    view = addons.create(ctx, me, app_id, body.service, body.as_name)
    return JSONResponse(addons.as_dict(view), status_code=201)


@router.put("/v2/apps/{app_id}/addons/{name}", status_code=201, responses=responses(AddonOut, 201))
@blocking
def attach_addon(app_id: str, name: str, body: AttachIn, ctx: Ctx, me: Me) -> JSONResponse:
    view = addons.attach(ctx, me, name, app_id, body.as_name)
    return JSONResponse(addons.as_dict(view), status_code=201)


@router.delete("/v2/apps/{app_id}/addons/{name}", status_code=204, responses=responses(status=204))
@blocking
def detach_addon(app_id: str, name: str, ctx: Ctx, me: Me) -> Response:
    addons.detach(ctx, me, name, app_id)
    return Response(status_code=204)
