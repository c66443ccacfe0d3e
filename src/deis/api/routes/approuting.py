"""/v2/apps/<id>/domains, /settings, /whitelist, /tls, /tls/auto: how the router reaches
an app."""

from __future__ import annotations

from fastapi import Response

from deis.api import serialize
from deis.api.deps import Ctx, Me, Paging
from deis.api.placement import any_process
from deis.api.responses import JSONResponse
from deis.api.routes.docs import responses
from deis.api.routing import SlashRouter
from deis.api.schemas import (
    AddressesIn,
    AddressesOut,
    AppSettingsOut,
    DomainIn,
    DomainOut,
    SettingsIn,
    TLSAutoOut,
    TLSIn,
    TLSOut,
    page_of,
)
from deis.services import acme, appsettings, domains
from deis.threads import blocking

router = SlashRouter(prefix="/v2/apps/{app_id}")

# The writes here wait on the router (nginx's admin socket, which waits while nginx is
# started again, or the Kubernetes API) and a settings change with `autoscale` on a
# deploy: they run on the blocking threads, never on the few shared quick ones.


@router.get("/domains", responses=responses(page_of(DomainOut)))
@any_process
def list_domains(app_id: str, ctx: Ctx, me: Me, page: Paging) -> JSONResponse:
    found, total = domains.list_domains(ctx, me, app_id, page.offset, page.limit)
    return page.response([serialize.domain(d) for d in found], total)


@router.post("/domains", status_code=201, responses=responses(DomainOut, 201))
@blocking
def add_domain(app_id: str, body: DomainIn, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(
        serialize.domain(domains.add(ctx, me, app_id, body.domain)), status_code=201
    )


@router.delete("/domains/{domain}", status_code=204, responses=responses(status=204))
@blocking
def remove_domain(app_id: str, domain: str, ctx: Ctx, me: Me) -> Response:
    domains.remove(ctx, me, app_id, domain)
    return Response(status_code=204)


@router.get("/settings", responses=responses(AppSettingsOut))
@any_process
def get_settings(app_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(serialize.app_settings(appsettings.get(ctx, me, app_id)))


@router.post("/settings", status_code=201, responses=responses(AppSettingsOut, 201))
@blocking
def update_settings(app_id: str, body: SettingsIn, ctx: Ctx, me: Me) -> JSONResponse:
    settings = appsettings.update(ctx, me, app_id, body.model_dump(exclude_unset=True))
    return JSONResponse(serialize.app_settings(settings), status_code=201)


@router.get("/whitelist", responses=responses(AddressesOut))
@any_process
def get_whitelist(app_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse({"addresses": appsettings.whitelist(ctx, me, app_id)})


@router.post("/whitelist", status_code=201, responses=responses(AddressesOut, 201))
@blocking
def add_whitelist(app_id: str, body: AddressesIn, ctx: Ctx, me: Me) -> JSONResponse:
    addresses = appsettings.change_whitelist(ctx, me, app_id, body.addresses, add=True)
    return JSONResponse({"addresses": addresses}, status_code=201)


@router.delete("/whitelist", status_code=204, responses=responses(status=204))
@blocking
def remove_whitelist(app_id: str, body: AddressesIn, ctx: Ctx, me: Me) -> Response:
    appsettings.change_whitelist(ctx, me, app_id, body.addresses, add=False)
    return Response(status_code=204)


@router.get("/tls", responses=responses(TLSOut))
@any_process
def get_tls(app_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(serialize.tls(appsettings.get_tls(ctx, me, app_id)))


@router.post("/tls", status_code=201, responses=responses(TLSOut, 201))
@blocking
def set_tls(app_id: str, body: TLSIn, ctx: Ctx, me: Me) -> JSONResponse:
    tls = appsettings.set_tls(ctx, me, app_id, body.https_enforced)
    return JSONResponse(serialize.tls(tls), status_code=201)


# Automatic TLS (deis tls:auto): an extension beside Deis v2.3's /tls, which stays as it was.
@router.get("/tls/auto", responses=responses(TLSAutoOut))
@any_process
def get_tls_auto(app_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    return JSONResponse(serialize.tls_auto(acme.info(ctx, me, app_id)))


@router.post("/tls/auto", responses=responses(TLSAutoOut))
def enable_tls_auto(app_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    acme.enable(ctx, me, app_id)
    return JSONResponse(serialize.tls_auto(acme.info(ctx, me, app_id)))


@router.delete("/tls/auto", responses=responses(TLSAutoOut))
def disable_tls_auto(app_id: str, ctx: Ctx, me: Me) -> JSONResponse:
    acme.disable(ctx, me, app_id)
    return JSONResponse(serialize.tls_auto(acme.info(ctx, me, app_id)))
