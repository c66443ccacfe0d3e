"""Which requests any API process may answer, and which only the primary one.

With several API processes (`DEIS_WORKERS`), only the first, the primary, holds the
adapters that act (the runtime, the router, the builder, the log files). A route marked
`@any_process` only reads the database, so every process answers it itself. A route
marked `@any_process_writing` writes it, and an extra process answers it too when the
database takes several writers at once (PostgreSQL): what it sets off once it has
committed (a config change's log line, router update and deploy) goes to the primary
through `ctx.primary` (`deis.services.followups`). Every other request that reaches an
extra process is handed on to the primary (`deis.platform.forwarding`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.routing import BaseRoute, Match
from starlette.types import Scope

F = TypeVar("F", bound=Callable[..., Any])

MARK = "deis_any_process"
READS, WRITES = "reads", "writes"
# The routes an extra API process calls on the primary over `STATE/api.sock`
# (`deis.api.routes.workers`); no client request reaches them.
INTERNAL_PREFIX = "/internal/"
# Set by an extra API process on every client request it hands to the primary.
FORWARDED_CLIENT = b"x-deis-forwarded-client"
FORWARDED_SCHEME = b"x-deis-forwarded-scheme"


def any_process(endpoint: F) -> F:
    """Mark a route that reads the database and nothing else."""
    setattr(endpoint, MARK, READS)
    return endpoint


def any_process_writing(endpoint: F) -> F:
    """Mark a route that writes the database and hands what else it sets off to
    `ctx.primary`. Put it below `@blocking`, so that the mark is on the route itself."""
    setattr(endpoint, MARK, WRITES)
    return endpoint


def is_any_process(route: BaseRoute) -> bool:
    return getattr(getattr(route, "endpoint", None), MARK, None) in (READS, WRITES)


def answered_anywhere(routes: list[BaseRoute], scope: Scope, *, writes: bool) -> bool:
    """Whether the route this request goes to is one that any process answers; with
    `writes` false (a database of one writer at a time, SQLite, gains nothing from more
    writing processes), only those that read."""
    if scope["type"] != "http":
        return False
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            mark = getattr(getattr(route, "endpoint", None), MARK, None)
            return mark == READS or (writes and mark == WRITES)
    return False


def over_unix_socket(scope: Scope) -> bool:
    """Whether the request came over `STATE/api.sock`, which only the platform's user
    may open: uvicorn gives such a connection the server (PATH, None), no TCP port."""
    server = scope.get("server")
    return server is None or server[1] is None


def from_another_api_process(scope: Scope) -> bool:
    """A request an extra API process made itself, not one it handed on for a client."""
    forwarded = any(name == FORWARDED_SCHEME for name, _ in scope["headers"])
    return over_unix_socket(scope) and not forwarded
