"""What one build attempt prints: sent to the pusher as it is written, and kept with the
attempt (ctx.build_outputs) so that a failed push can be read again (`deis builds:info`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from deis.domain.attempts import BuildAttempt
from deis.services.context import Context

log = logging.getLogger("deis.builder")

Emit = Callable[[str], Awaitable[None]]
FAILURE = " !     "


class BuildOutput:
    def __init__(self, ctx: Context, attempt: BuildAttempt, emit: Emit) -> None:
        self.ctx = ctx
        self.attempt = attempt
        self._emit = emit
        self.reasons: list[str] = []
        self.kept = True

    def _keep(self, text: str) -> None:
        outputs = self.ctx.build_outputs
        if outputs is None or not self.kept:
            return
        try:
            outputs.write(self.attempt.app, self.attempt.uuid, text + "\n")
        except OSError:
            log.exception("keeping the output of build %s failed", self.attempt.uuid)
            self.kept = False

    async def start(self) -> None:
        if self.ctx.build_outputs is not None:
            try:
                self.ctx.build_outputs.start(self.attempt)
            except OSError:
                log.exception("recording build %s failed", self.attempt.uuid)
                self.kept = False
        await self.emit(f"-----> Build {self.attempt.short} started")

    async def emit(self, text: str) -> None:
        """Keep the line first: it is kept even when the pusher has gone."""
        if text.startswith(FAILURE):
            self.reasons.append(text[len(FAILURE) :].strip())
        self._keep(text)
        await self._emit(text)

    async def hint(self) -> None:
        """After a failure: how to read this output again."""
        if self.kept and self.ctx.build_outputs is not None:
            short = self.attempt.short
            text = f"{FAILURE}Build {short} failed; see it again: deis builds:info {short}"
            self._keep(text)  # not one of the reasons
            await self._emit(text)

    def finish(self, version: int | None) -> None:
        """Record how the attempt ended; a failure is a platform event of the app too."""
        now = self.ctx.clock()
        if version is not None:
            done = self.attempt.succeeded(now, version)
        else:
            reason = " ".join(self.reasons) or "the push was abandoned before the build ended"
            done = self.attempt.failed(now, reason)
            what = f"build {self.attempt.short}" + (
                f" of {self.attempt.sha[:7]}" if self.attempt.sha.strip("0") else ""
            )
            try:
                self.ctx.logs.write(self.attempt.app, "builder", f"{what} failed: {reason}")
            except Exception:  # the push has its answer already; the event is a bonus
                log.exception("logging the failure of build %s failed", self.attempt.uuid)
        if self.ctx.build_outputs is not None and self.kept:
            try:
                self.ctx.build_outputs.finish(done)
            except OSError:
                log.exception("recording the end of build %s failed", self.attempt.uuid)
