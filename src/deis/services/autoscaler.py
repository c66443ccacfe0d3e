"""Autoscaling where the runtime measures CPU: each pass, every autoscaled process type of
every app is measured, decided on (deis.domain.autoscale, as an HPA decides) and, when
its count should change, scaled through formation.autoscale, so the app's structure,
`deis ps` and `deis logs` show it like any scale.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from deis.domain import autoscale
from deis.domain.errors import DomainError
from deis.ports import CpuMeter
from deis.services import formation
from deis.services.context import Context
from deis.services.current import current
from deis.services.paging import every

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """One autoscaled process type, as the store has it now."""

    app: str
    proc_type: str
    rule: autoscale.Rule
    replicas: int
    request_millicores: int


@dataclass(frozen=True)
class Scaled:
    app: str
    proc_type: str
    old: int
    new: int
    reason: str


class Autoscaler:
    """Keeps the recommendations of the stabilization window between passes (in memory:
    after a platform restart the window starts afresh, as a restarted HPA controller's)."""

    def __init__(
        self,
        ctx: Context,
        meter: CpuMeter,
        *,
        window: float = autoscale.DOWN_WINDOW,
        sample_seconds: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
        retry_base: float = 15.0,
    ) -> None:
        """retry_base: seconds before a failed scale is tried again (doubling after each
        failure, up to autoscale.RETRY_CAP): one pass of the loop."""
        self.ctx = ctx
        self.meter = meter
        self.window = window
        self.sample_seconds = sample_seconds
        self.clock = clock
        self._history: dict[tuple[str, str], tuple[autoscale.Recommendation, ...]] = {}
        self.retry_base = retry_base
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}  # (count, retry at)

    def targets(self) -> list[Target]:
        found: list[Target] = []
        with self.ctx.store.transaction() as uow:
            for app in every(uow.apps.list):
                settings = uow.settings.latest(app.id)
                if settings is None or not settings.autoscale:
                    continue
                try:
                    _, build, config = current(uow, app.id)
                except DomainError:
                    continue
                if build is None:
                    continue
                for proc_type, rule in sorted(settings.autoscale.items()):
                    found.append(
                        Target(
                            app=app.id,
                            proc_type=proc_type,
                            rule=autoscale.Rule.of(rule),
                            replicas=app.structure.get(proc_type, 0),
                            request_millicores=autoscale.cpu_request_millicores(
                                config.cpu, proc_type
                            ),
                        )
                    )
        return found

    def run_once(self) -> list[Scaled]:
        scaled: list[Scaled] = []
        targets = self.targets()
        live = {(t.app, t.proc_type) for t in targets}
        for key in [k for k in self._history if k not in live]:
            del self._history[key]
        for key in [k for k in self._failures if k not in live]:
            del self._failures[key]
        for target in targets:
            key = (target.app, target.proc_type)
            failures, retry_at = self._failures.get(key, (0, 0.0))
            if self.clock() < retry_at:  # its last scale failed: back off
                continue
            usage = self.meter.cpu_usage(target.app, target.proc_type, self.sample_seconds)
            decision = autoscale.decide(
                target.rule,
                target.replicas,
                usage,
                target.request_millicores,
                self._history.get(key, ()),
                self.clock(),
                window=self.window,
            )
            self._history[key] = decision.history
            if not decision.changed:
                continue
            try:
                done = formation.autoscale(
                    self.ctx, target.app, target.proc_type, target.replicas,
                    decision.replicas, decision.reason,
                )  # fmt: skip
            except DomainError as error:
                failures += 1
                delay = autoscale.retry_delay(failures, self.retry_base)
                self._failures[key] = (failures, self.clock() + delay)
                log.warning(
                    "autoscaling %s %s failed (%d in a row; next try in %gs): %s",
                    target.app, target.proc_type, failures, delay, error,
                )  # fmt: skip
                continue
            self._failures.pop(key, None)
            if done:
                scaled.append(
                    Scaled(target.app, target.proc_type, target.replicas, decision.replicas,
                           decision.reason)
                )  # fmt: skip
        return scaled
