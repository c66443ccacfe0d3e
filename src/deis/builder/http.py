"""Git's smart HTTP: `git http-backend` (CGI) behind token auth, as an ASGI application.

`git push http://USER:TOKEN@HOST:PORT/APP.git master`: the password is the user's API
token. Mounted on the controller for paths like `/APP.git/info/refs`,
`/APP.git/git-receive-pack` and `/APP.git/git-upload-pack`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import os
import re
import signal
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from deis.builder.config import BuilderConfig
from deis.builder.receive import Receiver, ensure_repo, git_base_env, repo_path
from deis.domain.errors import DomainError, NotFound
from deis.services import hooks, users
from deis.services.context import Context

log = logging.getLogger("deis.builder.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATH_RE = re.compile(r"/([a-z][a-z0-9-]{0,62})\.git(/info/refs|/git-receive-pack|/git-upload-pack)")
SERVICES = ("git-receive-pack", "git-upload-pack")
CHUNK = 64 * 1024
BACKEND_TIMEOUT = 6 * 3600


def is_git_path(path: str) -> bool:
    """Whether a request path belongs to this app (for mounting it beside the API)."""
    return PATH_RE.fullmatch(path) is not None


async def _respond(
    send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = (text.rstrip("\n") + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _credentials(scope: Scope) -> tuple[str, str] | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization" and value[:6].lower() == b"basic ":
            try:
                decoded = base64.b64decode(value[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            user, sep, token = decoded.partition(":")
            return (user, token) if sep else None
    return None


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


class GitHTTP:
    def __init__(self, ctx: Context, config: BuilderConfig, receiver: Receiver) -> None:
        self.ctx = ctx
        self.config = config
        self.receiver = receiver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.receiver.stop()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        match = PATH_RE.fullmatch(scope.get("path", ""))
        if not match:
            await _respond(send, 404, "Not a git repository path (/APP.git/...).")
            return
        app, rest = match[1], match[2]
        query = scope.get("query_string", b"").decode("latin-1")
        method = scope.get("method", "GET")
        if rest == "/info/refs":
            service = dict(p.partition("=")[::2] for p in query.split("&") if p).get("service", "")
            if method != "GET" or service not in SERVICES:
                await _respond(send, 403, "Only smart HTTP (git-upload-pack, git-receive-pack).")
                return
        else:
            service = rest[1:]
            if method != "POST":
                await _respond(send, 405, "Use POST.")
                return
        creds = _credentials(scope)
        challenge = [(b"www-authenticate", b'Basic realm="Deis"')]
        if creds is None:
            await _respond(send, 401, "Give your username and API token.", challenge)
            return
        try:
            user = await asyncio.to_thread(users.authenticate, self.ctx, creds[1])
        except DomainError:
            await _respond(send, 401, "Invalid token.", challenge)
            return
        if creds[0] and creds[0] != user.username:
            await _respond(send, 401, "That token belongs to another user.", challenge)
            return
        try:
            await asyncio.to_thread(hooks.push_keys, self.ctx, app, user.username)
        except NotFound:
            await _respond(send, 404, f"App {app} not found (or you may not push to it).")
            return
        extra: dict[str, str] = {}
        if service == "git-receive-pack":
            repo = await ensure_repo(self.config, app)
            await self.receiver.start()
            with self.receiver.session(app, user.username, repo) as hook_env:
                extra = hook_env
                await self._backend(scope, receive, send, user.username, query, extra)
            return
        if not (repo_path(self.config, app) / "HEAD").exists():
            await _respond(send, 404, f"{app} has nothing pushed yet.")
            return
        await self._backend(scope, receive, send, user.username, query, extra)

    async def _backend(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        username: str,
        query: str,
        extra: dict[str, str],
    ) -> None:
        env = git_base_env(self.config) | extra
        env |= {
            "GIT_PROJECT_ROOT": str(self.config.repos),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "REQUEST_METHOD": scope.get("method", "GET"),
            "PATH_INFO": scope.get("path", ""),
            "QUERY_STRING": query,
            "REMOTE_USER": username,
            "REMOTE_ADDR": (scope.get("client") or ("", 0))[0] or "",
            "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        }
        for header, var in (
            (b"content-type", "CONTENT_TYPE"),
            (b"content-length", "CONTENT_LENGTH"),
            (b"content-encoding", "HTTP_CONTENT_ENCODING"),
            (b"git-protocol", "GIT_PROTOCOL"),
        ):
            value = _header(scope, header)
            if value is not None:
                env[var] = value
        proc = await asyncio.create_subprocess_exec(
            "git",
            "http-backend",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,
            limit=1024 * 1024,
        )
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        too_large = False

        async def feed() -> None:
            nonlocal too_large
            assert proc.stdin is not None
            size = 0
            try:
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        break
                    body = message.get("body", b"")
                    size += len(body)
                    if size > self.config.max_push_size:
                        too_large = True
                        break
                    if body:
                        proc.stdin.write(body)
                        await proc.stdin.drain()
                    if not message.get("more_body", False):
                        break
            except (ConnectionError, BrokenPipeError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    proc.stdin.close()

        async def errors() -> bytes:
            assert proc.stderr is not None
            return await proc.stderr.read()

        feeder = asyncio.ensure_future(feed())
        stderr_task = asyncio.ensure_future(errors())
        try:
            await asyncio.wait_for(
                self._relay(proc.stdout, send, feeder, lambda: too_large), BACKEND_TIMEOUT
            )
            await asyncio.wait_for(proc.wait(), 60)
        finally:
            feeder.cancel()
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(proc.wait(), 10)
            with contextlib.suppress(Exception):
                err = await asyncio.wait_for(stderr_task, 5)
                if err.strip():
                    log.info("git http-backend: %s", err.decode(errors="replace").strip())

    async def _relay(
        self,
        stdout: asyncio.StreamReader,
        send: Send,
        feeder: asyncio.Future[None],
        too_large: Callable[[], bool],
    ) -> None:
        """CGI headers, then the body as it comes (build output streams inside it)."""
        head = b""
        while b"\r\n\r\n" not in head and b"\n\n" not in head:
            chunk = await stdout.read(CHUNK)
            if not chunk:
                break
            head += chunk
            if len(head) > 64 * 1024:
                break
        if too_large():
            await feeder
            await _respond(send, 413, "The push is too large (DEIS_MAX_PUSH_SIZE).")
            return
        sep = b"\r\n\r\n" if b"\r\n\r\n" in head else b"\n\n"
        raw_headers, _, body = head.partition(sep)
        status = 200
        headers: list[tuple[bytes, bytes]] = []
        for line in raw_headers.replace(b"\r\n", b"\n").split(b"\n"):
            name, _, value = line.partition(b":")
            if not name:
                continue
            if name.strip().lower() == b"status":
                with contextlib.suppress(ValueError):
                    status = int(value.strip().split()[0])
            else:
                headers.append((name.strip().lower(), value.strip()))
        if not raw_headers and not body:
            await _respond(send, 502, "git http-backend gave no answer.")
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if body:
            await send({"type": "http.response.body", "body": body, "more_body": True})
        while chunk := await stdout.read(CHUNK):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
