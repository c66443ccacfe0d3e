"""The autoscaler's clock: a daemon thread that runs one autoscaling pass every interval,
started with the platform when its runtime measures CPU (the podman runtime)."""

from __future__ import annotations

import logging
import threading

from deis.services.autoscaler import Autoscaler

log = logging.getLogger(__name__)


class AutoscalerLoop:
    def __init__(self, autoscaler: Autoscaler, interval: float) -> None:
        self.autoscaler = autoscaler
        self.interval = max(interval, 0.1)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="deis-autoscaler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                for scaled in self.autoscaler.run_once():
                    log.info(
                        "autoscaled %s %s from %d to %d (%s)",
                        scaled.app, scaled.proc_type, scaled.old, scaled.new, scaled.reason,
                    )  # fmt: skip
            except Exception:
                log.exception("autoscaling pass failed")
