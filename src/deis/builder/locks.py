"""Build locks as flock()ed files: one build per app, and at most N builds at once on the
machine's platform instance. The kernel drops a lock when its holder dies, so a crashed
build never leaves anything locked."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from deis.builder.errors import BuildRefused

POLL = 0.5


def _try_lock(path: Path) -> int | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def is_locked(path: Path) -> bool:
    fd = _try_lock(path)
    if fd is None:
        return True
    os.close(fd)
    return False


class BuildLocks:
    def __init__(self, directory: Path, max_builds: int) -> None:
        self.directory = directory
        self.max_builds = max(1, max_builds)

    def app_lock(self, app: str) -> Path:
        return self.directory / f"app-{app}.lock"

    def slot(self, n: int) -> Path:
        return self.directory / f"slot-{n}.lock"

    def app_locked(self, app: str) -> bool:
        return is_locked(self.app_lock(app))

    def slots_in_use(self) -> int:
        return sum(is_locked(self.slot(n)) for n in range(self.max_builds))

    @contextlib.asynccontextmanager
    async def build(
        self, app: str, deadline: float, waiting: Callable[[str], Awaitable[None]]
    ) -> AsyncIterator[None]:
        """Hold the app's lock (refused at once when taken) and a build slot (queued)."""
        app_fd = _try_lock(self.app_lock(app))
        if app_fd is None:
            raise BuildRefused(f"A build of {app} is already in progress: try again when it ends.")
        slot_fd: int | None = None
        try:
            told = False
            while slot_fd is None:
                for n in range(self.max_builds):
                    slot_fd = _try_lock(self.slot(n))
                    if slot_fd is not None:
                        break
                if slot_fd is None:
                    if time.monotonic() > deadline:
                        raise BuildRefused("Timed out waiting for a free build slot.")
                    if not told:
                        await waiting(
                            f"-----> Queued: {self.max_builds} builds are running on this"
                            " platform; this one starts when one ends"
                        )
                        told = True
                    await asyncio.sleep(POLL)
            yield
        finally:
            if slot_fd is not None:
                os.close(slot_fd)
            os.close(app_fd)
