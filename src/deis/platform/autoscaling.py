"""The autoscaler's clock: one autoscaling pass every interval, on a daemon thread started
with the platform when its runtime measures CPU (the podman runtime)."""

from __future__ import annotations

import logging

from deis.periodic import Periodic
from deis.services.autoscaler import Autoscaler

log = logging.getLogger(__name__)


class AutoscalerLoop(Periodic):
    def __init__(self, autoscaler: Autoscaler, interval: float) -> None:
        super().__init__("deis-autoscaler", self.run_pass, max(interval, 0.1))
        self.autoscaler = autoscaler

    def run_pass(self) -> None:
        for scaled in self.autoscaler.run_once():
            log.info(
                "autoscaled %s %s from %d to %d (%s)",
                scaled.app, scaled.proc_type, scaled.old, scaled.new, scaled.reason,
            )  # fmt: skip
