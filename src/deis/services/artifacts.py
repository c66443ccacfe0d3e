"""Old build artefacts collected after each successful release (DEIS_KEEP_RELEASES)."""

from __future__ import annotations

import logging

from deis.domain.artifacts import Garbage, collectable
from deis.domain.records import Build, Release
from deis.ports import UnitOfWork
from deis.services.context import Context
from deis.services.paging import PAGE, every

log = logging.getLogger("deis.services.artifacts")


def collect(ctx: Context, app_id: str) -> Garbage | None:
    """Delete the slugs and images no release in the window needs; what went, if any.

    The first collection of an app in this process looks at its whole history; later
    ones only at the releases that left the window since, so a release costs the same
    however long the app's history. Never fails the release that triggered it: a
    failure is logged and the next release tries again."""
    if ctx.artifacts is None:
        return None
    try:
        with ctx.store.transaction() as uow:
            app = uow.apps.get(app_id)
            latest = uow.releases.latest(app_id)
            if app is None or latest is None:
                return None
            floor = latest.version - ctx.keep_releases  # the newest version outside the window
            since = ctx.collected_through.get(app.uuid, 0)
            if floor <= since:
                return None
            releases, builds = _history(uow, app_id, since)
        garbage = collectable(app_id, releases, builds, ctx.keep_releases)
        deleted = ctx.artifacts.discard(garbage) if garbage else []
    except Exception:
        log.exception("collecting the old artefacts of %s failed", app_id)
        return None
    ctx.collected_through[app.uuid] = floor
    if deleted:
        ctx.logs.write(
            app_id,
            "builder",
            f"removed {len(deleted)} old build artefacts (kept those of the last"
            f" {ctx.keep_releases} releases)",
        )
    return garbage or None


def _history(uow: UnitOfWork, app_id: str, since: int) -> tuple[list[Release], list[Build]]:
    """Every release and build of the app; or, once collected through `since`, the
    releases newer than that (the window and those that left it) and their builds."""
    if since == 0:
        releases = every(lambda offset, limit: uow.releases.list(app_id, offset, limit))
        return releases, every(lambda offset, limit: uow.builds.list(app_id, offset, limit))
    newer: list[Release] = []
    while True:  # newest first, down to `since`
        page, _ = uow.releases.list(app_id, len(newer), PAGE)
        newer.extend(r for r in page if r.version > since)
        if not page or page[-1].version <= since:
            break
    uuids = dict.fromkeys(r.build for r in newer if r.build)
    builds = [b for uuid in uuids if (b := uow.builds.get(app_id, uuid)) is not None]
    return newer, builds
