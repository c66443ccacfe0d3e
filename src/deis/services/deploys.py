"""Hand the latest release of an app to the runtime, after the transaction that made it."""

from __future__ import annotations

from deis.domain.desired import DesiredApp, desired_state
from deis.domain.errors import Conflict, DeployFailed, NotFound
from deis.services import artifacts
from deis.services.context import Context
from deis.services.current import current


def desired_for(ctx: Context, app_id: str) -> DesiredApp:
    with ctx.store.transaction() as uow:
        app = uow.apps.get(app_id)
        if app is None:
            raise NotFound(f"App {app_id} not found.")
        release, build, config = current(uow, app_id)
        settings = uow.settings.latest(app_id)
        autoscale = settings.autoscale if settings is not None else {}
        return desired_state(app, release, build, config, autoscale)


def require_build(desired: DesiredApp, doing: str) -> None:
    if desired.image is None:
        raise Conflict(f"No build associated with this release to {doing}; push code first.")


def deploy_latest(ctx: Context, app_id: str) -> None:
    """Converge the app to its latest release; on failure mark that release failed.

    Deploying the latest (not a given) release makes concurrent changes converge on the
    newest one whatever order their deploys run in. A release without a build has
    nothing to run, and is not sent. Once it serves, old build artefacts are collected.
    """
    desired = desired_for(ctx, app_id)
    if desired.image is None:
        return
    try:
        ctx.runtime.deploy(desired)
    except DeployFailed as failure:
        with ctx.store.transaction(write=True) as uow:
            uow.releases.set_failed(app_id, desired.version, True, ctx.clock())
        ctx.logs.write(app_id, "runtime", f"v{desired.version} failed: {failure.message}")
        raise
    artifacts.collect(ctx, app_id)
