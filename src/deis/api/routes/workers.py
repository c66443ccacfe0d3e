"""Internal: what an extra API process asks of the primary one. Only over
`STATE/api.sock`, and only for the process itself: a client's request, over TCP or
handed on by a worker, gets 404 as for a path that does not exist."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from deis.api.deps import Ctx
from deis.api.placement import from_another_api_process
from deis.api.routing import SlashRouter
from deis.domain.errors import NotFound
from deis.domain.releases import Released
from deis.services import followups
from deis.threads import blocking

router = SlashRouter()

FOLLOW_UP_PATH = "/internal/follow-up"


@router.post(FOLLOW_UP_PATH, status_code=204, include_in_schema=False)
@blocking
def follow_up(body: Released, request: Request, ctx: Ctx) -> Response:
    """The log line, router update and deploy of a release a worker made."""
    if not from_another_api_process(request.scope):
        raise NotFound("Not Found")
    followups.follow_up(ctx, body)
    return Response(status_code=204)
