"""Receiving pushes: the bare repository per app, git's receive-pack, and the socket its
pre-receive hook calls back through into the build pipeline."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from deis.builder import hook as hook_module
from deis.builder.config import BuilderConfig
from deis.builder.pipeline import Pipeline, Push
from deis.services.context import Context

log = logging.getLogger("deis.builder")
GIT_TIMEOUT = 60


@dataclass(frozen=True)
class Session:
    app: str
    user: str
    repo: Path


def hook_script() -> str:
    source = Path(hook_module.__file__).read_text()
    return f"#!{sys.executable}\n{source}"


def repo_path(config: BuilderConfig, app: str) -> Path:
    return config.repos / f"{app}.git"


async def ensure_repo(config: BuilderConfig, app: str) -> Path:
    """The app's bare repository, made on first push; its hook written every time."""
    path = repo_path(config, app)
    if not (path / "HEAD").exists():
        config.repos.mkdir(parents=True, exist_ok=True)
        temporary = config.repos / f".{app}.{secrets.token_hex(4)}.git"
        proc = await asyncio.create_subprocess_exec(
            "git",
            "init",
            "--quiet",
            "--bare",
            str(temporary),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), GIT_TIMEOUT)
        if proc.returncode != 0:
            raise RuntimeError(f"git init failed: {err.decode(errors='replace')}")
        (temporary / "HEAD").write_text("ref: refs/heads/master\n")
        try:
            temporary.rename(path)
        except OSError:  # made meanwhile by another push
            await asyncio.to_thread(_rmtree, temporary)
    hook = path / "hooks" / "pre-receive"
    text = hook_script()
    if not hook.exists() or hook.read_text() != text:
        hook.parent.mkdir(exist_ok=True)
        temporary_hook = hook.with_name(f".pre-receive.{secrets.token_hex(4)}")
        temporary_hook.write_text(text)
        temporary_hook.chmod(0o755)
        temporary_hook.replace(hook)
    return path


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def git_base_env(config: BuilderConfig) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(config.home),
        "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",
    }


class Receiver:
    """Sessions of the pushes in flight, and the hook socket (an abstract Unix socket with
    a random name, one per builder process; each push has its own random token)."""

    def __init__(self, ctx: Context, config: BuilderConfig, pipeline: Pipeline):
        self.ctx = ctx
        self.config = config
        self.pipeline = pipeline
        self.address = f"@deis-builder-{os.getpid()}-{secrets.token_hex(8)}"
        self.sessions: dict[str, Session] = {}
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        if self._server is not None:
            return
        async with self._lock:
            if self._server is None:
                self._server = await asyncio.start_unix_server(
                    self._serve, path="\0" + self.address[1:], limit=16 * 1024 * 1024
                )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    @contextlib.contextmanager
    def session(self, app: str, user: str, repo: Path):  # type: ignore[no-untyped-def]
        """The environment for one receive-pack: the hook finds this push by its token."""
        token = secrets.token_hex(32)
        self.sessions[token] = Session(app, user, repo)
        try:
            yield {
                "DEIS_HOOK_SOCKET": self.address,
                "DEIS_HOOK_TOKEN": token,
                "DEIS_HOOK_TIMEOUT": str(int(self.config.build_timeout) + 600),
            }
        finally:
            self.sessions.pop(token, None)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("hook connection failed")
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await asyncio.wait_for(reader.readline(), 30)
        try:
            request = json.loads(line)
            session = self.sessions.get(str(request.get("token", "")))
        except (ValueError, AttributeError):
            session = None
        if session is None:
            writer.write(b"o error: this push is not known to the builder\nx 1\n")
            await writer.drain()
            return
        refs = [
            (str(r[0]), str(r[1]), str(r[2]))
            for r in request.get("refs", [])
            if isinstance(r, list) and len(r) == 3
        ]
        env = {
            k: str(v)
            for k, v in (request.get("env") or {}).items()
            if k
            in ("GIT_OBJECT_DIRECTORY", "GIT_QUARANTINE_PATH", "GIT_ALTERNATE_OBJECT_DIRECTORIES")
        }
        push = Push(app=session.app, user=session.user, repo=session.repo, refs=refs, git_env=env)

        async def emit(text: str) -> None:
            for part in text.split("\n"):
                writer.write(b"o " + part.encode("utf-8", "replace") + b"\n")
            await writer.drain()

        build = asyncio.ensure_future(self.pipeline.handle(push, emit))
        gone = asyncio.ensure_future(reader.read())  # EOF: the hook (the pusher) went away
        done, _ = await asyncio.wait({build, gone}, return_when=asyncio.FIRST_COMPLETED)
        if build not in done:
            log.info("push of %s abandoned by the client: cancelling its build", push.app)
            build.cancel()
            with contextlib.suppress(BaseException):
                await build
            return
        gone.cancel()
        status = build.result()
        writer.write(f"x {status}\n".encode())
        await writer.drain()
