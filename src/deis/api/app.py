"""The controller's ASGI app: the Deis v2.3 REST API."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI

from deis import __version__
from deis.api import errors
from deis.api.middleware import BodyLimit, VersionHeaders
from deis.api.routes import (
    addons,
    approuting,
    apps,
    auth,
    certs,
    cron,
    hooks,
    keys,
    meta,
    processes,
    releases,
    sleep,
    workers,
)
from deis.services.context import Context

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

ROUTERS = (
    meta.router,
    auth.router,
    apps.router,
    releases.router,
    processes.router,
    approuting.router,
    cron.router,
    sleep.router,
    addons.router,
    certs.router,
    keys.router,
    hooks.router,
    workers.router,
)


def create_app(
    context: Context,
    *,
    builder_key: str,
    platform: Mapping[str, str],
    max_body_bytes: int = 1024 * 1024,
    lifespan: Lifespan | None = None,
) -> FastAPI:
    """platform: the facts GET /v2/platform answers (domain, builder, git_http, runtime)."""
    app = FastAPI(
        title="Deis Workflow controller",
        version=__version__,
        description="The Deis Workflow v2.3 REST API.",
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.context = context
    app.state.builder_key = builder_key
    app.state.platform = platform
    errors.install(app)
    for router in ROUTERS:
        # Their routes go straight into the app's list, not as included routers: FastAPI
        # matches an included router's routes twice per request (to choose it, then
        # within it), a quarter of the server's time for /v2/apps/<id>/releases/.
        app.router.routes.extend(router.routes)
    app.openapi = lambda: openapi_without_422(app)  # type: ignore[method-assign]
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(VersionHeaders)
    return app


def openapi_without_422(app: FastAPI) -> dict[str, Any]:
    """Validation failures answer 400 in DRF's shape, so the schema must not promise 422."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    for name in ("HTTPValidationError", "ValidationError"):
        schema.get("components", {}).get("schemas", {}).pop(name, None)
    app.openapi_schema = schema
    return schema
