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


def _mark(route: BaseRoute) -> str | None:
    mark: str | None = getattr(getattr(route, "endpoint", None), MARK, None)
    return mark


def is_any_process(route: BaseRoute) -> bool:
    return _mark(route) in (READS, WRITES)


def _answered(route: BaseRoute, writes: bool) -> bool:
    """With `writes` false (a database of one writer at a time, SQLite, gains nothing
    from more writing processes), only the routes that read."""
    mark = _mark(route)
    return mark == READS or (writes and mark == WRITES)


def methods_answered_anywhere(routes: list[BaseRoute], *, writes: bool) -> set[str]:
    """The methods of the routes any process answers: a request of another method is
    handed on without matching every route."""
    return {m for r in routes if _answered(r, writes) for m in getattr(r, "methods", ())}


def answered_anywhere(routes: list[BaseRoute], scope: Scope, *, writes: bool) -> bool:
    """Whether the route this request goes to is one that any process answers."""
    if scope["type"] != "http":
        return False
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return _answered(route, writes)
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
