"""An extra API process's calls to the primary one (implements `deis.ports.Primary`).

Over `STATE/api.sock` with the standard library's HTTP client, from the worker thread
of the route that needs it. The primary's answer is raised again as the domain error
of its status, so the worker's client gets the same status and message.
"""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import asdict
from pathlib import Path

from deis.api.routes.workers import FOLLOW_UP_PATH
from deis.domain import errors
from deis.domain.releases import Released
from deis.http_status import STATUS
from deis.platform.forwarding import CONNECT_TIMEOUT_S

NOT_CARRIED_OUT = (
    "The new release is saved, but the platform's primary API process did not answer to"
    " carry it out (log line, router, deploy): it does not run yet."
)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, connect_timeout: float) -> None:
        super().__init__("primary", timeout=connect_timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(str(self.path))
            sock.settimeout(None)  # a deploy takes as long as its health checks
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class PrimaryOverSocket:
    def __init__(self, socket_path: Path, connect_timeout: float = CONNECT_TIMEOUT_S) -> None:
        self.socket_path = socket_path
        self.connect_timeout = connect_timeout

    def follow_up(self, released: Released) -> None:
        status, answer = self._post(FOLLOW_UP_PATH, asdict(released))
        if status != 204:
            raise error_of(status, answer)

    def _post(self, path: str, body: dict[str, object]) -> tuple[int, bytes]:
        connection = _UnixConnection(self.socket_path, self.connect_timeout)
        try:
            connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            response = connection.getresponse()
            return response.status, response.read()
        except OSError as exc:
            raise errors.Unavailable(f"{NOT_CARRIED_OUT} ({exc.__class__.__name__})") from exc
        finally:
            connection.close()


def error_of(status: int, answer: bytes) -> Exception:
    """The domain error whose status the primary answered, with its message."""
    try:
        body = json.loads(answer)
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    message = detail if isinstance(detail, str) else answer.decode("utf-8", "replace")
    for kind, kind_status in STATUS.items():
        if kind_status == status:
            return kind(message)
    return RuntimeError(f"the primary API process answered {status}: {message}")
