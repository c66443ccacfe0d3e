"""The dashboard's plumbing: templates, the signed-in session, CSRF checks, form bodies,
flash messages, security headers, and domain errors turned into pages."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from deis.dashboard import present
from deis.dashboard.rates import RateMeter
from deis.dashboard.sessions import SESSION_COOKIE, SessionCodec
from deis.domain import errors
from deis.domain.records import User
from deis.http_status import status_of
from deis.services import users
from deis.services.context import Context

log = logging.getLogger("deis.dashboard")

HERE = Path(__file__).parent
FLASH_COOKIE = "deis_flash"
MAX_FORM_FIELDS = 100

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ago"] = lambda then: present.ago(then, datetime.now(UTC))
    env.filters["stamp"] = present.stamp
    env.filters["short_sha"] = present.short_sha
    env.filters["processes"] = present.process_counts
    env.filters["quote"] = lambda text: quote(str(text), safe="")
    env.globals["STATES"] = present.STATES
    env.globals["record_state"] = present.record_state
    return env


@dataclass
class Dashboard:
    """What the routes share, kept on the app's state."""

    codec: SessionCodec
    templates: Environment
    meter: RateMeter
    follow_slots: threading.BoundedSemaphore  # live log streams at once


def dashboard_of(request: Request) -> Dashboard:
    board: Dashboard = request.app.state.dashboard
    return board


def context_of(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


@dataclass(frozen=True)
class Session:
    user: User
    token: str
    csrf: str


class SignInRequired(Exception):
    pass


def session_of(request: Request) -> Session | None:
    board = dashboard_of(request)
    token = board.codec.open(request.cookies.get(SESSION_COOKIE))
    if token is None:
        return None
    try:
        user = users.authenticate(context_of(request), token)
    except errors.NotAuthenticated:
        return None
    return Session(user, token, board.codec.csrf_for(token))


def signed_in(request: Request) -> Session:
    session = session_of(request)
    if session is None:
        raise SignInRequired()
    request.state.session = session
    return session


async def form_of(request: Request) -> dict[str, str]:
    """An urlencoded form body (what browsers and htmx send), one value per name."""
    if request.method != "POST":
        return {}
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise errors.Invalid("Send the form as application/x-www-form-urlencoded.")
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as exc:
        raise errors.Invalid("The form has too many fields.") from exc
    return dict(pairs)


Form = Annotated[dict[str, str], Depends(form_of)]


def checked(request: Request, form: Form) -> Session:
    """The session of a change: signed in, and the form (or htmx header) carries its CSRF
    token."""
    session = signed_in(request)
    given = form.get("csrf") or request.headers.get("x-csrf-token")
    if not dashboard_of(request).codec.csrf_matches(session.token, given):
        raise errors.PermissionDenied(
            "The form's security token is missing or stale. Reload the page and try again."
        )
    return session


Viewer = Annotated[Session, Depends(signed_in)]
Changer = Annotated[Session, Depends(checked)]


def render(
    request: Request,
    template: str,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    board = dashboard_of(request)
    session: Session | None = getattr(request.state, "session", None)
    flash = read_flash(request)
    html = board.templates.get_template(template).render(
        request=request,
        me=session.user if session else None,
        csrf=session.csrf if session else "",
        flash=flash,
        **values,
    )
    response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def secure(request: Request) -> bool:
    """Over TLS (directly, or behind the router, which uvicorn trusts for the scheme)."""
    return request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )


def read_flash(request: Request) -> dict[str, str] | None:
    sealed = request.cookies.get(FLASH_COOKIE)
    if not sealed:
        return None
    opened = dashboard_of(request).codec.open(sealed)
    try:
        data = json.loads(opened) if opened else None
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return None
    return {"text": data["text"], "kind": "error" if data.get("kind") == "error" else "ok"}


def redirect(request: Request, url: str, flash: str = "", kind: str = "ok") -> Response:
    """303 to a dashboard page (after a change), with a message for it to show once."""
    response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    if flash:
        sealed = dashboard_of(request).codec.seal(json.dumps({"text": flash, "kind": kind}))
        set_cookie(request, response, FLASH_COOKIE, sealed, 60)
    return response


def local_path(target: str | None, default: str = "/") -> str:
    """A path on this site only (never //host or a scheme): no open redirects."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def sign_in_redirect(request: Request) -> Response:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/signin" if here == "/" else f"/signin?next={quote(here, safe='/')}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def error_page(request: Request, error: errors.DomainError) -> Response:
    status = status_of(error)
    if status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, error.message)
    return render(request, "error.html", status_code=status, status=status, message=error.message)


Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


class DashboardRoute(APIRoute):
    """Answers pages, not JSON: a sign-in redirect, or an error page with the status the
    API would give (a stranger's app is a 404 here too)."""

    def get_route_handler(self) -> Endpoint:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return sign_in_redirect(request)
            except errors.DomainError as error:
                return error_page(request, error)

        return route
