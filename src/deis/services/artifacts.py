"""Old build artefacts collected after each successful release (DEIS_KEEP_RELEASES)."""

from __future__ import annotations

import logging

from deis.domain.artifacts import Garbage, collectable
from deis.services.context import Context
from deis.services.paging import every

log = logging.getLogger("deis.services.artifacts")


def collect(ctx: Context, app_id: str) -> Garbage | None:
    """Delete the slugs and images no release in the window needs; what went, if any.

    Never fails the release that triggered it: a failure is logged and the next release
    tries again."""
    if ctx.artifacts is None:
        return None
    try:
        with ctx.store.transaction() as uow:
            _, count = uow.releases.list(app_id, 0, 1)
            if count <= ctx.keep_releases:
                return None
            releases = every(lambda offset, limit: uow.releases.list(app_id, offset, limit))
            builds = every(lambda offset, limit: uow.builds.list(app_id, offset, limit))
        garbage = collectable(app_id, releases, builds, ctx.keep_releases)
        if not garbage:
            return None
        deleted = ctx.artifacts.discard(garbage)
    except Exception:
        log.exception("collecting the old artefacts of %s failed", app_id)
        return None
    if deleted:
        ctx.logs.write(
            app_id,
            "builder",
            f"removed {len(deleted)} old build artefacts (kept those of the last"
            f" {ctx.keep_releases} releases)",
        )
    return garbage
