"""Routes signed in within their own worker thread.

A sync route taking `me: Me` used to cost two trips to a worker thread: FastAPI runs the
sync dependency that looks the token up in one, then the route in another. `one_trip`
(applied to every route by `deis.api.routing.SlashRouter`) rewrites such a route's
signature: `me` becomes the request's `Credentials` (the token, read without I/O), and
the route runs in a wrapper that looks the user up and calls the route in the same
worker thread, in the default threads or, for a `@blocking` route, in the blocking ones.
For a quick route the lookup's transaction is also the route's first read transaction
(`Store.transaction(keep=True)`): one connection and one BEGIN/COMMIT fewer.

What a client sees does not change: no token is still 401 before anything else (the
`credentials` dependency refuses it); a wrong token is 401 before the route runs, and
before a parameter's validation error too (`deis.api.errors` checks the token then).
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends

from deis.api.deps import Credentials, Me, credentials
from deis.threads import blocking_limiter, blocking_route

Signed = Annotated[Credentials, Depends(credentials)]


def one_trip(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """The endpoint itself when it takes no `Me` or is a coroutine of its own."""
    sync = blocking_route(endpoint)
    route = sync or endpoint
    if inspect.iscoroutinefunction(route):
        return endpoint
    hints = typing.get_type_hints(route, include_extras=True)
    signed = [name for name, hint in hints.items() if hint == Me]
    if not signed:
        return endpoint
    signature = inspect.signature(route)
    parameters = [
        p.replace(annotation=Signed if p.name in signed else hints.get(p.name, p.annotation))
        for p in signature.parameters.values()
    ]
    resolved = signature.replace(
        parameters=parameters, return_annotation=hints.get("return", signature.return_annotation)
    )

    @functools.wraps(route)
    async def signed_in(**kwargs: Any) -> Any:
        found: list[Credentials] = [kwargs[name] for name in signed]

        def call() -> Any:
            # A quick route's first read continues the token's transaction; a blocking
            # one may wait long before it reads, so its token check ends at once.
            try:
                for name, credentials_ in zip(signed, found, strict=True):
                    kwargs[name] = credentials_.user(keep=sync is None)
                return route(**kwargs)
            finally:
                found[0].done()

        limiter = blocking_limiter() if sync is not None else None
        return await anyio.to_thread.run_sync(call, limiter=limiter)

    signed_in.__signature__ = resolved  # type: ignore[attr-defined]
    return signed_in
