"""`deis run` on a terminal: the choice of a terminal, the socket's address and opening,
and a controller without the extension (a Deis v2 one) that answers the upgrade in HTTP."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deis.cli import terminal
from deis.cli.client import Settings


@pytest.mark.parametrize(
    ("choice", "stdin_tty", "stdout_tty", "expected"),
    [
        (None, True, True, True),
        (None, True, False, False),
        (None, False, True, False),
        (True, False, False, True),
        (False, True, True, False),
    ],
)
def test_a_terminal_by_default_only_when_both_ends_are_terminals(
    choice: bool | None, stdin_tty: bool, stdout_tty: bool, expected: bool
) -> None:
    assert terminal.wants_terminal(choice, stdin_tty, stdout_tty) is expected


def test_the_socket_is_the_run_route_over_ws_or_wss() -> None:
    assert terminal.socket_url("http://127.0.0.1:8000", "web") == (
        "ws://127.0.0.1:8000/v2/apps/web/run"
    )
    assert terminal.socket_url("https://deis.example.com/base/", "a-b") == (
        "wss://deis.example.com/base/v2/apps/a-b/run"
    )


def test_the_opening_carries_a_sane_term_only() -> None:
    assert json.loads(terminal.opening("bash", (120, 40), "xterm-256color")) == {
        "command": "bash",
        "size": [120, 40],
        "term": "xterm-256color",
    }
    assert "term" not in json.loads(terminal.opening("bash", (80, 24), "bad term;"))
    assert "term" not in json.loads(terminal.opening("bash", (80, 24), None))


class NotFound(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b'{"detail": "Not found."}'
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def old_controller() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_controller_without_the_extension_is_not_offered(old_controller: str) -> None:
    master, slave = os.openpty()
    try:
        with pytest.raises(terminal.NotOffered, match="it answered 404"):
            terminal.run(Settings(controller=old_controller, token="t"), "app", "ls", slave, slave)
    finally:
        os.close(master)
        os.close(slave)


def test_stdin_must_be_a_terminal() -> None:
    read, write = os.pipe()
    try:
        with pytest.raises(terminal.CLIError, match="stdin is not a terminal"):
            terminal.run(Settings(controller="http://127.0.0.1:1"), "app", "ls", read, write)
    finally:
        os.close(read)
        os.close(write)
