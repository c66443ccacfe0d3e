"""`deis run` on a terminal: the run route upgraded to a WebSocket, an extension of this
platform (a Deis v2 controller does not have it; `deis run` then posts the command).

The local terminal is put in raw mode (keys go to the remote terminal as they are typed,
Ctrl-C included) and restored on the way out; a window resize (SIGWINCH) is sent on as
`{"resize": [cols, rows]}`. The server ends with `{"exit_code": N}`, or with
`{"status": N, "error": {...}}` when the command could not start.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import ssl
import termios
import threading
import tty
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from deis.cli.client import USER_AGENT, Settings, error_message
from deis.cli.errors import CLIError

OPEN_TIMEOUT = 30.0
TERM_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
DEFAULT_SIZE = (80, 24)
NOT_OFFERED = "The controller at {url} does not offer runs on a terminal ({why})."


class NotOffered(CLIError):
    """Interactive runs are not there: the controller lacks the extension (HTTP answer to
    the upgrade), or its runtime cannot give a terminal (503)."""


@dataclass
class Outcome:
    exit_code: int | None = None
    status: int | None = None
    error: Any = None


def wants_terminal(choice: bool | None, stdin_tty: bool, stdout_tty: bool) -> bool:
    """-i (True) or -T (False) decide; by default, a terminal when both ends are one."""
    if choice is not None:
        return choice
    return stdin_tty and stdout_tty


def socket_url(controller: str, app: str, route: str | None = None) -> str:
    """The run route of the app (or `route`, a path under /v2/) as a WebSocket URL."""
    parts = urlsplit(controller)
    scheme = "wss" if parts.scheme == "https" else "ws"
    under = route or f"apps/{quote(app, safe='')}/run"
    path = f"{parts.path.rstrip('/')}/v2/{under}"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def opening(command: str, size: tuple[int, int], term: str | None) -> str:
    message: dict[str, Any] = {"command": command, "size": list(size)}
    if term and TERM_RE.fullmatch(term):
        message["term"] = term
    return json.dumps(message)


def terminal_size(fd: int) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return DEFAULT_SIZE
    return (size.columns or DEFAULT_SIZE[0], size.lines or DEFAULT_SIZE[1])


def run(
    settings: Settings,
    app: str,
    command: str,
    stdin: int = 0,
    stdout: int = 1,
    route: str | None = None,
) -> int:
    """Run the command on a terminal; its exit code. NotOffered when the controller
    cannot; CLIError for every other failure. route: another terminal route than the
    app's run (`addons/NAME/connect`)."""
    if not os.isatty(stdin):
        raise CLIError("A run on a terminal needs one: stdin is not a terminal.")
    url = socket_url(settings.controller, app, route)
    with contextlib.ExitStack() as stack:
        websocket = open_socket(stack, settings, url)
        with contextlib.suppress(ConnectionClosed):  # refused already: its reason is queued
            websocket.send(opening(command, terminal_size(stdout), os.environ.get("TERM")))
        with raw_mode(stdin):
            outcome = Pump(websocket, stdin, stdout).run()
        return result(outcome, websocket, settings.controller)


def open_socket(stack: contextlib.ExitStack, settings: Settings, url: str) -> ClientConnection:
    """The connection, closed when the stack ends."""
    headers = {"Authorization": f"token {settings.token}"} if settings.token else {}
    context: ssl.SSLContext | None = None
    if url.startswith("wss:"):
        context = ssl.create_default_context()
        if not settings.ssl_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    try:
        connection = connect(  # connects now; entering it (below) closes it with the stack
            url,
            additional_headers=headers,
            user_agent_header=USER_AGENT,
            ssl=context,
            open_timeout=OPEN_TIMEOUT,
            compression=None,
            max_size=None,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        raise NotOffered(
            NOT_OFFERED.format(url=settings.controller, why=f"it answered {status}")
        ) from None
    except (OSError, InvalidHandshake, TimeoutError) as exc:
        reason = str(exc) or type(exc).__name__
        raise CLIError(
            f"Could not reach the controller at {settings.controller}: {reason}"
        ) from None
    return stack.enter_context(connection)


def result(outcome: Outcome, websocket: ClientConnection, controller: str) -> int:
    if outcome.exit_code is not None:
        return outcome.exit_code
    if outcome.status is not None:
        message = error_message(outcome.status, json.dumps(outcome.error))
        if outcome.status == 503:
            raise NotOffered(message, status=503)
        raise CLIError(message, status=outcome.status)
    reason = websocket.close_reason or f"code {websocket.close_code}"
    raise CLIError(f"The connection to {controller} closed before the command ended ({reason}).")


@contextlib.contextmanager
def raw_mode(fd: int) -> Iterator[None]:
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Pump:
    """Keys and resizes out (this thread), the terminal's bytes in (a thread)."""

    def __init__(self, websocket: ClientConnection, stdin: int, stdout: int) -> None:
        self.websocket = websocket
        self.stdin = stdin
        self.stdout = stdout
        self.outcome = Outcome()
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_write, False)
        self.resized = False
        self.done = threading.Event()

    def run(self) -> Outcome:
        receiver = threading.Thread(target=self.receive, name="deis-run-output", daemon=True)
        previous_winch = signal.signal(signal.SIGWINCH, self.on_winch)
        previous_term = signal.signal(signal.SIGTERM, self.on_term)
        try:
            receiver.start()
            self.send_keys()
        finally:
            signal.signal(signal.SIGWINCH, previous_winch)
            signal.signal(signal.SIGTERM, previous_term)
            if not self.done.is_set():
                self.websocket.close()
            receiver.join(10)
            os.close(self.wake_read)
            os.close(self.wake_write)
        return self.outcome

    def send_keys(self) -> None:
        sources = [self.stdin, self.wake_read]
        while not self.done.is_set():
            ready, _, _ = select.select(sources, [], [])
            try:
                if self.wake_read in ready:
                    os.read(self.wake_read, 512)
                    if self.resized:
                        self.resized = False
                        cols, rows = terminal_size(self.stdout)
                        self.websocket.send(json.dumps({"resize": [cols, rows]}))
                if self.stdin in ready and not self.done.is_set():
                    data = os.read(self.stdin, 4096)
                    if not data:  # the terminal hung up
                        return
                    self.websocket.send(data)
            except ConnectionClosed:
                return

    def receive(self) -> None:
        try:
            for message in self.websocket:
                if isinstance(message, bytes):
                    write_all(self.stdout, message)
                    continue
                data = json.loads(message)
                if isinstance(data, dict) and isinstance(data.get("exit_code"), int):
                    self.outcome.exit_code = data["exit_code"]
                elif isinstance(data, dict) and isinstance(data.get("status"), int):
                    self.outcome.status = data["status"]
                    self.outcome.error = data.get("error")
        except (ConnectionClosed, ValueError, OSError):
            pass
        finally:
            self.done.set()
            self.wake()

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.wake_write, b"x")

    def on_winch(self, signum: int, frame: FrameType | None) -> None:
        self.resized = True
        self.wake()

    def on_term(self, signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)
