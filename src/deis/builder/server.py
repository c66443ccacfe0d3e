"""What the platform starts: `Builder(ctx, settings)`, then `await builder.start()`.

It serves git over SSH (settings.ssh_port on settings.bind) and gives the smart HTTP
transport as an ASGI app (`builder.http_app`) that shares its hook socket and locks.
"""

from __future__ import annotations

import asyncio
import logging
import shutil

from deis.builder.config import BuilderConfig
from deis.builder.http import ASGIApp, GitHTTP
from deis.builder.network import BuildNetworks
from deis.builder.pipeline import Pipeline
from deis.builder.receive import Receiver
from deis.builder.ssh import SSHServer
from deis.ports import Objects
from deis.services.context import Context
from deis.settings import Settings

log = logging.getLogger("deis.builder")


class Builder:
    def __init__(
        self,
        ctx: Context,
        settings: Settings,
        *,
        config: BuilderConfig | None = None,
        objects: Objects,
        networks: BuildNetworks | None = None,
    ) -> None:
        """networks: where build containers are connected (deis.builder.network); none
        given, builds have no network at all."""
        self.ctx = ctx
        self.config = config or BuilderConfig.from_settings(settings)
        self.objects = objects
        self.pipeline = Pipeline(ctx, self.config, self.objects, networks)
        self.receiver = Receiver(ctx, self.config, self.pipeline)
        self.ssh = SSHServer(ctx, self.config, self.receiver)
        self.http_app: ASGIApp = GitHTTP(ctx, self.config, self.receiver)

    @property
    def ssh_port(self) -> int:
        """The port SSH listens on (the one chosen when started with port 0)."""
        return self.ssh.port

    async def start(self, *, host: str | None = None, port: int | None = None) -> None:
        for folder in (self.config.repos, self.config.caches, self.config.locks):
            folder.mkdir(parents=True, exist_ok=True)
        # Work folders left by a builder that died mid-build.
        for leftover in (self.config.work, self.config.home / "trash"):
            if leftover.exists():
                await asyncio.to_thread(shutil.rmtree, leftover, True)
        self.config.work.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self.pipeline.networks.purge)
        outputs = self.ctx.build_outputs
        if outputs is not None:
            await asyncio.to_thread(
                outputs.end_unfinished, self.ctx.clock(), "the builder stopped during the build"
            )
        await self.receiver.start()
        await self.ssh.start(host=host, port=port)
        log.info(
            "builder listening for git over SSH on %s:%d", host or self.config.bind, self.ssh_port
        )

    async def remove_app(self, app: str) -> None:
        await asyncio.to_thread(self.forget_app, app)

    def forget_app(self, app: str) -> None:
        """Forget an app that was destroyed: its repository, build cache and slugs."""
        for folder in (self.config.repos / f"{app}.git", self.config.caches / app):
            shutil.rmtree(folder, True)
        for key in self.objects.keys(f"slugs/{app}"):
            self.objects.delete(key)

    async def stop(self) -> None:
        await self.ssh.stop()
        await self.receiver.stop()
        await self.pipeline.drain()
