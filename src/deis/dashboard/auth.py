"""Signing in with the platform account (the users service checks the password and
limits failed attempts, as for `deis login`) and signing out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from deis.dashboard.sessions import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    SIGNIN_COOKIE,
    new_signin_nonce,
    nonce_matches,
)
from deis.dashboard.web import (
    Changer,
    DashboardRoute,
    Form,
    context_of,
    dashboard_of,
    local_path,
    redirect,
    render,
    session_of,
    set_cookie,
)
from deis.domain.errors import Invalid, NotAuthenticated, RateLimited
from deis.services import users
from deis.threads import blocking

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

SIGNIN_SECONDS = 60 * 60


def signin_page(
    request: Request, message: str = "", username: str = "", status_code: int = 200
) -> HTMLResponse:
    nonce = new_signin_nonce()
    response = render(
        request, "signin.html", status_code=status_code, nonce=nonce, message=message,
        username=username, next=local_path(request.query_params.get("next"), ""),
    )  # fmt: skip
    set_cookie(request, response, SIGNIN_COOKIE, nonce, SIGNIN_SECONDS)
    return response


@router.get("/signin")
def signin_form(request: Request) -> Response:
    if session_of(request) is not None:
        return redirect(request, local_path(request.query_params.get("next")))
    return signin_page(request)


@router.post("/signin")
@blocking
def signin(request: Request, form: Form) -> Response:
    username = form.get("username", "")
    if not nonce_matches(request.cookies.get(SIGNIN_COOKIE), form.get("csrf")):
        return signin_page(
            request, "The form expired. Please sign in again.", username, status_code=403
        )
    address = request.client.host if request.client else "unknown"
    try:
        token = users.login(context_of(request), username, form.get("password", ""), address)
    except (Invalid, NotAuthenticated):
        return signin_page(request, "Wrong username or password.", username, status_code=401)
    except RateLimited as error:
        return signin_page(request, error.message, username, status_code=429)
    response = redirect(request, local_path(form.get("next")))
    set_cookie(
        request, response, SESSION_COOKIE, dashboard_of(request).codec.seal(token),
        SESSION_SECONDS,
    )  # fmt: skip
    response.delete_cookie(SIGNIN_COOKIE, path="/")
    return response


@router.post("/signout")
def signout(request: Request, me: Changer) -> Response:
    users.logout(context_of(request), me.token)
    response = redirect(request, "/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
