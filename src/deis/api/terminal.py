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
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from deis.api import deps
from deis.api.errors import body_of, status_of
from deis.domain import terminal as rules
from deis.domain.errors import DomainError, Invalid
from deis.domain.records import User
from deis.ports import Terminal
from deis.services import formation
from deis.services.context import Context

log = logging.getLogger("deis.api")

OPENING_TIMEOUT = 30.0  # seconds the client has to send its opening message
READ_SLICE = 0.25  # seconds one read of the terminal waits
PENDING_CHUNKS = 64  # output read ahead of a slow client, at most


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
    ctx: Context = websocket.app.state.context
    await websocket.accept()
    terminal: Terminal | None = None
    try:
        user = await run_in_threadpool(authenticate, ctx, websocket.headers.get("authorization"))
        opening = rules.opening(await first_message(websocket))
        terminal = await run_in_threadpool(formation.terminal, ctx, user, app_id, opening)
        await Session(websocket, terminal).run()
    except DomainError as error:
        await refuse(websocket, refused(error))
    except Refused as refusal:
        await refuse(websocket, refusal)
    except WebSocketDisconnect:
        pass
    finally:
        if terminal is not None:
            await asyncio.shield(run_in_threadpool(terminal.close))


def authenticate(ctx: Context, authorization: str | None) -> User:
    return deps.current_user(deps.optional_user(ctx, authorization))


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
        return json.loads(text)
    except ValueError:
        raise Invalid("A text message must be JSON.") from None


async def refuse(websocket: WebSocket, refusal: Refused) -> None:
    if websocket.application_state != WebSocketState.CONNECTED:
        return
    try:
        await websocket.send_text(json.dumps({"status": refusal.status, "error": refusal.body}))
        await websocket.close(4000 + refusal.status, close_reason(refusal.body))
    except (WebSocketDisconnect, RuntimeError):
        pass


class Session:
    """Bytes both ways until the command ends (then its exit code) or the client leaves."""

    def __init__(self, websocket: WebSocket, terminal: Terminal) -> None:
        self.websocket = websocket
        self.terminal = terminal
        self.output: asyncio.Queue[bytes] = asyncio.Queue()
        self.credits = threading.Semaphore(PENDING_CHUNKS)
        self.stopping = threading.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        reader = threading.Thread(target=self.read, args=(loop,), name="deis-tty", daemon=True)
        reader.start()
        sending = asyncio.create_task(self.send_output())
        receiving = asyncio.create_task(self.receive_input())
        try:
            done, _ = await asyncio.wait({sending, receiving}, return_when=asyncio.FIRST_COMPLETED)
            if sending in done:
                receiving.cancel()
                sending.result()
                code = await run_in_threadpool(self.terminal.wait)
                await self.websocket.send_text(json.dumps({"exit_code": code}))
                await self.websocket.close(1000)
            else:
                sending.cancel()
                receiving.result()  # a refusal (a bad control message) goes up from here
        finally:
            self.stopping.set()
            for task in (sending, receiving):
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
        """Until the client leaves: keys to the terminal, resizes to its size."""
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is not None:
                await run_in_threadpool(self.terminal.write, data)
                continue
            try:
                cols, rows = rules.resize(parse_json(message.get("text") or ""))
            except DomainError as error:
                raise refused(error) from None
            await run_in_threadpool(self.terminal.resize, cols, rows)
