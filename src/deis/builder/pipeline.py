"""The build pipeline: from the ref updates of a push to a release.

Called by the pre-receive hook (through `deis.builder.receive`) while git's receive-pack
waits, so a failed build refuses the push and leaves the refs as they were. Every line is
sent to `emit` as soon as it is written; it reaches the `git push` terminal as `remote: ...`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deis.builder.buildpack import NO_PROCESS_TYPES, BuildpackResult, run_buildpacks, slug_key
from deis.builder.config import BuilderConfig
from deis.builder.dockerfile import ImageResult, build_image
from deis.builder.errors import BuildFailed, BuildRefused
from deis.builder.locks import BuildLocks
from deis.builder.network import BuildNetwork, BuildNetworks, NoNetworks
from deis.builder.output import BuildOutput
from deis.builder.snapshot import archive, directory_size, slugignore, too_large, unpack
from deis.domain import cron as cron_rules
from deis.domain.attempts import BuildAttempt
from deis.domain.errors import DeployFailed, DomainError, Invalid
from deis.domain.formation import formation_hints
from deis.domain.procfile import parse_procfile
from deis.ports import Objects
from deis.services import hooks, sleep
from deis.services.context import Context

log = logging.getLogger("deis.builder")

Emit = Callable[[str], Awaitable[None]]
ZERO = "0" * 40
BUILD_BRANCHES = ("refs/heads/master", "refs/heads/main")
RUNTIME_MARK = " deis[runtime]: "  # the runtime's events in an app's log
PROGRESS_POLL_SECONDS = 1.0  # how often a push waiting for its deploy relays them


@dataclass(frozen=True)
class Push:
    app: str
    user: str
    repo: Path
    refs: list[tuple[str, str, str]]  # (old, new, ref) as pre-receive reads them
    git_env: dict[str, str] = field(default_factory=dict)  # quarantine of the new objects


def chosen_commit(refs: list[tuple[str, str, str]]) -> str:
    """The commit to build; refuses any ref but master/main, and deleting those."""
    if not refs:
        raise BuildRefused("Nothing was pushed.")
    sha = ""
    for _old, new, ref in refs:
        branch = ref.removeprefix("refs/heads/")
        if ref not in BUILD_BRANCHES:
            raise BuildRefused(
                f"Pushes to {branch} are refused: only master or main build"
                f" (git push deis {branch}:master)."
            )
        if new == ZERO:
            raise BuildRefused(f"Deleting {branch} is refused.")
        sha = new
    return sha


def app_json_cron(source: Path) -> list[dict[str, object]]:
    """The `cron` section of the app's app.json (Dokku's form), checked now so that a
    bad entry stops the push before the build; [] without app.json or the section."""
    path = source / "app.json"
    if not path.is_file() or path.is_symlink():
        return []
    try:
        document = json.loads(path.read_text(errors="replace"))
        jobs = cron_rules.app_json_jobs(document)
    except ValueError as exc:
        raise BuildRefused(f"app.json is not valid JSON: {exc}") from None
    except Invalid as exc:
        raise BuildRefused(f"app.json: {exc.message}") from None
    return [{"name": job.name, **job.to_json()} for job in jobs]


def procfile_types(procfile: dict[str, str]) -> str:
    return ", ".join(procfile) if procfile else "(none)"


class Pipeline:
    def __init__(
        self,
        ctx: Context,
        config: BuilderConfig,
        objects: Objects,
        networks: BuildNetworks | None = None,
    ) -> None:
        self.ctx = ctx
        self.config = config
        self.objects = objects
        # where build containers are connected (deis.builder.network): never the host's
        self.networks: BuildNetworks = networks or NoNetworks()
        # the credentials an app's image is pushed to the platform's registry with
        # (given by the platform when its registry asks for them)
        self.registry_login: Callable[[str], Mapping[str, str]] | None = None
        self.locks = BuildLocks(config.locks, config.max_builds, config.builds_per_user)
        # how builds run: podman here, or pods in the cluster (deis.builder.kubernetes)
        self.build_image: Callable[..., Awaitable[ImageResult]] = build_image
        self.run_buildpacks: Callable[..., Awaitable[BuildpackResult]] = run_buildpacks
        self._cleanups: set[asyncio.Future[None]] = set()

    async def handle(self, push: Push, emit: Emit) -> int:
        """Build the push; 0 when released, 1 with the reason on emit otherwise. Every
        attempt has an id, shown first; its output is kept (ctx.build_outputs)."""
        attempt = BuildAttempt(
            uuid=self.ctx.make_uuid(),
            app=push.app,
            owner=push.user,
            started=self.ctx.clock(),
            sha=push.refs[-1][1] if push.refs else "",
        )
        output = BuildOutput(self.ctx, attempt, emit)
        await output.start()
        version: int | None = None
        try:
            version = await self._attempt(push, output.emit, attempt.uuid)
            if version is None:
                await output.hint()
        finally:
            output.finish(version)
        return 0 if version is not None else 1

    async def _attempt(self, push: Push, emit: Emit, attempt: str) -> int | None:
        """The release's version, or None with the reason on emit."""
        started = time.monotonic()
        try:
            sha = chosen_commit(push.refs)
            quarantine = push.git_env.get("GIT_QUARANTINE_PATH")
            if quarantine:
                size = directory_size(Path(quarantine))
                if size > self.config.max_push_size:
                    raise too_large(size, self.config.max_push_size)
            deadline = started + self.config.build_timeout
            async with self.locks.build(push.app, deadline, emit, user=push.user):
                remaining = max(1.0, deadline - time.monotonic())
                return await asyncio.wait_for(
                    self._build(push, sha, emit, remaining, attempt), remaining
                )
        except BuildRefused as exc:
            await emit(f" !     {exc.message}")
            return None
        except TimeoutError:
            await emit(
                f" !     The build timed out after {self.config.build_timeout:.0f} seconds"
                " (DEIS_BUILD_TIMEOUT); nothing was released."
            )
            return None
        except DomainError as exc:
            await emit(f" !     {exc.message}")
            return None
        except Exception:
            log.exception("build of %s failed", push.app)
            await emit(" !     The builder failed unexpectedly; nothing was released.")
            return None

    async def _build(self, push: Push, sha: str, emit: Emit, timeout: float, attempt: str) -> int:
        app, short = push.app, sha[:7]
        work = self.config.work / f"{app}-{short}-{secrets.token_hex(4)}"
        work.mkdir(parents=True)
        try:
            tar = work / "source.tar"
            git_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **push.git_env}
            await archive(push.repo, sha, tar, git_env, self.config.max_push_size)
            source = work / "app"
            await asyncio.to_thread(unpack, tar, source)
            tar.unlink()
            removed = await asyncio.to_thread(slugignore, source)
            if removed:
                await emit(f"-----> Removed {len(removed)} paths named in .slugignore")
            config = await asyncio.to_thread(hooks.push_config, self.ctx, push.user, app)
            values = dict(config.values)
            procfile = self._procfile(source)
            cron = app_json_cron(source)
            record: dict[str, object] = {
                "receive_user": push.user,
                "receive_repo": app,
                "sha": sha,
                "uuid": attempt,
                "cron": cron,
            }
            network = await asyncio.to_thread(self.networks.open)
            try:
                record |= await self._run_build(
                    app, sha, source, work, values, procfile, timeout, emit, network
                )
            finally:
                await asyncio.to_thread(self.networks.close, network.name)
            await emit("-----> Launching...")
            before = await asyncio.to_thread(hooks.structure_of, self.ctx, app)
            try:
                version = await self._launch(app, record, emit)
            except DeployFailed as exc:  # it says what failed, what runs, and why
                raise BuildFailed(exc.message) from None
            await emit(f"       Done, {app}:v{version} deployed to Deis")
            if await asyncio.to_thread(sleep.is_asleep, self.ctx, app):
                await emit("       The app is asleep: the next request starts this release")
            after = await asyncio.to_thread(hooks.structure_of, self.ctx, app)
            for line in formation_hints(before, after):
                await emit(f"       {line}")
            await emit("")
            await emit(f"       http://{self.ctx.app_url(app)}")
            await emit("")
            return version
        finally:
            self._discard(work)

    async def _launch(self, app: str, record: dict[str, object], emit: Emit) -> int:
        """Record the build, which releases and deploys it; meanwhile, what the runtime
        says about the app (replicas not ready yet and why, crashes) reaches the push."""
        seen = set(await asyncio.to_thread(self._runtime_lines, app))
        task = asyncio.ensure_future(asyncio.to_thread(hooks.record_push, self.ctx, record))
        while True:
            done, _ = await asyncio.wait({task}, timeout=PROGRESS_POLL_SECONDS)
            if done:
                return task.result()
            for line in await asyncio.to_thread(self._runtime_lines, app):
                if line not in seen:
                    seen.add(line)
                    await emit("       " + line.split(RUNTIME_MARK, 1)[1])

    def _runtime_lines(self, app: str) -> list[str]:
        """The runtime's last events about the app, as its log holds them."""
        try:
            text = self.ctx.logs.tail(app, 50, lambda line: RUNTIME_MARK in line)
        except DomainError:  # no log store: nothing to relay
            return []
        return text.splitlines()

    async def _run_build(
        self,
        app: str,
        sha: str,
        source: Path,
        work: Path,
        values: dict[str, str],
        procfile: dict[str, str],
        timeout: float,
        emit: Emit,
        network: BuildNetwork,
    ) -> dict[str, object]:
        """Build the snapshot in the build's network: the record's fields of the build."""
        dockerfile = source / "Dockerfile"
        if dockerfile.is_file() and not dockerfile.is_symlink():
            result = await self.build_image(
                app=app,
                sha=sha,
                app_dir=source,
                config=values,
                build_args=self.config.docker_build_args,
                state_dir=self.config.state_dir,
                timeout=timeout,
                emit=emit,
                network=network,
                registry=self.config.registry,
                registry_login=self.registry_login(app) if self.registry_login else None,
            )
            if result.port:
                await emit(f"       The image exposes port {result.port}")
            if procfile:
                await emit("-----> Discovering process types")
                await emit(f"       Procfile declares types -> {procfile_types(procfile)}")
            return {
                "image": result.image,
                "procfile": procfile,
                "dockerfile": result.dockerfile,
                "port": result.port,
            }
        else:
            bp = await self.run_buildpacks(
                app=app,
                sha=sha,
                app_dir=source,
                work=work,
                cache_dir=self.config.caches / app,
                config=values,
                state_dir=self.config.state_dir,
                allowed_dirs=self.config.allowed_buildpack_dirs(),
                timeout=timeout,
                emit=emit,
                memory=self.config.build_memory,
                network=network,
            )
            await emit("-----> Discovering process types")
            if procfile:
                await emit(f"       Procfile declares types -> {procfile_types(procfile)}")
            if bp.default_process_types:
                await emit(
                    "       Default types for buildpack -> "
                    + procfile_types(bp.default_process_types)
                )
            merged = {**bp.default_process_types, **procfile}
            if not merged:
                raise BuildFailed(NO_PROCESS_TYPES)
            key = slug_key(app, sha)
            if bp.slug is not None:
                await asyncio.to_thread(self.objects.put, key, bp.slug)
            return {"image": key, "procfile": merged, "dockerfile": ""}

    async def drain(self) -> None:
        """Wait for the background removal of work folders (on shutdown)."""
        if self._cleanups:
            await asyncio.wait(set(self._cleanups), timeout=60)

    def _discard(self, work: Path) -> None:
        """Move the work folder aside at once and remove it in the background (a slug's
        tree can take seconds to delete; the push need not wait for it)."""
        trash = self.config.home / "trash"
        trash.mkdir(parents=True, exist_ok=True)
        target = trash / work.name
        try:
            work.rename(target)
        except OSError:
            target = work
        task = asyncio.ensure_future(asyncio.to_thread(shutil.rmtree, target, True))
        self._cleanups.add(task)
        task.add_done_callback(self._cleanups.discard)

    def _procfile(self, source: Path) -> dict[str, str]:
        path = source / "Procfile"
        if not path.is_file():
            return {}
        try:
            return parse_procfile(path.read_text(errors="replace"))
        except Invalid as exc:
            raise BuildRefused(f"The Procfile does not parse: {exc.message}") from None
