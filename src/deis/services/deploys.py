"""Hand the latest release of an app to the runtime, after the transaction that made it."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

from deis.domain.deploys import Deployed, Undo, agrees, undo_failed_deploy
from deis.domain.desired import DesiredApp, desired_state
from deis.domain.errors import Conflict, DeployFailed, NotFound
from deis.domain.sleep import sleeping_types
from deis.ports import UnitOfWork
from deis.services import artifacts
from deis.services.context import Context
from deis.services.current import current
from deis.services.paging import every

log = logging.getLogger(__name__)

# deploys of an app after a failure: the one that failed, then (rarely) others until the
# records and the runtime agree (a release recorded but never deployed may fail too)
MAX_ROUNDS = 3
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def desired_for(ctx: Context, app_id: str) -> DesiredApp:
    with ctx.store.transaction() as uow:
        app = uow.apps.get(app_id)
        if app is None:
            raise NotFound(f"App {app_id} not found.")
        release, build, config = current(uow, app_id)
        settings = uow.settings.latest(app_id)
        autoscale = settings.autoscale if settings is not None else {}
        asleep = sleeping_types(uow.sleep.get(app_id), app.structure)
        return desired_state(app, release, build, config, autoscale, asleep)


def require_build(desired: DesiredApp, doing: str) -> None:
    if desired.image is None:
        raise Conflict(f"No build associated with this release to {doing}; push code first.")


def _deploy_lock(app_id: str) -> threading.Lock:
    with _LOCKS_LOCK:
        return _LOCKS.setdefault(app_id, threading.Lock())


def deploy_latest(ctx: Context, app_id: str) -> None:
    """Converge the app to its current release and counts; on failure, record what runs.

    Deploying the current (not a given) release makes concurrent changes converge on the
    newest one whatever order their deploys run in; one deploy of an app at a time (in
    the primary process, the only one that deploys), each reading the records afresh. A
    release without a build has nothing to run, and is not sent. When the deploy fails,
    the runtime goes back to what it ran, and so do the records
    (`domain.deploys.undo_failed_deploy`): the release that could not run is marked
    failed and stops being current, counts that could not be reached are recorded as
    they run; DeployFailed says what failed and what keeps running. Once the app serves
    its release, old build artefacts are collected.
    """
    with _deploy_lock(app_id):
        first: DeployFailed | None = None
        for _ in range(MAX_ROUNDS):
            desired = desired_for(ctx, app_id)
            if desired.image is None:
                break
            target = Deployed(desired.version, dict(desired.structure))
            if first is not None and agrees(target, ctx.runtime.deployed(app_id)):
                break  # the records are back to what runs
            try:
                ctx.runtime.deploy(desired)
            except DeployFailed as failure:
                undo = _record_failure(ctx, app_id, target, failure.message)
                message = undo.explain(target, failure.message)
                ctx.logs.write(app_id, "runtime", message)
                first = first or DeployFailed(message)
                if undo.failed is None and undo.structure is None:
                    break  # the records say what they said: another try would fail alike
                continue
            if first is None:
                artifacts.collect(ctx, app_id)
            break
        if first is not None:
            raise first


def _trust_what_runs(ctx: Context, uow: UnitOfWork, app_id: str, running: Deployed | None) -> None:
    """The release the runtime runs did run: it is not failed (earlier versions of the
    platform marked the serving release failed when a scale failed)."""
    if running is None:
        return
    release = uow.releases.get(app_id, running.version)
    if release is not None and release.failed:
        uow.releases.set_failed(app_id, running.version, False, ctx.clock())


def _record_failure(ctx: Context, app_id: str, attempted: Deployed, reason: str) -> Undo:
    running = ctx.runtime.deployed(app_id)
    with ctx.store.transaction(write=True) as uow:
        app = uow.apps.lock(app_id)
        if app is None:  # destroyed meanwhile
            return Undo(failed=None, structure=None, running=running)
        _trust_what_runs(ctx, uow, app_id, running)
        undo = undo_failed_deploy(attempted, running, app.structure)
        if undo.failed is not None:
            uow.releases.set_failed(app_id, undo.failed, True, ctx.clock(), reason)
        if undo.structure is not None:
            uow.apps.update(replace(app, structure=undo.structure, updated=ctx.clock()))
        return undo


def converge_all(ctx: Context) -> list[str]:
    """At platform start: deploy every app whose records say other than what runs (a
    platform stopped in the middle of a deploy, a release whose deploy never began).
    The release that runs is never left marked failed. Answers the apps deployed; a
    failure is recorded as for any deploy."""
    with ctx.store.transaction() as uow:
        app_ids = [app.id for app in every(uow.apps.list)]
    deployed = []
    for app_id in app_ids:
        try:
            running = ctx.runtime.deployed(app_id)
            with ctx.store.transaction(write=True) as uow:
                if uow.apps.lock(app_id) is None:
                    continue
                _trust_what_runs(ctx, uow, app_id, running)
            desired = desired_for(ctx, app_id)
            if desired.image is None:
                continue
            target = Deployed(desired.version, dict(desired.structure))
            if agrees(target, running):
                continue
            log.info("%s runs other than its records say: deploying v%d", app_id, desired.version)
            deployed.append(app_id)
            deploy_latest(ctx, app_id)
        except NotFound:  # destroyed meanwhile
            continue
        except DeployFailed as failure:
            log.warning("deploying %s at start failed: %s", app_id, failure.message)
        except Exception:
            log.exception("deploying %s at start failed", app_id)
    return deployed
