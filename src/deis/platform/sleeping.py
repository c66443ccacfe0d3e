"""Idle apps sleep, on one machine: the sleep loop (a pass every DEIS_SLEEP_INTERVAL
seconds, deis.services.sleeper) and the wakes the router asks for (a held request to a
sleeping app), each carried out on a thread of its own, one at a time per app."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from deis.domain.errors import DomainError
from deis.periodic import Periodic
from deis.services import sleep
from deis.services.context import Context
from deis.services.sleeper import Sleeper

log = logging.getLogger(__name__)


class SleepLoop(Periodic):
    def __init__(
        self,
        ctx: Context,
        interval: float,
        on_failed: Callable[[str], None] | None = None,
    ) -> None:
        """on_failed: told of an app a request asked to wake that did not (not asleep,
        or its replicas could not start), so that the router stops holding requests."""
        super().__init__("deis-sleep", self.run_pass, max(interval, 0.1))
        self.on_failed = on_failed
        self.ctx = ctx
        self.sleeper = Sleeper(ctx)
        self._waking: set[str] = set()
        self._lock = threading.Lock()

    def run_pass(self) -> None:
        for app_id in self.sleeper.run_once():
            log.info("%s is asleep", app_id)

    def wake(self, app_id: str) -> None:
        """The router's on_wake: wake the app in the background (the router polls for its
        replicas); a wake of the app already under way is not started again."""
        with self._lock:
            if app_id in self._waking:
                return
            self._waking.add(app_id)
        threading.Thread(
            target=self._wake, args=(app_id,), name=f"deis-wake-{app_id}", daemon=True
        ).start()

    def _wake(self, app_id: str) -> None:
        woke = False
        try:
            took = sleep.wake(self.ctx, app_id)
            if took is not None:
                log.info("%s woke in %.2f s", app_id, took)
            woke = True
        except DomainError as error:
            log.warning("waking %s failed: %s", app_id, error)
            self.ctx.logs.write(app_id, "runtime", f"waking failed: {error}")
        except Exception:
            log.exception("waking %s failed", app_id)
        finally:
            if not woke and self.on_failed is not None:
                self.on_failed(app_id)
            self.sleeper.woke(app_id)
            with self._lock:
                self._waking.discard(app_id)
