"""HTTP/1.1 to the primary API process over its Unix socket, relayed to an ASGI client.

A worker hands on about half of the writes it receives, so this path is lean: the
request goes out as bytes written here, the answer is parsed by httptools (uvicorn's
own parser) and sent on as it arrives; connections are kept for the next request while
they are fresh (the primary's uvicorn closes idle ones after 5 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
import httptools
from starlette.types import Receive, Send

IDLE_KEPT_S = 2.0  # well under uvicorn's keep-alive timeout of 5 s
IDLE_CONNECTIONS = 32
BUFFERED_BODY = 1024 * 1024 + 1  # bodies up to this are read first, so a retry can resend
READ_SIZE = 65536

Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class Request:
    """What the primary is sent: the method, the target (path and query) and the
    headers, without those of the client's own connection."""

    method: str
    target: bytes
    headers: Headers


class PrimaryUnreachable(Exception):
    """The primary's socket refused the connection or closed it before any answer."""


class ClientGone(Exception):
    """The client went away while its request's body was being handed on."""


class _Connection:
    __slots__ = ("reader", "writer", "idle_since")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def close(self) -> None:
        self.writer.close()


class Relay:
    def __init__(self, socket_path: Path, connect_timeout: float) -> None:
        self.socket_path = socket_path
        self.connect_timeout = connect_timeout
        self._idle: list[_Connection] = []

    async def _connect(self) -> _Connection:
        try:
            with anyio.fail_after(self.connect_timeout):
                reader, writer = await asyncio.open_unix_connection(str(self.socket_path))
        except (OSError, TimeoutError) as exc:
            raise PrimaryUnreachable(str(exc) or exc.__class__.__name__) from exc
        return _Connection(reader, writer)

    def _take_idle(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if now - connection.idle_since < IDLE_KEPT_S and not connection.reader.at_eof():
                return connection
            connection.close()
        return None

    def _keep(self, connection: _Connection) -> None:
        if len(self._idle) >= IDLE_CONNECTIONS:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        self._idle.append(connection)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()

    async def forward(
        self, request: Request, receive: Receive, send: Send, *, chunked: bool
    ) -> None:
        """Send the request (its body from `receive`, `chunked` when it has no length)
        to the primary and its answer to `send`. Raises PrimaryUnreachable before
        anything was sent to the client, ClientGone when the client left while its body
        was read, ConnectionError when the primary stopped midway."""
        method, target, headers = request.method, request.target, list(request.headers)
        length = _content_length(headers)
        if not any(k == b"host" for k, _ in headers):
            headers.append((b"host", b"primary"))
        if not chunked and (length is None or length <= BUFFERED_BODY):
            body = await _read_body(receive) if length else b""
            head = _head(method, target, headers, chunked=False)
            await self._exchange(method, head + body, receive, send, body_read=True)
            return
        head = _head(method, target, headers, chunked=chunked)
        connection = await self._connect()  # a streamed body cannot be resent: a new one
        await _Exchange(self, connection, method, receive, send).run(
            lambda: _stream_body(connection.writer, head, receive, chunked)
        )

    async def _exchange(
        self, method: str, request: bytes, receive: Receive, send: Send, *, body_read: bool
    ) -> None:
        kept = self._take_idle()
        if kept is not None:
            try:
                await self._send(kept, method, request, receive, send, body_read)
                return
            except PrimaryUnreachable:  # it closed that kept connection: once more, anew
                pass
        await self._send(await self._connect(), method, request, receive, send, body_read)

    async def _send(
        self,
        connection: _Connection,
        method: str,
        request: bytes,
        receive: Receive,
        send: Send,
        watch: bool,
    ) -> None:
        await _Exchange(self, connection, method, receive, send).run(
            lambda: _write(connection.writer, request), watch=watch
        )


class _Exchange:
    """One request and its answer on one connection."""

    def __init__(
        self, relay: Relay, connection: _Connection, method: str, receive: Receive, send: Send
    ) -> None:
        self.relay = relay
        self.connection = connection
        self.head_only = method == "HEAD"
        self.receive = receive
        self.send = send
        self.parser = httptools.HttpResponseParser(self)
        self.headers: Headers = []
        self.pending: list[dict[str, object]] = []
        self.started = False
        self.complete = False

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        kept = [(k, v) for k, v in self.headers if k not in _NOT_RELAYED]
        status = self.parser.get_status_code()
        self.pending.append({"type": "http.response.start", "status": status, "headers": kept})
        if self.head_only:
            self.complete = True

    def on_body(self, body: bytes) -> None:
        self.pending.append({"type": "http.response.body", "body": bytes(body), "more_body": True})

    def on_message_complete(self) -> None:
        self.complete = True

    async def run(self, write: Callable[[], Awaitable[None]], *, watch: bool = False) -> None:
        """Write the request while the answer is read (the primary may answer before it
        has read a body it refuses); with `watch`, end when the client goes away."""
        reusable = False
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._write_then_watch, write, watch, tasks.cancel_scope)
                await self._relay()
                tasks.cancel_scope.cancel()
            reusable = self.complete and not self.head_only and self.parser.should_keep_alive()
        except BaseExceptionGroup as group:
            raise _first(group) from None
        finally:
            if reusable:
                self.relay._keep(self.connection)
            else:
                self.connection.close()

    async def _write_then_watch(
        self, write: Callable[[], Awaitable[None]], watch: bool, scope: anyio.CancelScope
    ) -> None:
        try:
            with contextlib.suppress(OSError):  # the primary may answer before it reads all
                await write()
            if watch:  # a client that goes away ends a long answer (logs -f)
                while (await self.receive())["type"] != "http.disconnect":
                    pass
                scope.cancel()
        except ClientGone:
            scope.cancel()

    async def _relay(self) -> None:
        reader = self.connection.reader
        while not self.complete:
            try:
                data = await reader.read(READ_SIZE)
            except OSError as exc:
                data = b""
                if not self.started:
                    raise PrimaryUnreachable(str(exc)) from exc
            if not data:
                if not self.started and not self.pending:
                    raise PrimaryUnreachable("the connection closed before an answer")
                raise ConnectionError("the primary closed the connection mid-answer")
            self.parser.feed_data(data)
            await self._flush()
        await self._flush()
        await self.send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _flush(self) -> None:
        pending, self.pending = self.pending, []
        for message in pending:
            self.started = True
            await self.send(message)


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


# Headers about one connection or framing, which the worker's own server sets itself.
_NOT_RELAYED = {b"connection", b"keep-alive", b"transfer-encoding"}


def _content_length(headers: Headers) -> int | None:
    for name, value in headers:
        if name == b"content-length" and value.strip().isdigit():
            return int(value)
    return None


def _head(method: str, target: bytes, headers: Headers, *, chunked: bool) -> bytes:
    lines = [method.encode() + b" " + target + b" HTTP/1.1"]
    lines += [name + b": " + value for name, value in headers]
    if chunked:
        lines.append(b"transfer-encoding: chunked")
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _write(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


async def _stream_body(
    writer: asyncio.StreamWriter, head: bytes, receive: Receive, chunked: bool
) -> None:
    writer.write(head)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        if chunk:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            await writer.drain()
        if not message.get("more_body", False):
            break
    if chunked:
        writer.write(b"0\r\n\r\n")
    await writer.drain()
