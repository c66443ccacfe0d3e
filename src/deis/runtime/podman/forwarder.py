"""The add-ons' forwarder: a small asyncio TCP relay, one process per platform instance.

It listens on the host end of the link of every replica of an app an add-on is attached
to (10.199.x.1:PORT, which only that replica and the host reach: a replica has no route
to any other address), and relays each connection to the add-on's server in its own
network namespace. No firewall rule, no forwarding, nothing on the host's public
addresses. It runs in a session of its own, so it outlives a platform restart (apps keep
their databases meanwhile); the platform writes what it should listen on to a JSON file
(`{"listen": [[host, port, target_host, target_port, device], ...]}`), which it reads again
whenever the file changes. A listener that goes away closes its connections (a detach
cuts the app off at once). Each listener is bound to its replica's veth
(SO_BINDTODEVICE): when that replica goes and another gets its address (on a veth of
another name) before the routes change, the listener does not serve it.

    python -m deis.runtime.podman.forwarder STATE/addons/forward.json
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import sys
from pathlib import Path

Route = tuple[str, int, str, int, str]
POLL_S = 0.1
CHUNK = 64 * 1024

log = logging.getLogger("deis.forwarder")


def read_routes(path: Path) -> set[Route]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return set()
    routes: set[Route] = set()
    for item in data.get("listen", []):
        host, port, target, target_port, device = item
        routes.add((str(host), int(port), str(target), int(target_port), str(device)))
    return routes


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one way until the end, then half-close (the other way may still answer)."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        with contextlib.suppress(Exception):
            writer.close()


class Listener:
    def __init__(self, route: Route) -> None:
        self.route = route
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def open(self) -> bool:
        host, port, _, _, device = self.route
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
            sock.bind((host, port))
            sock.listen(128)
            sock.setblocking(False)
            self.server = await asyncio.start_server(self._serve, sock=sock)
        except OSError as exc:  # the replica's link is not up yet: tried again later
            sock.close()
            log.debug("cannot listen on %s:%d (%s): %s", host, port, device, exc)
            return False
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        _, _, target, target_port, _ = self.route
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(target, target_port), 10
            )
        except (OSError, TimeoutError):
            writer.close()
            self.tasks.discard(task)
            return
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            for each in (writer, up_writer):
                with contextlib.suppress(Exception):
                    each.close()
            self.tasks.discard(task)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()


def _applied(path: Path) -> None:
    """Say which routes are served (the platform waits for it when a replica starts)."""
    try:
        body = path.read_text()
        temporary = path.with_suffix(".applied.tmp")
        temporary.write_text(body)
        temporary.replace(path.with_suffix(".applied"))
    except OSError:
        pass


async def run(path: Path) -> None:
    listeners: dict[Route, Listener] = {}
    seen: float | None = None
    while True:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = -1.0
        pending = any(listener.server is None for listener in listeners.values())
        if mtime != seen or pending:
            seen = mtime
            wanted = read_routes(path)
            for route in set(listeners) - wanted:
                await listeners.pop(route).close()
            for route in wanted:
                listener = listeners.setdefault(route, Listener(route))
                if listener.server is None:
                    await listener.open()
            if not any(listener.server is None for listener in listeners.values()):
                _applied(path)
        await asyncio.sleep(POLL_S)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m deis.runtime.podman.forwarder CONFIG.json", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(Path(args[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
