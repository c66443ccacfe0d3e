"""The primary takes the client's address and scheme from a worker's headers only when
the request came over its Unix socket, never over TCP."""

from __future__ import annotations

from typing import Any

from deis.api.placement import FORWARDED_CLIENT, FORWARDED_SCHEME
from deis.platform.forwarding import FromWorkers
from tests.coroutines import run

CLAIMED = [(FORWARDED_CLIENT, b"203.0.113.7:4242"), (FORWARDED_SCHEME, b"https")]


def seen_by_the_app(server: Any, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    scope = {
        "type": "http", "method": "GET", "path": "/", "headers": headers,
        "server": server, "client": ("127.0.0.1", 5000), "scheme": "http",
    }  # fmt: skip
    run(FromWorkers(app)(scope, None, None))  # type: ignore[arg-type]
    return seen


def test_over_the_unix_socket_the_workers_client_is_taken() -> None:
    seen = seen_by_the_app(("/state/api.sock", None), CLAIMED)
    assert seen["client"] == ("203.0.113.7", 4242) and seen["scheme"] == "https"


def test_over_tcp_the_headers_are_ignored() -> None:
    seen = seen_by_the_app(("127.0.0.1", 8000), CLAIMED)
    assert seen["client"] == ("127.0.0.1", 5000) and seen["scheme"] == "http"


def test_a_malformed_address_or_scheme_is_ignored() -> None:
    bad = [(FORWARDED_CLIENT, b"no-port"), (FORWARDED_SCHEME, b"gopher")]
    seen = seen_by_the_app(("/state/api.sock", None), bad)
    assert seen["client"] == ("127.0.0.1", 5000) and seen["scheme"] == "http"
