"""Which requests any API process may answer, and which only the primary one.

With several API processes (`DEIS_WORKERS`), only the first, the primary, holds the
adapters that act (the runtime, the router, the builder, the log files). A route marked
`@any_process` only reads the database, so every process answers it itself; every other
request that reaches an extra process is handed on to the primary
(`deis.platform.forwarding`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.routing import BaseRoute, Match
from starlette.types import Scope

F = TypeVar("F", bound=Callable[..., Any])

MARK = "deis_any_process"


def any_process(endpoint: F) -> F:
    """Mark a route that reads the database and nothing else."""
    setattr(endpoint, MARK, True)
    return endpoint


def is_any_process(route: BaseRoute) -> bool:
    return bool(getattr(getattr(route, "endpoint", None), MARK, False))


def answered_anywhere(routes: list[BaseRoute], scope: Scope) -> bool:
    """Whether the route this request goes to is one that any process answers."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return False
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return is_any_process(route)
    return False
