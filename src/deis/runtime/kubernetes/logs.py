"""The Logs port on a cluster: what the app's pods wrote (read from the API), merged by
time with the platform's own events about the app (kept by another Logs adapter)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from deis.domain.errors import Unavailable
from deis.ports import Logs
from deis.runtime.kubernetes.adapter import KubernetesRuntime

Keep = Callable[[str], bool]


class KubernetesLogs:
    def __init__(
        self,
        runtime: KubernetesRuntime,
        events: Logs,
        *,
        poll_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.runtime = runtime
        self.events = events
        self.poll_interval = poll_interval
        self.sleep = sleep

    def _lines(self, app_id: str, lines: int, keep: Keep | None = None) -> list[str]:
        pods = self.runtime.logs(app_id, lines)
        try:
            platform = [x for x in self.events.tail(app_id, lines).splitlines() if x]
        except Unavailable:
            platform = []
        merged = sorted(pods + platform, key=lambda line: line.split(" ", 1)[0])
        if keep is not None:
            merged = [line for line in merged if keep(line)]
        return merged[-lines:] if lines > 0 else []

    def tail(self, app_id: str, lines: int, keep: Keep | None = None) -> str:
        return "".join(f"{line}\n" for line in self._lines(app_id, lines, keep))

    def follow(self, app_id: str, lines: int, keep: Keep | None = None) -> Iterator[str]:
        """The last lines, then new ones, by polling the pods' logs."""
        seen = self._lines(app_id, lines, keep)
        yield "".join(f"{line}\n" for line in seen)
        known = set(seen)
        while True:
            self.sleep(self.poll_interval)
            fresh = [x for x in self._lines(app_id, max(lines, 100), keep) if x not in known]
            known.update(fresh)
            yield "".join(f"{line}\n" for line in fresh)

    def write(self, app_id: str, source: str, message: str, *, by_app: bool = False) -> None:
        self.events.write(app_id, source, message, by_app=by_app)

    def remove(self, app_id: str) -> None:
        self.events.remove(app_id)
