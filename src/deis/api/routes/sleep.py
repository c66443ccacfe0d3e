"""/v2/apps/<id>/sleep: idle apps sleep (an extension of the Deis v2.3 API).

GET says how long the app may go without a request before it sleeps and whether it is
asleep; POST changes that; POST /now puts it to sleep at once, POST /wake wakes it
(both return once the replicas are stopped or serve). The same permissions as the app's
config: its owner, collaborators and administrators.
"""

from __future__ import annotations

from deis.api import serialize
from deis.api.deps import Ctx, Me
from deis.api.placement import any_process
from deis.api.responses import JSONResponse
from deis.api.routes.docs import responses
from deis.api.routing import SlashRouter
from deis.api.schemas import SleepIn, SleepOut
from deis.services import sleep
from deis.threads import blocking

router = SlashRouter(prefix="/v2/apps/{app_id}/sleep")


@router.get("", responses=responses(SleepOut))
@any_process
def get_sleep(app_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(serialize.sleep_view(sleep.get(ctx, me, app_id)))


@router.post("", responses=responses(SleepOut))
@blocking  # setting `never` wakes an app that sleeps
def set_sleep(app_id: str, body: SleepIn, ctx: Ctx, me: Me) -> JSONResponse:
    view = sleep.configure(
        ctx, me, app_id, after=body.after, all_types=body.all_types, default=body.default
    )
    return JSONResponse(serialize.sleep_view(view))


@router.post("/now", responses=responses(SleepOut))
@blocking
def sleep_now(app_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(serialize.sleep_view(sleep.sleep_now(ctx, me, app_id)))


@router.post("/wake", responses=responses(SleepOut))
@blocking
def wake(app_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(serialize.sleep_view(sleep.wake_by_user(ctx, me, app_id)))
