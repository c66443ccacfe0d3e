"""Health, readiness, the API root, and the platform's addresses (extension)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import PlainTextResponse

from deis import __version__
from deis.api.deps import Ctx, Me
from deis.api.placement import any_process
from deis.api.responses import JSONResponse
from deis.api.routes.docs import responses
from deis.api.routing import SlashRouter
from deis.api.schemas import PlatformOut
from deis.domain.errors import Unavailable
from deis.services import acme
from deis.threads import blocking

router = SlashRouter()


@router.get(
    "/.well-known/acme-challenge/{token}", response_class=PlainTextResponse, responses={404: {}}
)
@blocking  # a cluster's router keeps the challenges in the cluster: one API call
def acme_challenge(token: str, request: Request, ctx: Ctx) -> PlainTextResponse:
    """ACME HTTP-01, for a router that sends the challenge path of apps' hosts here (on
    Kubernetes without cert-manager): the key authorization, for the right host only."""
    answer = acme.challenge_answer(ctx, request.headers.get("host", ""), token)
    return PlainTextResponse(answer, headers={"Cache-Control": "no-store"})


@router.get("/healthz", response_class=PlainTextResponse)
def healthz() -> str:
    return "OK"


@router.get("/readiness", response_class=PlainTextResponse, responses={503: {}})
def readiness(ctx: Ctx) -> str:
    try:
        ctx.store.ping()
    except Exception as exc:
        raise Unavailable(f"The database does not answer: {exc.__class__.__name__}") from exc
    return "OK"


@router.get("/v2", responses=responses())
@any_process
def root(me: Me) -> JSONResponse:
    return JSONResponse({"detail": f"Signed in as {me.username}."})


@router.get("/v2/platform", responses=responses(PlatformOut))
@any_process
def platform(me: Me, request: Request) -> JSONResponse:
    facts = request.app.state.platform
    return JSONResponse({**facts, "version": __version__})
