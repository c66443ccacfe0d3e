"""/v2/hooks/*: the builder's private calls, authenticated with the builder's key."""

from __future__ import annotations

from fastapi import Depends

from deis.api import serialize
from deis.api.deps import Ctx, builder
from deis.api.responses import JSONResponse
from deis.api.routes.docs import responses
from deis.api.routing import SlashRouter
from deis.api.schemas import ConfigOut, HookBuildIn, HookConfigIn, KeyOwnerOut
from deis.domain.records import Key
from deis.services import hooks
from deis.threads import blocking

router = SlashRouter(prefix="/v2/hooks", dependencies=[Depends(builder)])


def _keys(by_user: dict[str, list[Key]]) -> dict[str, object]:
    return {
        "users": {
            name: [
                {
                    "id": k.id,
                    "fingerprint": k.fingerprint,
                    "fingerprint_sha256": k.fingerprint_sha256,
                    "public": k.public,
                }
                for k in found
            ]
            for name, found in by_user.items()
        }
    }


@router.get("/key/{fingerprint:path}", responses=responses(KeyOwnerOut))
def key_owner(fingerprint: str, ctx: Ctx) -> JSONResponse:
    username, apps = hooks.key_owner(ctx, fingerprint)
    return JSONResponse({"username": username, "apps": apps})


@router.get("/keys/{app_id}", responses=responses())
def app_keys(app_id: str, ctx: Ctx) -> JSONResponse:
    return JSONResponse(_keys(hooks.push_keys(ctx, app_id)))


@router.get("/keys/{app_id}/{username}", responses=responses())
def app_user_keys(app_id: str, username: str, ctx: Ctx) -> JSONResponse:
    return JSONResponse(_keys(hooks.push_keys(ctx, app_id, username)))


@router.post("/config", responses=responses(ConfigOut))
def push_config(body: HookConfigIn, ctx: Ctx) -> JSONResponse:
    config = hooks.push_config(ctx, body.receive_user, body.receive_repo)
    return JSONResponse(serialize.config(config))


@router.post("/build", responses=responses())
@blocking
def record_build(body: HookBuildIn, ctx: Ctx) -> JSONResponse:
    version = hooks.record_push(ctx, body.model_dump())
    return JSONResponse({"release": {"version": version}})
