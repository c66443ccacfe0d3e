"""Interactive runs (`deis run bash`): the messages a client sends, and the time limits.

The wire protocol, over a WebSocket on `/v2/apps/<id>/run` (an extension of ours):
the client opens with one JSON text message `{"command": "bash", "size": [cols, rows],
"term": "xterm-256color"}` (`term` optional), then sends the keyboard's bytes as binary
messages and `{"resize": [cols, rows]}` text messages; the server sends the terminal's
bytes as binary messages and ends with `{"exit_code": N}` (or `{"status": N, "error":
{...}}`), then closes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from deis.domain.errors import Invalid

MAX_COMMAND_LENGTH = 10_000
MAX_SIZE = 10_000  # columns or rows
DEFAULT_TERM = "xterm"
TERM_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
# The exit code of a command the platform stopped at a time limit (as timeout(1) does).
STOPPED_EXIT_CODE = 124


@dataclass(frozen=True)
class Opening:
    command: str
    cols: int
    rows: int
    term: str = DEFAULT_TERM


def command(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("Give a command to run.", field="command")
    if len(value) > MAX_COMMAND_LENGTH:
        raise Invalid("The command is too long.", field="command")
    return value


def size(value: object, name: str) -> tuple[int, int]:
    """[columns, rows], each 1 to MAX_SIZE."""
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(type(n) is int and 1 <= n <= MAX_SIZE for n in value)
    ):
        raise Invalid(f"Give the terminal's size as [columns, rows], each 1 to {MAX_SIZE}.", name)
    return int(value[0]), int(value[1])


def opening(message: object) -> Opening:
    """The client's first message."""
    if not isinstance(message, dict):
        raise Invalid('Open with a JSON object: {"command": "...", "size": [cols, rows]}.')
    cols, rows = size(message.get("size"), "size")
    term = message.get("term", DEFAULT_TERM)
    if not isinstance(term, str) or not TERM_RE.fullmatch(term):
        raise Invalid("Give TERM as a terminal type name, such as xterm-256color.", "term")
    return Opening(command(message.get("command")), cols, rows, term)


def resize(message: object) -> tuple[int, int]:
    """A control message of the client: `{"resize": [cols, rows]}`."""
    if not isinstance(message, dict) or set(message) != {"resize"}:
        raise Invalid('The only control message is {"resize": [cols, rows]}.')
    return size(message["resize"], "resize")


@dataclass
class Watch:
    """The time limit of a session and its idle limit (no byte in or out for that long)."""

    time_limit: float
    idle_limit: float
    started: float
    last: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.last = max(self.last, self.started)

    def touch(self, now: float) -> None:
        self.last = max(self.last, now)

    def expired(self, now: float) -> str | None:
        """'time' or 'idle' once a limit is reached, else None."""
        if now - self.started >= self.time_limit:
            return "time"
        if now - self.last >= self.idle_limit:
            return "idle"
        return None

    def remaining(self, now: float) -> float:
        """Seconds until a limit may be reached (0 when one is)."""
        return max(0.0, min(self.started + self.time_limit, self.last + self.idle_limit) - now)

    def message(self, reason: str) -> str:
        if reason == "idle":
            return f"(stopped: no input or output for {self.idle_limit:g} seconds)"
        return f"(stopped after {self.time_limit:g} seconds)"
