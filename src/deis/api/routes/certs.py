"""/v2/certs: certificates and the domains they are attached to."""

from __future__ import annotations

from fastapi import Response

from deis.api import serialize
from deis.api.deps import Ctx, Me, Paging
from deis.api.placement import any_process
from deis.api.responses import JSONResponse
from deis.api.routes.docs import responses
from deis.api.routing import SlashRouter
from deis.api.schemas import CertIn, CertOut, DomainIn, page_of
from deis.services import acme, certs
from deis.threads import blocking

router = SlashRouter(prefix="/v2/certs")


@router.get("", responses=responses(page_of(CertOut)))
@any_process
def list_certs(ctx: Ctx, me: Me, page: Paging) -> JSONResponse:
    found, total = certs.list_certs(ctx, me, page.offset, page.limit)
    automatic = acme.automatic_names(ctx)
    return page.response(
        [serialize.certificate(c, automatic=c.name in automatic) for c in found], total
    )


@router.post("", status_code=201, responses=responses(CertOut, 201))
def add_cert(body: CertIn, ctx: Ctx, me: Me) -> JSONResponse:
    cert = certs.add(ctx, me, body.name, body.certificate, body.key)
    return JSONResponse(serialize.certificate(cert), status_code=201)


@router.get("/{name}", responses=responses(CertOut))
@any_process
def get_cert(name: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(serialize.certificate(certs.get(ctx, me, name)))


@router.delete("/{name}", status_code=204, responses=responses(status=204))
@blocking
def remove_cert(name: str, ctx: Ctx, me: Me) -> Response:
    certs.remove(ctx, me, name)
    return Response(status_code=204)


@router.post("/{name}/domain", status_code=201, responses=responses(status=201))
@blocking
def attach(name: str, body: DomainIn, ctx: Ctx, me: Me) -> Response:
    certs.attach(ctx, me, name, body.domain)
    return Response(status_code=201)


@router.delete("/{name}/domain/{domain}", status_code=204, responses=responses(status=204))
@blocking
def detach(name: str, domain: str, ctx: Ctx, me: Me) -> Response:
    certs.detach(ctx, me, name, domain)
    return Response(status_code=204)
