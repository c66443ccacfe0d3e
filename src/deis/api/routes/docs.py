"""The responses each route documents in /openapi.json: its own and the error bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from deis.api.schemas import ErrorOut

ERRORS = {
    400: "Invalid input: field errors, or a detail",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "Body too large",
    429: "Too many attempts",
    503: "A part of the platform is not there or not ready",
}


def responses(model: type[BaseModel] | None = None, status: int = 200) -> dict[int | str, Any]:
    documented: dict[int | str, Any] = {
        code: {"model": ErrorOut, "description": text} for code, text in ERRORS.items()
    }
    if model is not None:
        documented[status] = {"model": model}
    elif status == 204:
        documented[204] = {"description": "Done; no content"}
    return documented
