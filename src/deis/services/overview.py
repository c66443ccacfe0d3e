"""Read models for the web dashboard, with the API's permissions: the rows of the apps
list, one app's page, and its release timeline with what each release changed."""

from __future__ import annotations

from dataclasses import dataclass

from deis.domain.configdiff import ConfigDiff, config_diff
from deis.domain.records import App, Build, Certificate, Config, Domain, Release, User
from deis.domain.releases import rollback_refusal
from deis.ports import UnitOfWork
from deis.services.access import app_for, can_manage
from deis.services.context import Context
from deis.services.current import current

DOMAINS_SHOWN = 100


@dataclass(frozen=True)
class AppSummary:
    app: App
    latest: Release | None


@dataclass(frozen=True)
class AppDetail:
    app: App
    latest: Release
    build: Build | None
    config: Config
    domains: list[tuple[Domain, Certificate | None]]
    collaborators: list[str]
    may_manage: bool


@dataclass(frozen=True)
class TimelineEntry:
    release: Release
    build: Build | None
    build_changed: bool  # a new build (a push or an image), not only a config change
    changes: ConfigDiff
    can_roll_back: bool = False  # an older release that rollback accepts as a target


def app_summaries(
    ctx: Context, actor: User, offset: int, limit: int
) -> tuple[list[AppSummary], int]:
    """The apps the actor may see (all of them for an administrator), by id."""
    visible_to = None if actor.is_superuser else actor.username
    with ctx.store.transaction() as uow:
        found, total = uow.apps.list(offset, limit, visible_to=visible_to)
        latest = uow.releases.latest_of([app.id for app in found])
        return [AppSummary(app, latest.get(app.id)) for app in found], total


def app_summary(ctx: Context, actor: User, app_id: str) -> AppSummary:
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        return AppSummary(app, uow.releases.latest(app.id))


def app_detail(ctx: Context, actor: User, app_id: str) -> AppDetail:
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        latest, build, config = current(uow, app.id)
        domains, _ = uow.domains.list(app.id, 0, DOMAINS_SHOWN)
        return AppDetail(
            app=app,
            latest=latest,
            build=build,
            config=config,
            domains=[(d, uow.certs.for_domain(d.domain)) for d in domains],
            collaborators=uow.perms.users(app.id),
            may_manage=can_manage(actor, app),
        )


def timeline(
    ctx: Context, actor: User, app_id: str, offset: int, limit: int
) -> tuple[list[TimelineEntry], int]:
    """Releases newest first, each with its build and its changes against the release
    before it (which may be on the next page)."""
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        found, total = uow.releases.list(app.id, offset, limit)
        if not found:
            return [], total
        oldest = found[-1]
        before = uow.releases.get(app.id, oldest.version - 1) if oldest.version > 1 else None
        chain = [*found, before] if before else found
        configs = _configs(uow, chain)
        builds = _builds(uow, app.id, chain)
        latest = uow.releases.latest(app.id) or found[0]
        entries = []
        for index, release in enumerate(found):
            previous = chain[index + 1] if index + 1 < len(chain) else None
            entries.append(
                TimelineEntry(
                    release=release,
                    build=builds.get(release.build) if release.build else None,
                    build_changed=release.build is not None
                    and (previous is None or previous.build != release.build),
                    changes=config_diff(
                        configs.get(previous.config) if previous else None,
                        configs[release.config],
                    ),
                    can_roll_back=release.version < latest.version
                    and rollback_refusal(
                        release.version, release.build is not None, latest.build is not None
                    )
                    is None,
                )
            )
        return entries, total


def _configs(uow: UnitOfWork, releases: list[Release]) -> dict[str, Config]:
    found = {}
    for release in releases:
        if release.config not in found:
            config = uow.configs.get(release.config)
            if config is not None:
                found[release.config] = config
    return found


def _builds(uow: UnitOfWork, app_id: str, releases: list[Release]) -> dict[str, Build]:
    found = {}
    for release in releases:
        if release.build and release.build not in found:
            build = uow.builds.get(app_id, release.build)
            if build is not None:
                found[release.build] = build
    return found


def config_value(ctx: Context, actor: User, app_id: str, key: str) -> str | None:
    """One value of the current config (revealed on demand), None when it is not set."""
    with ctx.store.transaction() as uow:
        app = app_for(uow, actor, app_id)
        return current(uow, app.id)[2].values.get(key)
