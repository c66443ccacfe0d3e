"""A daemon thread that runs one pass of some work every interval until it is stopped.

The platform's loops (the runtime's supervision, the autoscaler, the log collector) share
it: a pass that raises is logged and the loop goes on, and `stop` returns once the pass
in progress has finished (or after `join_timeout`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    def __init__(
        self,
        name: str,
        run_once: Callable[[], object],
        interval: float,
        *,
        on_exit: Callable[[], object] | None = None,
        join_timeout: float = 30.0,
    ) -> None:
        self.name = name
        self.run_once = run_once
        self.interval = interval
        self.on_exit = on_exit
        self.join_timeout = join_timeout
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self.stopping.clear()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self.join_timeout)
            self._thread = None

    def _loop(self) -> None:
        try:
            while not self.stopping.is_set():
                began = time.monotonic()
                try:
                    self.run_once()
                except Exception:
                    log.exception("%s: a pass failed; trying again", self.name)
                self.stopping.wait(max(0.05, self.interval - (time.monotonic() - began)))
        finally:
            if self.on_exit is not None:
                self.on_exit()
