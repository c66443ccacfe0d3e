"""Git over SSH: an asyncssh server for user `git`, keys looked up by fingerprint.

Only `git-receive-pack` and `git-upload-pack` on `APP.git` (or `/APP.git`) are run, as
git's own programs, wired to the SSH channel. A key that is not registered is let in only
to be told so (one line on stderr, exit status 1); so is anyone without access to the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shlex
import signal
from pathlib import Path

import asyncssh

from deis.builder.config import BuilderConfig
from deis.builder.receive import Receiver, ensure_repo, git_base_env, repo_path
from deis.domain.errors import DomainError, NotFound
from deis.services import hooks
from deis.services.context import Context

log = logging.getLogger("deis.builder.ssh")

COMMANDS = ("git-receive-pack", "git-upload-pack")
_APP_RE = re.compile(r"[a-z][a-z0-9-]{0,62}")
CHUNK = 64 * 1024
SESSION_TIMEOUT = 6 * 3600  # a transfer that takes longer than this is cut


class Refused(Exception):
    pass


def parse_command(command: str | None) -> tuple[str, str]:
    """(git command, app) from `git-receive-pack '/myapp.git'`; Refused otherwise."""
    if not command:
        raise Refused("This server only runs git: push with git push deis master.")
    try:
        words = shlex.split(command)
    except ValueError:
        raise Refused("That command cannot be read.") from None
    if len(words) == 3 and words[0] == "git" and f"git-{words[1]}" in COMMANDS:
        words = [f"git-{words[1]}", words[2]]
    if len(words) != 2 or words[0] not in COMMANDS:
        raise Refused(f"Only {' and '.join(COMMANDS)} are allowed here.")
    path = words[1].lstrip("/")
    if path.endswith("/"):
        path = path[:-1]
    if not path.endswith(".git") or not _APP_RE.fullmatch(path[:-4]):
        raise Refused(f"{words[1]} is not an app repository (APP.git).")
    return words[0], path[:-4]


def load_host_key(path: Path) -> asyncssh.SSHKey:
    """The builder's host key, made once and kept (0600)."""
    if path.exists():
        return asyncssh.read_private_key(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519")
    temporary = path.with_name(path.name + ".tmp")
    key.write_private_key(str(temporary))
    temporary.chmod(0o600)
    temporary.replace(path)
    key.write_public_key(str(path.with_name(path.name + ".pub")))
    return key


class _Connection(asyncssh.SSHServer):
    def __init__(self, server: SSHServer) -> None:
        self.server = server
        self.conn: asyncssh.SSHServerConnection | None = None
        self.offered_unknown = False

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        conn.set_extra_info(deis_user=None)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if username != "git":
            return False
        fingerprint = key.get_fingerprint("sha256")
        try:
            user, _apps = await asyncio.to_thread(hooks.key_owner, self.server.ctx, fingerprint)
        except NotFound:
            self.offered_unknown = True
            return False
        except Exception:
            log.exception("key lookup failed")
            return False
        assert self.conn is not None
        self.conn.set_extra_info(deis_user=user, deis_key_fingerprint=fingerprint)
        return True

    # After every offered key was refused, keyboard-interactive lets the client in without a
    # prompt, only to be told why in one line (ssh alone would just say "Permission denied").
    def kbdint_auth_supported(self) -> bool:
        return True

    def get_kbdint_challenge(self, username: str, lang: str, submethods: str) -> bool:
        if username != "git":
            return False
        assert self.conn is not None
        self.conn.set_extra_info(deis_unknown_key=self.offered_unknown)
        return True


class SSHServer:
    def __init__(self, ctx: Context, config: BuilderConfig, receiver: Receiver) -> None:
        self.ctx = ctx
        self.config = config
        self.receiver = receiver
        self._server: asyncssh.SSHAcceptor | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.get_port())

    async def start(self, host: str | None = None, port: int | None = None) -> None:
        key = await asyncio.to_thread(load_host_key, self.config.host_key)
        self._server = await asyncssh.create_server(
            lambda: _Connection(self),
            host if host is not None else self.config.bind,
            self.config.ssh_port if port is None else port,
            server_host_keys=[key],
            process_factory=self._process,
            encoding=None,
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
            login_timeout=60,
            keepalive_interval=30,
            keepalive_count_max=6,
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None
        for task in list(self._tasks):
            task.cancel()

    async def _process(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            status = await self._run(process)
        except Refused as exc:
            status = 1
            with contextlib.suppress(Exception):
                process.stderr.write(f"error: {exc}\n".encode())
        except (asyncssh.Error, ConnectionError, BrokenPipeError):
            status = 1
        except Exception:
            log.exception("ssh session failed")
            status = 1
            with contextlib.suppress(Exception):
                process.stderr.write(b"error: the builder failed unexpectedly\n")
        finally:
            if task is not None:
                self._tasks.discard(task)
        with contextlib.suppress(Exception):
            await process.stdout.drain()
            await process.stderr.drain()
        with contextlib.suppress(Exception):
            process.exit(status)

    async def _run(self, process: asyncssh.SSHServerProcess[bytes]) -> int:
        user = process.get_extra_info("deis_user")
        if user is None:
            if process.get_extra_info("deis_unknown_key"):
                raise Refused(
                    "This SSH key is not registered: add it with deis keys:add ~/.ssh/id_ed25519.pub"
                )
            raise Refused("No SSH key was offered: add one with deis keys:add.")
        command, app = parse_command(process.command)
        try:
            _username, apps = await asyncio.to_thread(
                hooks.key_owner, self.ctx, self._fingerprint(process)
            )
        except DomainError as exc:
            raise Refused(exc.message) from None
        if app not in apps:
            raise Refused(f"App {app} not found (or you may not push to it).")
        if command == "git-receive-pack":
            try:
                await asyncio.to_thread(hooks.push_keys, self.ctx, app, user)
            except NotFound as exc:
                raise Refused(exc.message) from None
            await self.receiver.start()
            repo = await ensure_repo(self.config, app)
            with self.receiver.session(app, user, repo) as hook_env:
                return await self._git(process, ["git-receive-pack", str(repo)], hook_env)
        repo = repo_path(self.config, app)
        if not (repo / "HEAD").exists():
            raise Refused(f"{app} has nothing pushed yet.")
        return await self._git(process, ["git-upload-pack", str(repo)], {})

    @staticmethod
    def _fingerprint(process: asyncssh.SSHServerProcess[bytes]) -> str:
        return str(process.get_extra_info("deis_key_fingerprint"))

    async def _git(
        self, process: asyncssh.SSHServerProcess[bytes], args: list[str], extra: dict[str, str]
    ) -> int:
        env = git_base_env(self.config) | extra
        protocol = (process.env or {}).get("GIT_PROTOCOL")
        if isinstance(protocol, (str, bytes)):
            env["GIT_PROTOCOL"] = protocol.decode() if isinstance(protocol, bytes) else protocol
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None

        async def feed() -> None:
            assert proc.stdin is not None
            try:
                while chunk := await process.stdin.read(CHUNK):
                    proc.stdin.write(chunk)
                    await proc.stdin.drain()
            except (ConnectionError, BrokenPipeError, asyncssh.Error):
                pass
            finally:
                with contextlib.suppress(Exception):
                    proc.stdin.close()

        async def copy(source: asyncio.StreamReader, sink: asyncssh.SSHWriter[bytes]) -> None:
            while chunk := await source.read(CHUNK):
                sink.write(chunk)
                await sink.drain()

        feeder = asyncio.ensure_future(feed())
        try:
            await asyncio.wait_for(
                asyncio.gather(
                    copy(proc.stdout, process.stdout), copy(proc.stderr, process.stderr)
                ),
                SESSION_TIMEOUT,
            )
            return await asyncio.wait_for(proc.wait(), 60)
        finally:
            feeder.cancel()
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(proc.wait(), 10)
