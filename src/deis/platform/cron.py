"""The scheduler of `deis cron` jobs, in the platform's primary process.

Once a second it looks at the clock; when a new minute has begun it asks the services
which jobs fire since the last look and starts each in a thread of its own. A job still
running when it is due again is skipped (and logged), never doubled. Schedules live in the
database, so a restart keeps them; a run missed while the platform was down runs once at
start when it was due less than `catch_up` seconds ago (0, the default: no catch-up).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from deis.domain.cron import Job
from deis.periodic import Periodic
from deis.services import cron as jobs
from deis.services.context import Context

log = logging.getLogger("deis.cron")

TICK = 1.0


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


class CronLoop:
    def __init__(
        self,
        *,
        catch_up: float = 0.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        tick: float = TICK,
        scheduled: bool = True,
    ) -> None:
        """scheduled=False: the runtime schedules the jobs itself (Kubernetes CronJobs);
        this only runs them on demand (`deis cron:run`)."""
        self.context: Context | None = None  # set once the context exists (it holds us)
        self.catch_up = catch_up
        self.scheduled = scheduled
        self.clock = clock
        self._running: set[tuple[str, str]] = set()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._looked_until: datetime | None = None
        self._loop = Periodic("cron", self.look, tick, join_timeout=5)

    # --- the port the services use (deis.ports.CronRunner) -------------------------------

    def start(self, app_id: str, job: Job, trigger: str) -> bool:
        """Run the job in a thread unless it is running (False then)."""
        key = (app_id, job.name)
        with self._lock:
            if key in self._running:
                return False
            self._running.add(key)
            thread = threading.Thread(
                target=self._run, args=(app_id, job, trigger), name=f"cron-{app_id}-{job.name}"
            )
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return True

    def _run(self, app_id: str, job: Job, trigger: str) -> None:
        try:
            assert self.context is not None
            jobs.execute(self.context, app_id, job, trigger)
        except Exception:
            log.exception("the cron job %s of %s failed to run", job.name, app_id)
        finally:
            with self._lock:
                self._running.discard((app_id, job.name))

    # --- the loop ---------------------------------------------------------------------------

    def begin(self) -> None:
        """Start looking at the clock (unless the runtime schedules the jobs)."""
        if not self.scheduled:
            return
        now = self.clock()
        self._looked_until = now - timedelta(seconds=self.catch_up)
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def look(self) -> None:
        """Start the jobs that fired since the last look (once a minute has turned)."""
        context = self.context
        if context is None or self._looked_until is None:
            return
        now = self.clock()
        if minute_of(now) == minute_of(self._looked_until):
            return  # jobs fire on the minute: none since the last look
        start, self._looked_until = self._looked_until, now
        for app_id, job in jobs.due(context, start, now):
            if not self.start(app_id, job, jobs.SCHEDULE):
                jobs.skipped(context, app_id, job)

    def running(self) -> set[tuple[str, str]]:
        with self._lock:
            return set(self._running)

    def wait_idle(self, timeout: float) -> None:
        """Tests: wait for the runs started so far."""
        for thread in list(self._threads):
            thread.join(timeout)
