"""How several API processes share the work (`DEIS_WORKERS` above 1).

Only the primary process holds the adapters that act: the runtime, the router, the
builder and the log files keep tables, locks and counters of their own. An extra
process (a worker) answers itself the requests whose route only reads the database
(`@any_process`, see `deis.api.placement`); it hands every other request, WebSockets
and git's smart HTTP included, to the primary over `STATE/api.sock` (a Unix socket only
the platform's user may open), streams the answer back, and tells the primary the
client's address and scheme, which the primary takes from that socket only.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import anyio
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, unix_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from deis.api.middleware import reply_json
from deis.api.placement import (
    FORWARDED_CLIENT,
    FORWARDED_SCHEME,
    answered_anywhere,
    methods_answered_anywhere,
    over_unix_socket,
)
from deis.platform.relay import ClientGone, PrimaryUnreachable, Relay, Request

log = logging.getLogger("deis.platform")

# Headers of one connection, not of the request: never passed on.
HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
    b"expect",
    FORWARDED_CLIENT,
    FORWARDED_SCHEME,
}
# What a WebSocket client library sets itself for its own handshake.
HANDSHAKE = {
    b"host",
    b"sec-websocket-key",
    b"sec-websocket-version",
    b"sec-websocket-extensions",
    b"sec-websocket-protocol",
    b"sec-websocket-accept",
}
# Close codes that only report what happened and may not be sent in a close frame.
NOT_SENDABLE = (1005, 1006, 1015)
CONNECT_TIMEOUT_S = 10.0
PRIMARY_DOWN = "The platform's primary API process does not answer; try again in a moment."


class InPrimaryOnly:
    """Stands, in a worker process, for an adapter that acts: a route that reaches it
    was marked `@any_process` by mistake, and fails instead of acting in the wrong
    process."""

    def __init__(self, port: str) -> None:
        self.port = port

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(
            f"the {self.port} ({name}) is only used by the primary API process; "
            "a route that needs it must not be marked @any_process"
        )


def _client_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    client = scope.get("client")
    added = [(FORWARDED_SCHEME, str(scope.get("scheme", "http")).encode())]
    if client:
        added.append((FORWARDED_CLIENT, f"{client[0]}:{client[1]}".encode()))
    return added


def _target(scope: Scope) -> bytes:
    path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    return path + (b"?" + query if query else b"")


class ToPrimary:
    """A worker's ASGI app: the routes of `api` marked `@any_process` here, the rest
    to the primary process listening on `socket_path`."""

    def __init__(
        self, api: ASGIApp, routes: list[BaseRoute], socket_path: Path, *, writes: bool
    ) -> None:
        self.api = api
        self.routes = routes
        self.writes = writes  # answer the routes marked @any_process_writing too
        self.methods = methods_answered_anywhere(routes, writes=writes)
        self.socket_path = socket_path
        self.relay = Relay(socket_path, CONNECT_TIMEOUT_S)

    @property
    def state(self) -> Any:
        return getattr(self.api, "state", None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or (
            scope["type"] == "http"
            and scope["method"] in self.methods
            and answered_anywhere(self.routes, scope, writes=self.writes)
        ):
            await self.api(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)

    # -- HTTP ---------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k not in HOP_BY_HOP]
        chunked = any(k == b"transfer-encoding" for k, _ in scope["headers"])
        request = Request(scope["method"], _target(scope), headers + _client_headers(scope))
        try:
            await self.relay.forward(request, receive, send, chunked=chunked)
        except ClientGone:
            return
        except PrimaryUnreachable as exc:
            log.error("API worker: the primary process does not answer: %s", exc)
            await reply_json(send, 503, {"detail": PRIMARY_DOWN})
        except ConnectionError as exc:  # the client gets an answer cut short
            log.warning("API worker: the primary process stopped answering midway: %s", exc)

    # -- WebSocket ----------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k not in HOP_BY_HOP and k not in HANDSHAKE
        ]
        headers += [(k.decode(), v.decode()) for k, v in _client_headers(scope)]
        try:
            upstream = await unix_connect(
                str(self.socket_path),
                uri="ws://primary" + _target(scope).decode("latin-1"),
                additional_headers=headers,
                subprotocols=scope.get("subprotocols") or None,
                open_timeout=CONNECT_TIMEOUT_S,
                ping_interval=None,
                max_size=None,
                compression=None,
                user_agent_header=None,
                proxy=None,
            )
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            log.error("API worker: cannot open the WebSocket to the primary process: %s", exc)
            await send({"type": "websocket.close", "code": 1011, "reason": PRIMARY_DOWN})
            return
        async with upstream:
            await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_to_upstream, receive, upstream, tasks.cancel_scope)
                await _from_upstream(upstream, send)
                tasks.cancel_scope.cancel()


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


async def _to_upstream(receive: Receive, upstream: ClientConnection, scope: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            await upstream.close(code=message.get("code", 1000))
            scope.cancel()
            return
        if message["type"] == "websocket.receive":
            data = message.get("bytes")
            with contextlib.suppress(ConnectionClosed):
                await upstream.send(data if data is not None else message.get("text", ""))


async def _from_upstream(upstream: ClientConnection, send: Send) -> None:
    try:
        async for data in upstream:
            key = "text" if isinstance(data, str) else "bytes"
            await send({"type": "websocket.send", key: data})
    except ConnectionClosed:
        pass
    code = upstream.close_code or 1000
    reason = upstream.close_reason or ""
    if code in NOT_SENDABLE:
        code = 1000 if code == 1005 else 1011
    with contextlib.suppress(Exception):  # the client may be gone already
        await send({"type": "websocket.close", "code": code, "reason": reason})


class FromWorkers:
    """The primary's outermost middleware: a request that came over `STATE/api.sock`
    (a Unix socket: no server port in its scope) gets back the client address and
    scheme its worker saw. Over TCP those headers are ignored, so no client can claim
    another address."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @property
    def state(self) -> Any:
        return getattr(self.app, "state", None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and over_unix_socket(scope):
            scope = _as_the_worker_saw_it(scope)
        await self.app(scope, receive, send)


def _as_the_worker_saw_it(scope: Scope) -> Scope:
    changed = dict(scope)
    for name, value in scope["headers"]:
        if name == FORWARDED_CLIENT:
            host, _, port = value.decode("latin-1").rpartition(":")
            if host and port.isdigit():
                changed["client"] = (host, int(port))
        elif name == FORWARDED_SCHEME and value in (b"http", b"https", b"ws", b"wss"):
            changed["scheme"] = value.decode()
    return changed
