"""/v2/keys: the signed-in user's SSH keys."""

from __future__ import annotations

from fastapi import Response

from deis.api import serialize
from deis.api.deps import Ctx, Me, Paging
from deis.api.placement import any_process
from deis.api.responses import JSONResponse
from deis.api.routes.docs import responses
from deis.api.routing import SlashRouter
from deis.api.schemas import KeyIn, KeyOut, page_of
from deis.services import keys

router = SlashRouter(prefix="/v2/keys")


@router.get("", responses=responses(page_of(KeyOut)))
@any_process
def list_keys(ctx: Ctx, me: Me, page: Paging) -> JSONResponse:
    found, total = keys.list_keys(ctx, me, page.offset, page.limit)
    return page.response([serialize.key(k) for k in found], total)


@router.post("", status_code=201, responses=responses(KeyOut, 201))
def add_key(body: KeyIn, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(serialize.key(keys.add(ctx, me, body.id, body.public)), status_code=201)


@router.get("/{key_id}", responses=responses(KeyOut))
@any_process
def get_key(key_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(serialize.key(keys.get(ctx, me, key_id)))


@router.delete("/{key_id}", status_code=204, responses=responses(status=204))
def remove_key(key_id: str, ctx: Ctx, me: Me) -> Response:
    keys.remove(ctx, me, key_id)
    return Response(status_code=204)
