"""The release an app runs now, with its build and config."""

from __future__ import annotations

from deis.domain.errors import NotFound
from deis.domain.records import Build, Config, Release
from deis.ports import UnitOfWork


def current(uow: UnitOfWork, app_id: str) -> tuple[Release, Build | None, Config]:
    """The release the app runs (the latest one not marked failed: a release whose deploy
    failed changed nothing), its build and its config."""
    release = uow.releases.current(app_id)
    if release is None:
        raise NotFound(f"App {app_id} has no release.")
    build = uow.builds.get(app_id, release.build) if release.build else None
    config = uow.configs.get(release.config)
    if config is None:
        raise NotFound(f"The config of {app_id} v{release.version} is missing.")
    return release, build, config
