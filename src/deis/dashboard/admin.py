"""Administrators' pages: users, administrators, every app. The users service refuses
anyone else (403), as the API does."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from deis.dashboard.apps import APPS_PAGE, page_number, pages
from deis.dashboard.web import (
    Changer,
    DashboardRoute,
    Form,
    Viewer,
    context_of,
    local_path,
    redirect,
    render,
)
from deis.services import overview, users
from deis.services.access import require_admin

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

USERS_PAGE = 100


@router.get("/admin/users")
def user_list(request: Request, me: Viewer) -> HTMLResponse:
    return _users_page(request, me, only_admins=False)


@router.get("/admin/admins")
def admin_list(request: Request, me: Viewer) -> HTMLResponse:
    return _users_page(request, me, only_admins=True)


def _users_page(request: Request, me: Viewer, *, only_admins: bool) -> HTMLResponse:
    number = page_number(request)
    listing = users.list_admins if only_admins else users.list_users
    found, total = listing(context_of(request), me.user, (number - 1) * USERS_PAGE, USERS_PAGE)
    return render(
        request, "admin_users.html", tab="admins" if only_admins else "users", users=found,
        total=total, page=number, pages=pages(total, USERS_PAGE), only_admins=only_admins,
    )  # fmt: skip


@router.get("/admin/apps")
def every_app(request: Request, me: Viewer) -> HTMLResponse:
    require_admin(me.user)
    number = page_number(request)
    found, total = overview.app_summaries(
        context_of(request), me.user, (number - 1) * APPS_PAGE, APPS_PAGE
    )
    return render(
        request, "apps.html", tab="apps", admin_view=True, summaries=found, total=total,
        page=number, pages=pages(total, APPS_PAGE), app_url=context_of(request).app_url,
    )  # fmt: skip


@router.post("/admin/users/{username}/admin")
def set_admin(request: Request, username: str, me: Changer, form: Form) -> Response:
    grant = form.get("admin") == "1"
    users.set_admin(context_of(request), me.user, username, grant)
    done = f"{username} is {'now' if grant else 'no longer'} an administrator."
    return redirect(request, local_path(form.get("back"), "/admin/users"), done)
