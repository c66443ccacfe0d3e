"""The builder started in-process on free ports, with a temporary state dir, a SQLite
store and the record runtime; users, keys and apps made through the services; real
`git push` over SSH and HTTP."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from deis.builder.config import BuilderConfig
from deis.builder.server import Builder
from deis.domain.records import User
from deis.objects.filesystem import FilesystemObjects
from deis.platform.registry import Registry
from deis.platform.wiring import build_context, make_build_networks
from deis.runtime.podman.purge import wait_for_podman_helpers
from deis.services import apps, keys, users
from deis.services.context import Context
from deis.settings import from_env
from deis.stack import podman_conf
from tests.databases import fresh_database

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
PUSH_TIMEOUT = 900
PASSWORD = "s3cret-pw"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def can_build() -> str | None:
    """Why the machine cannot run builds (None when it can)."""
    if os.geteuid() != 0:
        return "builds need root (podman rootful, debootstrap)"
    for tool in ("podman", "runc", "debootstrap", "git", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


@pytest.fixture(scope="session")
def stack_images() -> dict[str, str]:
    """The stack images, built once per machine (cached machine-wide, so fast after)."""
    reason = can_build()
    if reason:
        pytest.skip(reason)
    from deis.stack.build import ensure

    return ensure()


@pytest.fixture(scope="session")
def registry() -> Iterator[Registry]:
    """The platform's registry (Debian's docker-registry) the Dockerfile builds push to,
    one per test process; apps of different tests have different names."""
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry is not installed (scripts/install.sh installs it)")
    # Under TMPDIR/deis-test-*, with its owner: scripts/clean-test-leftovers.py stops it
    # if this test process is killed.
    root = Path(tempfile.mkdtemp(prefix="deis-test-registry-"))
    (root / "owner.pid").write_text(f"{os.getpid()}\n")
    registry = Registry(root / "state", free_port())
    try:
        registry.start()
        yield registry
    finally:
        registry.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Pusher:
    """A user with a fresh ed25519 key and a token, pushing with real git."""

    platform: Platform
    user: User
    token: str
    key: Path
    home: Path

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": self.user.username,
            "GIT_AUTHOR_EMAIL": f"{self.user.username}@example.com",
            "GIT_COMMITTER_NAME": self.user.username,
            "GIT_COMMITTER_EMAIL": f"{self.user.username}@example.com",
            "GIT_SSH_COMMAND": (
                "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
                f" -o IdentitiesOnly=yes -o LogLevel=ERROR -i {self.key}"
                f" -p {self.platform.ssh_port}"
            ),
        }

    def git(self, cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - an argument list
            ["git", *args],
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def ssh_url(self, app: str) -> str:
        return f"ssh://git@127.0.0.1:{self.platform.ssh_port}/{app}.git"

    def http_url(self, app: str) -> str:
        return f"http://{self.user.username}:{self.token}@127.0.0.1:{self.platform.http_port}/{app}.git"

    def push(
        self, source: Path, app: str, *, ref: str = "HEAD:master", http: bool = False
    ) -> subprocess.CompletedProcess[str]:
        url = self.http_url(app) if http else self.ssh_url(app)
        return self.git(source, "push", url, ref, timeout=PUSH_TIMEOUT)


@dataclass
class Platform:
    tmp: Path
    ctx: Context
    builder: Builder
    config: BuilderConfig
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    ssh_port: int = 0
    http_port: int = 0
    http_server: uvicorn.Server | None = None
    users: dict[str, Pusher] = field(default_factory=dict)

    def call(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def user(self, username: str) -> Pusher:
        if username in self.users:
            return self.users[username]
        user = users.register(
            self.ctx,
            None,
            {"username": username, "password": PASSWORD, "email": f"{username}@example.com"},
        )
        token = users.login(self.ctx, username, PASSWORD, "127.0.0.1")
        home = self.tmp / f"home-{username}"
        home.mkdir()
        key = home / "id_ed25519"
        subprocess.run(  # noqa: S603 - an argument list
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", username, "-f", str(key)],
            check=True,
            timeout=30,
        )
        keys.add(self.ctx, user, f"{username}-key", (home / "id_ed25519.pub").read_text())
        pusher = Pusher(self, user, token, key, home)
        self.users[username] = pusher
        return pusher

    def create_app(self, owner: str, app_id: str | None = None) -> str:
        app_id = app_id or f"app-{secrets.token_hex(3)}"
        apps.create(self.ctx, self.users[owner].user, app_id)
        return app_id

    def releases(self, app: str) -> list[Any]:
        with self.ctx.store.transaction() as uow:
            page, _ = uow.releases.list(app, 0, 100)
        return page

    def builds(self, app: str) -> list[Any]:
        with self.ctx.store.transaction() as uow:
            page, _ = uow.builds.list(app, 0, 100)
        return page

    def slug_members(self, key: str) -> list[str]:
        with tarfile.open(self.builder.objects.path(key)) as tar:
            return tar.getnames()

    def no_locks_held(self, app: str) -> bool:
        locks = self.builder.pipeline.locks
        return not locks.app_locked(app) and locks.slots_in_use() == 0


def source_tree(tmp: Path, files: dict[str, str | bytes] | Path, pusher: Pusher) -> Path:
    """A git work tree with the files (or a copy of an example folder), committed."""
    path = tmp / f"src-{secrets.token_hex(4)}"
    if isinstance(files, Path):
        shutil.copytree(files, path)
    else:
        path.mkdir()
        for name, content in files.items():
            target = path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
    for args in (("init", "-q", "-b", "master"), ("add", "-A"), ("commit", "-q", "-m", "first")):
        done = pusher.git(path, *args)
        assert done.returncode == 0, done.stderr
    return path


def commit(pusher: Pusher, path: Path, message: str = "change") -> None:
    for args in (("add", "-A"), ("commit", "-q", "--allow-empty", "-m", message)):
        done = pusher.git(path, *args)
        assert done.returncode == 0, done.stderr


@pytest.fixture
def platform(tmp_path: Path, registry: Registry) -> Iterator[Platform]:
    tmp = tmp_path / f"deis-{secrets.token_hex(4)}"
    tmp.mkdir()
    with fresh_database("sqlite", tmp) as url:
        settings = from_env(
            {},
            state_dir=tmp / "state",
            database_url=url,
            router_port=8080,
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            ssh_port=0,
            runtime="record",
            router="none",
            builder="none",  # this fixture starts its own Builder
        )
        ctx = build_context(settings)
        config = BuilderConfig.from_settings(
            settings,
            {},
            build_timeout=600.0,
            max_push_size=50 * 1024 * 1024,
            registry=registry.address,
        )
        objects = FilesystemObjects(settings.state_dir / "objects")
        builder = Builder(
            ctx,
            settings,
            config=config,
            objects=objects,
            networks=make_build_networks(settings),
        )
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        platform = Platform(tmp, ctx, builder, config, loop, thread)
        try:
            platform.call(builder.start(host="127.0.0.1", port=0))
            platform.ssh_port = builder.ssh_port
            platform.http_port = free_port()
            server = uvicorn.Server(
                uvicorn.Config(
                    builder.http_app,
                    host="127.0.0.1",
                    port=platform.http_port,
                    log_level="warning",
                    lifespan="off",
                )
            )
            platform.http_server = server
            asyncio.run_coroutine_threadsafe(server.serve(), loop)
            deadline = time.monotonic() + 10
            while not server.started:
                assert time.monotonic() < deadline, "the HTTP server did not start"
                time.sleep(0.02)
            yield platform
        finally:
            if platform.http_server is not None:
                platform.http_server.should_exit = True
                time.sleep(0.3)
            try:
                platform.call(builder.stop(), timeout=30)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout=10)
                loop.close()
                store_close = getattr(ctx.store, "close", None)
                if callable(store_close):
                    store_close()
                paths = podman_conf.paths_for(
                    settings.state_dir, podman_conf.load_instance_id(settings.state_dir)
                )
                shutil.rmtree(paths.run_dir, ignore_errors=True)
                # podman leaves its store's overlay mounted after some failures (a push
                # to a registry that is down): unmount it, or the tmp dir cannot go.
                wait_for_podman_helpers(paths)
                overlay = paths.graphroot / "overlay"
                mounts = Path("/proc/self/mounts").read_text().split()
                if str(overlay) in mounts:  # a bind mount: os.path.ismount cannot tell
                    subprocess.run(["umount", str(overlay)], check=False, timeout=60)  # noqa: S603
