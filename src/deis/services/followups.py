"""What a committed release sets off outside the database, in the process that can.

Only the primary API process holds the log files, the router and the runtime. An extra
API process that made a release in the database hands its follow-up to the primary
(`ctx.primary`) and answers its client once the primary is done.
"""

from __future__ import annotations

from deis.domain.errors import DeployFailed
from deis.domain.releases import Released
from deis.services import deploys, routes
from deis.services.context import Context


def follow_up(ctx: Context, released: Released) -> None:
    if ctx.primary is not None:
        ctx.primary.follow_up(released)
        return
    ctx.logs.write(released.app_id, released.source, released.summary)
    if released.publish:
        routes.publish(ctx, released.app_id)
    if released.deploy:  # a release without a build has nothing to run
        try:
            deploys.deploy_latest(ctx, released.app_id)
        except DeployFailed:
            if released.publish:  # back to the routing settings of the release that runs
                routes.publish(ctx, released.app_id)
            raise
