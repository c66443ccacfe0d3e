"""Add-ons' scheduled backups: a pass every DEIS_ADDON_BACKUP_INTERVAL seconds takes the
backups that are due (deis.services.backup_schedules). It runs in the primary process
only: Platform.start starts it, and the extra API processes build no Platform."""

from __future__ import annotations

import logging

from deis.periodic import Periodic
from deis.services import backup_schedules
from deis.services.context import Context

log = logging.getLogger(__name__)


class AddonBackupLoop(Periodic):
    def __init__(self, ctx: Context, interval: float) -> None:
        super().__init__("deis-addon-backups", self.run_pass, max(interval, 0.1))
        self.ctx = ctx
        self.started = False

    def run_pass(self) -> None:
        if not self.started:  # the first pass is the one at start: the add-ons' servers,
            self.started = True  # adopted just before, may still be starting
            return
        for name in backup_schedules.take_scheduled_backups(self.ctx, self.ctx.clock()):
            log.info("took the scheduled backup of %s", name)
