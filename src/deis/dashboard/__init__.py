"""The web dashboard, served by the controller at `/`: server-rendered pages (Jinja2,
escaped) with htmx, over the same services and permissions as the REST API.

    install(app, key)  # key: a Fernet key kept in the state directory
"""

from __future__ import annotations

from fastapi import FastAPI

from deis.dashboard import actions, admin, apps, auth, buildlogs, logstream, static
from deis.dashboard.rates import RateMeter
from deis.dashboard.sessions import SessionCodec, new_key
from deis.dashboard.web import Dashboard, make_environment

__all__ = ["install", "new_key"]

ROUTERS = (
    static.router,
    auth.router,
    apps.router,
    buildlogs.router,
    actions.router,
    admin.router,
    logstream.router,
)


def install(app: FastAPI, key: str) -> None:
    """Add the dashboard's pages to the controller's app (outside its OpenAPI schema)."""
    templates = make_environment()
    templates.globals["static_url"] = static.url_of
    app.state.dashboard = Dashboard(
        codec=SessionCodec(key),
        templates=templates,
        meter=RateMeter(),
        follow_slots=logstream.follow_slots(),
    )
    for router in ROUTERS:
        app.include_router(router)
