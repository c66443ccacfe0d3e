"""The sleep loop's pass: each app that may sleep is looked at through the router's
request count (deis.domain.sleep decides); one idle for its `after` is put to sleep.

What it remembers (the count and when it last moved) lives in memory: after a platform
restart every app's idle time starts afresh, so a restart never puts apps to sleep.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from deis.domain import sleep as rules
from deis.domain.errors import DomainError
from deis.services import sleep
from deis.services.context import Context
from deis.services.paging import every

log = logging.getLogger(__name__)


class Sleeper:
    def __init__(self, ctx: Context, clock: Callable[[], float] = time.monotonic) -> None:
        self.ctx = ctx
        self.clock = clock
        self._activity: dict[str, rules.Activity] = {}

    def candidates(self) -> dict[str, int]:
        """Apps that may sleep now, with their idle time in seconds."""
        found: dict[str, int] = {}
        with self.ctx.store.transaction() as uow:
            states = {state.app: state for state in uow.sleep.all()}
            for app in every(uow.apps.list):
                after = rules.may_sleep(states.get(app.id), app.structure, self.ctx.sleep_after)
                if after:
                    found[app.id] = after
        return found

    def woke(self, app_id: str) -> None:
        """A wake counts as activity: the app gets its whole idle time again."""
        self._activity.pop(app_id, None)

    def run_once(self) -> list[str]:
        """One pass; answers the apps put to sleep."""
        slept: list[str] = []
        candidates = self.candidates()
        for app_id in [a for a in self._activity if a not in candidates]:
            del self._activity[app_id]  # asleep, set to never, or gone: start afresh later
        for app_id, after in sorted(candidates.items()):
            try:
                requests = int(self.ctx.router.metrics(app_id).get("requests", 0))
            except Exception:
                log.exception("sleep: cannot read the router's count of %s", app_id)
                continue
            now = self.clock()
            activity = rules.observe(self._activity.get(app_id), requests, now)
            self._activity[app_id] = activity
            if not rules.should_sleep(activity, after, now):
                continue
            try:
                if sleep.put_to_sleep(self.ctx, app_id, rules.idle_for(activity, now)):
                    slept.append(app_id)
            except DomainError as error:
                log.warning("putting %s to sleep failed: %s", app_id, error)
            self._activity.pop(app_id, None)
        return slept
