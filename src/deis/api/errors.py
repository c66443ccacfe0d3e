"""Domain errors become HTTP here, in one place, with Deis's (DRF's) error bodies."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from deis.api.deps import unchecked_credentials
from deis.api.responses import JSONResponse
from deis.domain import errors
from deis.http_status import status_of

log = logging.getLogger("deis.api")


def body_of(error: errors.DomainError) -> dict[str, Any]:
    if isinstance(error, errors.Invalid) and error.field:
        return error.errors
    return {"detail": error.message}


def field_errors(exc: RequestValidationError) -> dict[str, list[str]]:
    """FastAPI's validation errors in DRF's shape: {"field": ["message"]}."""
    result: dict[str, list[str]] = {}
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
        if location and location[0] in ("query", "path", "header"):
            location = location[1:]
        field = location[0] if location else "non_field_errors"
        message = error.get("msg", "Invalid value.")
        if error.get("type") == "json_invalid":
            return {"detail": ["JSON parse error: the body is not valid JSON."]}
        if error.get("type") == "missing":
            message = "This field is required."
        result.setdefault(field, []).append(message)
    return result


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.DomainError)
    async def domain_error(request: Request, exc: errors.DomainError) -> JSONResponse:
        status = status_of(exc)
        headers = {"WWW-Authenticate": "Token"} if status == 401 else None
        return JSONResponse(body_of(exc), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        unchecked = unchecked_credentials(request)
        if unchecked is not None:  # a wrong token is 401 before anything else
            try:
                await run_in_threadpool(unchecked.user)
            except errors.DomainError as refused:
                return await domain_error(request, refused)
        body: dict[str, Any] = field_errors(exc)
        if list(body) == ["detail"]:
            body = {"detail": body["detail"][0]}
        return JSONResponse(body, status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "Internal server error."}, status_code=500)
