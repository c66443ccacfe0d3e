"""The HTTP status of each domain error, for the two edges that speak HTTP (the REST API
and the dashboard)."""

from __future__ import annotations

from deis.domain import errors

STATUS: dict[type[errors.DomainError], int] = {
    errors.Invalid: 400,
    errors.NotAuthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.DeployFailed: 409,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
}


def status_of(error: errors.DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400
