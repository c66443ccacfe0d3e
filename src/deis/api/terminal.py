"""The WebSocket side of interactive runs (`deis run bash`), an extension of ours.

The protocol is in `deis.domain.terminal`. Errors before the command starts (no token,
no such app, a runtime that cannot give a terminal, a bad opening message) end the
socket with one text message `{"status": N, "error": <the body the HTTP API would
answer>}` and the close code 4000 + N (its reason the error's first 120 bytes). The
command's container is removed whatever happens, also when the client goes away.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from deis.api import deps
from deis.api.errors import body_of
from deis.api.schemas import has_lone_surrogate
from deis.domain import terminal as rules
from deis.domain.errors import DomainError, Invalid
from deis.domain.records import User
from deis.domain.terminal import Opening
from deis.http_status import status_of
from deis.ports import Terminal
from deis.services import formation
from deis.services.context import Context

log = logging.getLogger("deis.api")
T = TypeVar("T")

OPENING_TIMEOUT = 30.0  # seconds the client has to send its opening message
READ_SLICE = 0.25  # seconds one read of the terminal waits
PENDING_CHUNKS = 64  # output read ahead of a slow client, at most
PENDING_KEYS = 64 * 1024  # bytes of keys waiting for a command that reads no input


class Refused(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def refused(error: DomainError) -> Refused:
    return Refused(status_of(error), body_of(error))


def close_reason(body: dict[str, Any]) -> str:
    """A short reason for the close frame (at most 123 bytes of UTF-8)."""
    detail = body.get("detail")
    if not isinstance(detail, str):
        detail = "; ".join(
            f"{key}: {' '.join(map(str, value)) if isinstance(value, list) else value}"
            for key, value in body.items()
        )
    return detail.encode()[:120].decode(errors="ignore")


async def serve(websocket: WebSocket, app_id: str) -> None:
    """`deis run` on a terminal: the app's release."""

    def start(ctx: Context, user: User, opening: Opening) -> Terminal:
        return formation.terminal(ctx, user, app_id, opening)

    await serve_with(websocket, start, app_id)


async def serve_with(
    websocket: WebSocket, start: Callable[[Context, User, Opening], Terminal], what: str
) -> None:
    """A session on a terminal that `start` gives (after sign-in and the opening)."""
    ctx: Context = websocket.app.state.context
    await websocket.accept()
    # A thread of its own for the session's blocking calls, in order (sign-in, start, keys,
    # exit code): a command that reads no input must not hold a thread the API shares.
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deis-tty-input")
    loop = asyncio.get_running_loop()
    terminal: Terminal | None = None
    try:
        header = websocket.headers.get("authorization")
        user = await loop.run_in_executor(worker, authenticate, ctx, header)
        opening = rules.opening(await first_message(websocket))
        terminal = await loop.run_in_executor(worker, start, ctx, user, opening)
        await Session(websocket, terminal, worker).run()
    except DomainError as error:
        await refuse(websocket, refused(error))
    except Refused as refusal:
        await refuse(websocket, refusal)
    except WebSocketDisconnect:
        pass
    except Exception:  # as the HTTP routes' 500: logged here, a plain message there
        log.exception("unexpected error on the terminal socket of %s", what)
        await refuse(websocket, Refused(500, {"detail": "Internal server error."}))
    finally:
        if terminal is not None:  # not behind a key the command does not read: another thread
            await asyncio.shield(asyncio.to_thread(terminal.close))
        worker.shutdown(wait=False)


def authenticate(ctx: Context, authorization: str | None) -> User:
    return deps.required(deps.optional_user(ctx, authorization))


async def first_message(websocket: WebSocket) -> object:
    try:
        text = await asyncio.wait_for(websocket.receive_text(), OPENING_TIMEOUT)
    except TimeoutError:
        raise Invalid(f"No opening message within {OPENING_TIMEOUT:g} seconds.") from None
    except KeyError:  # a binary message
        raise Invalid("Open with a JSON text message.") from None
    return parse_json(text)


