"""Releases: build + config, numbered, immutable; listing and rolling back."""

from __future__ import annotations

from deis.domain import releases as rules
from deis.domain.errors import Conflict, Invalid, NotFound
from deis.domain.records import App, Build, Config, Release, User
from deis.domain.releases import Released
from deis.ports import UnitOfWork
from deis.services.access import app_for
from deis.services.context import Context
from deis.services.current import current
from deis.services.followups import follow_up

MAX_VERSION = 2**31 - 1  # versions are 32-bit integers in the database


def new_release(
    ctx: Context,
    uow: UnitOfWork,
    app: App,
    actor: User,
    *,
    build: Build | None,
    config: Config,
    summary: str,
) -> Release:
    """Add the next release of an app (numbered after the latest, failed ones included).
    The caller holds the app's lock."""
    latest = uow.releases.latest(app.id)
    now = ctx.clock()
    release = Release(
        uuid=ctx.make_uuid(),
        app=app.id,
        owner=actor.username,
        version=latest.version + 1 if latest else 1,
        build=build.uuid if build else None,
        config=config.uuid,
        summary=summary,
        failed=False,
        created=now,
        updated=now,
    )
    uow.releases.add(release)
    return release


def list_releases(
    ctx: Context, actor: User, app_id: str, offset: int, limit: int
) -> tuple[list[Release], int]:
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        return uow.releases.list(app.id, offset, limit)


def get_release(ctx: Context, actor: User, app_id: str, version: int) -> Release:
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        release = uow.releases.get(app.id, version) if 1 <= version <= MAX_VERSION else None
        if release is None:
            raise NotFound(f"Release v{version} of {app_id} not found.")
        return release


def rollback(ctx: Context, actor: User, app_id: str, version: int | None) -> Release:
    with ctx.store.transaction(write=True) as uow:
        app = app_for(uow, actor, app_id, lock=True)
        latest, _, _ = current(uow, app.id)
        target_version = rules.rollback_target(
            latest.version, version, lambda v: uow.releases.get(app.id, v) is not None
        )
        target = uow.releases.get(app.id, target_version)
        assert target is not None  # rollback_target checked that it exists
        refusal = rules.rollback_refusal(
            target_version, target.build is not None, latest.build is not None
        )
        if refusal is not None:
            raise Invalid(refusal)
        build = uow.builds.get(app.id, target.build) if target.build else None
        if build is not None and ctx.artifacts is not None:
            if not ctx.artifacts.available(build):
                raise Conflict(
                    f"Cannot roll back to v{target_version}: its build was removed (only the"
                    f" builds of the last {ctx.keep_releases} releases are kept,"
                    " DEIS_KEEP_RELEASES). Push or pull it again instead."
                )
        config = uow.configs.get(target.config)
        assert config is not None
        release = new_release(
            ctx,
            uow,
            app,
            actor,
            build=build,
            config=config,
            summary=rules.rollback_summary(actor.username, target_version),
        )
    # publish: the config rolled back may hold other router limits
    follow_up(ctx, Released(app.id, release.summary, publish=True, deploy=build is not None))
    return release
