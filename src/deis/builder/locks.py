"""Build locks as flock()ed files: one build per app, at most N builds at once on the
machine's platform instance, and at most M of them per user. The kernel drops a lock when its holder dies, so a crashed
build never leaves anything locked."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from deis.builder.errors import BuildRefused
from deis.domain.buildslots import admit, per_user_limit

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
    def __init__(self, directory: Path, max_builds: int, per_user: int | None = None) -> None:
        self.directory = directory
        self.max_builds = max(1, max_builds)
        self.per_user = per_user_limit(self.max_builds, per_user)

    def app_lock(self, app: str) -> Path:
        return self.directory / f"app-{app}.lock"

    def slot(self, n: int) -> Path:
        return self.directory / f"slot-{n}.lock"

    def user_slot(self, user: str, n: int) -> Path:
        digest = hashlib.sha256(user.encode()).hexdigest()[:16]
        return self.directory / f"user-{digest}-{n}.lock"

    def app_locked(self, app: str) -> bool:
        return is_locked(self.app_lock(app))

    def slots_in_use(self) -> int:
        return sum(is_locked(self.slot(n)) for n in range(self.max_builds))

    def user_builds(self, user: str) -> int:
        return sum(is_locked(self.user_slot(user, n)) for n in range(self.per_user))

    def _take(self, paths: list[Path]) -> int | None:
        for path in paths:
            fd = _try_lock(path)
            if fd is not None:
                return fd
        return None

    def _take_slots(self, user: str) -> tuple[int, int | None] | None:
        """One of the user's slots (none without a user) and one of the platform's."""
        user_fd: int | None = None
        if user:
            user_fd = self._take([self.user_slot(user, n) for n in range(self.per_user)])
            if user_fd is None:
                return None
        slot_fd = self._take([self.slot(n) for n in range(self.max_builds)])
        if slot_fd is None:
            if user_fd is not None:
                os.close(user_fd)
            return None
        return slot_fd, user_fd

    @contextlib.asynccontextmanager
    async def build(
        self,
        app: str,
        deadline: float,
        waiting: Callable[[str], Awaitable[None]],
        user: str = "",
    ) -> AsyncIterator[None]:
        """Hold the app's lock (refused at once when taken) and a build slot (queued);
        a user's push also holds one of the user's `per_user` slots, and waits (holding
        no platform slot) while the user runs that many builds (deis.domain.buildslots)."""
        app_fd = _try_lock(self.app_lock(app))
        if app_fd is None:
            raise BuildRefused(f"A build of {app} is already in progress: try again when it ends.")
        taken: tuple[int, int | None] | None = None
        try:
            told = ""
            while taken is None:
                mine = self.user_builds(user) if user else 0
                decision = admit(mine, self.slots_in_use(), self.max_builds, self.per_user)
                if decision.start:
                    taken = self._take_slots(user)
                    if taken is not None:
                        break
                if time.monotonic() > deadline:
                    raise BuildRefused("Timed out waiting for a free build slot.")
                if decision.message and decision.waits_for != told:
                    await waiting(decision.message)
                    told = decision.waits_for
                await asyncio.sleep(POLL)
            yield
        finally:
            if taken is not None:
                for fd in taken:
                    if fd is not None:
                        os.close(fd)
            os.close(app_fd)
