"""Which threads run the API's blocking code.

Sync routes and sync dependencies run in AnyIO's default worker threads. Their code is
CPU-bound Python holding the GIL, so more threads than a few only fight for it (with
40, AnyIO's default, a server answered fewer requests with 32 connections than with
8): `use_threads` caps them (`Settings.api_threads`, `DEIS_API_THREADS`).

A route that may block for long (a deploy waiting for health checks, `deis run`, a
log follower, podman) must not hold one of those few threads: decorated with
`@blocking`, it runs in a worker thread of a limiter of its own
(`Settings.api_blocking_threads`, `DEIS_API_BLOCKING_THREADS`), and `blocking_iterate`
does the same for a streamed body's iterator.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import typing
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import ParamSpec, TypeVar

import anyio
import anyio.to_thread

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

DEFAULT_THREADS = 1
DEFAULT_BLOCKING_THREADS = 32

_blocking_tokens = DEFAULT_BLOCKING_THREADS
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)


def use_threads(threads: int, blocking_threads: int) -> None:
    """Cap the default worker threads of the running event loop; size the blocking ones."""
    global _blocking_tokens
    if threads < 1 or blocking_threads < 1:
        raise ValueError("the API needs at least one thread of each kind")
    anyio.to_thread.current_default_thread_limiter().total_tokens = threads
    _blocking_tokens = blocking_threads
    limiter = _limiters.get(asyncio.get_running_loop())
    if limiter is not None:
        limiter.total_tokens = blocking_threads


def blocking_limiter() -> anyio.CapacityLimiter:
    """The limiter of the blocking routes, one per event loop."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(_blocking_tokens)
    return limiter


def blocking(route: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Run a sync route in the blocking threads. FastAPI reads the route's parameters
    from the wrapper's signature, with the annotations resolved in the route's module."""
    hints = typing.get_type_hints(route, include_extras=True)
    signature = inspect.signature(route)
    resolved = signature.replace(
        parameters=[
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in signature.parameters.values()
        ],
        return_annotation=hints.get("return", signature.return_annotation),
    )

    @functools.wraps(route)
    async def in_blocking_thread(*args: P.args, **kwargs: P.kwargs) -> R:
        call = functools.partial(route, *args, **kwargs)
        return await anyio.to_thread.run_sync(call, limiter=blocking_limiter())

    in_blocking_thread.__signature__ = resolved  # type: ignore[attr-defined]
    in_blocking_thread.__blocking_route__ = route  # type: ignore[attr-defined]
    return in_blocking_thread


def blocking_route(endpoint: Callable[..., object]) -> Callable[..., object] | None:
    """The sync route that `@blocking` made `endpoint` of, if it did."""
    route: Callable[..., object] | None = getattr(endpoint, "__blocking_route__", None)
    return route


async def blocking_iterate(iterator: Iterator[T]) -> AsyncIterator[T]:
    """A sync iterator whose next item may take long (following logs), in blocking threads."""
    done = object()

    def step() -> object:
        return next(iterator, done)

    try:
        while True:
            item = await anyio.to_thread.run_sync(step, limiter=blocking_limiter())
            if item is done:
                return
            yield typing.cast(T, item)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:  # a generator: run its cleanup now (it is suspended)
            close()