def parse_json(text: str) -> object:
    try:
        data = json.loads(text)
    except ValueError:
        raise Invalid("A text message must be JSON.") from None
    if has_lone_surrogate(data):
        raise Invalid("Text must be valid Unicode: it holds a lone UTF-16 surrogate (\\ud800).")
    return data


async def refuse(websocket: WebSocket, refusal: Refused) -> None:
    if websocket.application_state != WebSocketState.CONNECTED:
        return
    try:
        await websocket.send_text(json.dumps({"status": refusal.status, "error": refusal.body}))
        await websocket.close(4000 + refusal.status, close_reason(refusal.body))
    except (WebSocketDisconnect, RuntimeError):
        pass


class Session:
    """Bytes both ways until the command ends (then its exit code) or the client leaves.

    The socket is always read, so that a client that leaves is seen at once, even while
    the command reads no input: keys wait in a bounded buffer for the session's own
    thread to write them, and beyond it they are dropped, as a terminal's full input
    buffer drops them."""

    def __init__(self, websocket: WebSocket, terminal: Terminal, worker: Executor) -> None:
        self.websocket = websocket
        self.terminal = terminal
        self.worker = worker
        self.output: asyncio.Queue[bytes] = asyncio.Queue()
        self.credits = threading.Semaphore(PENDING_CHUNKS)
        self.stopping = threading.Event()
        self.keys: asyncio.Queue[bytes] = asyncio.Queue()
        self.pending_keys = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        reader = threading.Thread(target=self.read, args=(loop,), name="deis-tty", daemon=True)
        reader.start()
        sending = asyncio.create_task(self.send_output())
        receiving = asyncio.create_task(self.receive_input())
        writing = asyncio.create_task(self.write_keys())
        try:
            done, _ = await asyncio.wait({sending, receiving}, return_when=asyncio.FIRST_COMPLETED)
            if sending in done:
                receiving.cancel()
                sending.result()
                code = await self.call(self.terminal.wait)
                await self.websocket.send_text(json.dumps({"exit_code": code}))
                await self.websocket.close(1000)
            else:
                sending.cancel()
                receiving.result()  # a refusal (a bad control message) goes up from here
        finally:
            self.stopping.set()
            for task in (sending, receiving, writing):
                task.cancel()

    def read(self, loop: asyncio.AbstractEventLoop) -> None:
        """In a thread: the terminal's output into the queue, b"" last."""
        try:
            while not self.stopping.is_set():
                chunk = self.terminal.read(READ_SLICE)
                if chunk is None:
                    continue
                while not self.credits.acquire(timeout=READ_SLICE):
                    if self.stopping.is_set():
                        return
                loop.call_soon_threadsafe(self.output.put_nowait, chunk)
                if not chunk:
                    return
        except RuntimeError:  # the event loop is closed: the server stops
            return
        except Exception:
            log.exception("reading a terminal failed")
            loop.call_soon_threadsafe(self.output.put_nowait, b"")

    async def send_output(self) -> None:
        while True:
            chunk = await self.output.get()
            self.credits.release()
            if not chunk:
                return
            await self.websocket.send_bytes(chunk)

    async def receive_input(self) -> None:
        """Until the client leaves: keys to the key buffer, resizes to the terminal."""
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is not None:
                if self.pending_keys + len(data) <= PENDING_KEYS:
                    self.pending_keys += len(data)
                    self.keys.put_nowait(data)
                continue
            try:
                cols, rows = rules.resize(parse_json(message.get("text") or ""))
            except DomainError as error:
                raise refused(error) from None
            await asyncio.to_thread(self.terminal.resize, cols, rows)

    async def write_keys(self) -> None:
        while True:
            data = await self.keys.get()
            try:
                await self.call(self.terminal.write, data)
            finally:
                self.pending_keys -= len(data)

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.worker, function, *args)
