"""A recording HTTP proxy in front of the test controller.

It forwards every request to the real controller and streams the answer back as it
arrives, except the paths it is told to hide, which answer 404 as on a Deis v2 controller
that lacks this platform's extensions. It records what the client asked for, so a test
can tell whether `deis logs -f` streamed or polled.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx

# Not passed on; without accept-encoding the controller answers uncompressed, relayed as is.
HOP_BY_HOP = {
    "connection",
    "transfer-encoding",
    "content-length",
    "keep-alive",
    "host",
    "accept-encoding",
}


class Proxy:
    def __init__(self, upstream: str, hidden: tuple[str, ...] = ()) -> None:
        self.upstream = upstream.rstrip("/")
        self.hidden = hidden
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """By name, not address: the Deis builder convention needs a host name."""
        return f"http://localhost:{self._server.server_address[1]}"

    def paths(self, prefix: str) -> list[str]:
        with self._lock:
            return [path for path in self.requests if path.split(" ", 1)[1].startswith(prefix)]

    def start(self) -> Proxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def _record(self, line: str) -> None:
        with self._lock:
            self.requests.append(line)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the answer ends when the connection closes

            def log_message(self, format: str, *args: object) -> None:
                pass

            def forward(self) -> None:
                proxy._record(f"{self.command} {self.path}")
                if urlsplit(self.path).path in proxy.hidden:
                    self.send_response(404)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"detail": "Not found."}')
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                with contextlib.suppress(OSError, httpx.HTTPError):
                    for chunk in self.relay(headers, body):
                        self.wfile.write(chunk)
                        self.wfile.flush()

            def relay(self, headers: dict[str, str], body: bytes | None) -> Iterator[bytes]:
                timeout = httpx.Timeout(None, connect=10)
                with (
                    httpx.Client(trust_env=False, timeout=timeout) as client,
                    client.stream(
                        self.command, proxy.upstream + self.path, headers=headers, content=body
                    ) as answer,
                ):
                    self.send_response(answer.status_code)
                    for key, value in answer.headers.items():
                        if key.lower() not in HOP_BY_HOP:
                            self.send_header(key, value)
                    self.end_headers()
                    yield from answer.iter_raw()

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = forward

        return Handler
