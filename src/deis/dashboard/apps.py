"""Pages of apps: the list, an app's overview, releases, config, domains, builds."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from deis.dashboard import buildlogs, live
from deis.dashboard.web import DashboardRoute, Viewer, context_of, dashboard_of, render
from deis.domain.errors import Invalid
from deis.services import acme, addons, builds, config, cron, overview
from deis.threads import blocking

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

APPS_PAGE = 100
RELEASES_PAGE = 20
BUILDS_PAGE = 20


def page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        raise Invalid("The page must be a number from 1.", field="page")
    return int(raw)


def pages(total: int, size: int) -> int:
    return max(1, -(-total // size))


@router.get("/")
def app_list(request: Request, me: Viewer) -> HTMLResponse:
    number = page_number(request)
    found, total = overview.app_summaries(
        context_of(request), me.user, (number - 1) * APPS_PAGE, APPS_PAGE
    )
    return render(
        request, "apps.html", summaries=found, total=total, page=number,
        pages=pages(total, APPS_PAGE), app_url=context_of(request).app_url,
    )  # fmt: skip


@router.get("/apps/{app_id}/row")
@blocking
def app_row(request: Request, app_id: str, me: Viewer) -> HTMLResponse:
    """One row of the list with what the runtime and router say (loaded when seen)."""
    ctx = context_of(request)
    summary = overview.app_summary(ctx, me.user, app_id)
    now = live.live(ctx, dashboard_of(request).meter, me.user, summary)
    return render(request, "app_row.html", summary=summary, live=now, app_url=ctx.app_url)


@router.get("/apps/{app_id}")
@blocking
def app_overview(request: Request, app_id: str, me: Viewer) -> HTMLResponse:
    ctx = context_of(request)
    detail = overview.app_detail(ctx, me.user, app_id)
    summary = overview.AppSummary(detail.app, detail.latest)
    now = live.live(ctx, dashboard_of(request).meter, me.user, summary)
    return render(
        request, "app.html", tab="overview", app=detail.app, detail=detail, live=now,
        url=ctx.app_url(detail.app.id),
    )  # fmt: skip


@router.get("/apps/{app_id}/pods")
@blocking
def app_pods(request: Request, app_id: str, me: Viewer) -> HTMLResponse:
    ctx = context_of(request)
    pods, note = live.pods_of(ctx, me.user, app_id)  # checks that the viewer may see it
    since = live.asleep_since(ctx, app_id)
    return render(
        request, "pods.html", app_id=app_id, pods=pods, pods_note=note, asleep_since=since
    )


@router.get("/apps/{app_id}/releases")
def app_releases(request: Request, app_id: str, me: Viewer) -> HTMLResponse:
    number = page_number(request)
    ctx = context_of(request)
    summary = overview.app_summary(ctx, me.user, app_id)
    entries, total = overview.timeline(
        ctx, me.user, app_id, (number - 1) * RELEASES_PAGE, RELEASES_PAGE
    )
    return render(
        request, "releases.html", tab="releases", app=summary.app, latest=summary.latest,
        entries=entries, page=number, pages=pages(total, RELEASES_PAGE),
    )  # fmt: skip


@router.get("/apps/{app_id}/config")
def app_config(request: Request, app_id: str, me: Viewer) -> HTMLResponse:
    ctx = context_of(request)
    current = config.get_config(ctx, me.user, app_id)
    summary = overview.app_summary(ctx, me.user, app_id)
    return render(
        request, "config.html", tab="config", app=summary.app, config=current,
        keys=sorted(current.values), editing=request.query_params.get("key", ""),
        revealed=request.query_params.get("reveal"),
    )  # fmt: skip


@router.get("/apps/{app_id}/config/value")
def config_value(request: Request, app_id: str, me: Viewer) -> HTMLResponse:
    """One value, shown when the user asks (values are not in the config page)."""
    key = request.query_params.get("key", "")
    value = overview.config_value(context_of(request), me.user, app_id, key)
    return render(request, "config_value.html", app_id=app_id, key=key, value=value)


@router.get("/apps/{app_id}/domains")
def app_domains(request: Request, app_id: str, me: Viewer) -> HTMLResponse:
    ctx = context_of(request)
    detail = overview.app_detail(ctx, me.user, app_id)
    tls = acme.info(ctx, me.user, app_id)  # automatic TLS: each domain's state, its errors
    automatic = {row["domain"]: row for row in tls["domains"]}
    return render(
        request, "domains.html", tab="domains", app=detail.app, detail=detail, tls=tls,
        automatic=automatic,
    )  # fmt: skip


@router.get("/apps/{app_id}/cron")
def app_cron(request: Request, app_id: str, me: Viewer) -> HTMLResponse:
    """The app's scheduled jobs (`deis cron`): schedule, next run, how the last one ended."""
    ctx = context_of(request)
    summary = overview.app_summary(ctx, me.user, app_id)
    views = cron.list_jobs(ctx, me.user, app_id)
    return render(request, "cron.html", tab="cron", app=summary.app, jobs=views)


@router.get("/apps/{app_id}/addons")
@blocking
def app_addons(request: Request, app_id: str, me: Viewer) -> HTMLResponse:
    """The app's add-ons (`deis addons`): service, plan, state, the apps attached."""
    ctx = context_of(request)
    summary = overview.app_summary(ctx, me.user, app_id)
    views = addons.list_addons(ctx, me.user, app_id)
    return render(request, "addons.html", tab="addons", app=summary.app, addons=views)


@router.get("/apps/{app_id}/builds")
def app_builds(request: Request, app_id: str, me: Viewer) -> HTMLResponse:
    number = page_number(request)
    ctx = context_of(request)
    summary = overview.app_summary(ctx, me.user, app_id)
    found, total = builds.list_builds(ctx, me.user, app_id, (number - 1) * BUILDS_PAGE, BUILDS_PAGE)
    return render(
        request, "builds.html", tab="builds", app=summary.app, builds=found, page=number,
        pages=pages(total, BUILDS_PAGE), attempts=buildlogs.attempts(request, me, app_id),
    )  # fmt: skip
