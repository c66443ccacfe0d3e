"""The supervision loop: about once a second, one `podman ps` for the whole instance, then
for each app (skipping any app a deploy holds) probe, plan and act: restart crashed
replicas with backoff, replace missing ones, stop strays, keep the router's peers right.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable

from deis.domain.desired import DesiredApp
from deis.periodic import Periodic
from deis.runtime import naming, policy, spec
from deis.runtime.plan import backoff_delay
from deis.runtime.podman.engine import Engine
from deis.runtime.podman.podman import Container

log = logging.getLogger(__name__)

RETRY_CAP = 60.0  # seconds between tries at most, for an app whose supervision keeps failing


class Supervisor:
    def __init__(
        self,
        engine: Engine,
        desired_of: Callable[[str], DesiredApp | None],
        apps: Callable[[], list[str]],
        interval: float = 1.0,
    ) -> None:
        self.engine = engine
        self.desired_of = desired_of
        self.apps = apps
        self.interval = interval
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}
        self._loop = Periodic("deis-supervisor", self.run_once, interval)

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    @property
    def running(self) -> bool:
        return self._loop.running

    def run_once(self) -> None:
        by_app: dict[str, list[Container]] = defaultdict(list)
        seen_at = time.monotonic()
        everything = self.engine.containers(include_runs=True)
        for container in everything:
            if container.labels.get(spec.LABEL_TYPE) != naming.RUN_TYPE:
                by_app[container.labels.get(spec.LABEL_APP, "")].append(container)
        self.engine.reap((c.name for c in everything), seen_at)
        self.engine.sample_cpu(everything, time.monotonic())
        for app in sorted({*by_app, *self.apps()} - {""}):
            if self._loop.stopping.is_set():
                return
            self.supervise(app, by_app.get(app, []), seen_at)

    def supervise(self, app: str, containers: list[Container], seen_at: float = 0.0) -> None:
        if time.monotonic() < self._retry_at.get(app, 0.0):
            return
        lock = self.engine.app_lock(app)
        if not lock.acquire(blocking=False):  # a deploy is at work: leave the app to it
            return
        try:
            if self.engine.changed_since(seen_at):  # a deploy acted since that `podman ps`
                containers = self.engine.containers(app)
            desired = self.desired_of(app)
            now = time.time()
            observed = self.engine.probe(self.engine.observe(app, desired, containers, now), now)
            batch = policy.deploy_batches(desired.env) if desired else None
            self.engine.step(
                app,
                desired,
                observed,
                now,
                batch or self.engine.options.default_batch,
                wait_stops=False,
            )
            self._failures.pop(app, None)
            self._retry_at.pop(app, None)
        except Exception:
            failures = self._failures.get(app, 0) + 1
            self._failures[app] = failures
            delay = backoff_delay(failures + 1, self.engine.options.backoff_base, RETRY_CAP)
            self._retry_at[app] = time.monotonic() + delay
            log.exception(
                "supervising %s failed (%d in a row): next try in %gs", app, failures, delay
            )
        finally:
            lock.release()
