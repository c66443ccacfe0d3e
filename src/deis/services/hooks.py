"""What the builder asks the controller: who a key is, what config to build with, and
to record a build. The API checks the builder's shared secret before calling these."""

from __future__ import annotations

import re

from deis.domain import cron as cron_rules
from deis.domain.errors import Invalid, NotFound
from deis.domain.images import validate_image
from deis.domain.procfile import validate_procfile
from deis.domain.records import Config, Key, User
from deis.domain.releases import Released
from deis.ports import UnitOfWork
from deis.services.access import app_for
from deis.services.builds import record_build
from deis.services.context import Context
from deis.services.current import current
from deis.services.followups import follow_up
from deis.services.paging import every

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _user(uow: UnitOfWork, username: object) -> User:
    user = uow.users.get(username) if isinstance(username, str) else None
    if user is None or not user.is_active:
        raise NotFound(f"User {username} not found.")
    return user


def _visible_app_ids(uow: UnitOfWork, user: User) -> list[str]:
    visible_to = None if user.is_superuser else user.username
    apps = every(lambda offset, limit: uow.apps.list(offset, limit, visible_to=visible_to))
    return [app.id for app in apps]


def key_owner(ctx: Context, fingerprint: str) -> tuple[str, list[str]]:
    """The user a key (MD5 or SHA256 fingerprint) belongs to, and the apps they can push to."""
    with ctx.store.transaction() as uow:
        key = uow.keys.by_fingerprint(fingerprint)
        if key is None:
            raise NotFound("No user has registered that key.")
        user = _user(uow, key.owner)
        return user.username, _visible_app_ids(uow, user)


def push_keys(ctx: Context, app_id: str, username: str | None = None) -> dict[str, list[Key]]:
    """Keys allowed to push to the app, by user: owner, collaborators and admins."""
    with ctx.store.transaction() as uow:
        app = uow.apps.get(app_id)
        if app is None:
            raise NotFound(f"App {app_id} not found.")
        users = {app.owner, *uow.perms.users(app.id)}
        users |= {admin.username for admin in every(uow.users.list_admins)}
        if username is not None:
            if username not in users:
                raise NotFound(f"{username} may not push to {app_id}.")
            users = {username}
        by_user: dict[str, list[Key]] = {name: [] for name in sorted(users)}
        for key in uow.keys.of_users(sorted(users)):
            by_user[key.owner].append(key)
        return by_user


def structure_of(ctx: Context, app_id: str) -> dict[str, int]:
    """The app's process types and counts, for the builder to say what runs."""
    with ctx.store.transaction() as uow:
        app = uow.apps.get(app_id)
        if app is None:
            raise NotFound(f"App {app_id} not found.")
        return dict(app.structure)


def push_config(ctx: Context, username: object, app_id: object) -> Config:
    with ctx.store.transaction() as uow:
        user = _user(uow, username)
        app = app_for(uow, user, str(app_id))
        return current(uow, app.id)[2]


def record_push(ctx: Context, data: dict[str, object]) -> int:
    """A finished build from the builder: a Build, a release, a deploy. Answers the version."""
    sha = data.get("sha")
    if not isinstance(sha, str) or not sha:
        raise Invalid("Give the commit that was built.", field="sha")
    image = validate_image(data.get("image"))
    procfile = validate_procfile(data.get("procfile") or {})
    dockerfile = data.get("dockerfile") or ""
    if not isinstance(dockerfile, str):
        raise Invalid("Must be the Dockerfile's text.", field="dockerfile")
    uuid = data.get("uuid") or None
    if uuid is not None and not (isinstance(uuid, str) and UUID_RE.fullmatch(uuid)):
        raise Invalid("Must be the build attempt's uuid.", field="uuid")
    declared = cron_rules.app_json_jobs({"cron": data.get("cron") or []})
    with ctx.store.transaction(write=True) as uow:
        user = _user(uow, data.get("receive_user"))
        build, release = record_build(
            ctx, uow, user, str(data.get("receive_repo")), image=image, sha=sha,
            procfile=procfile, dockerfile=dockerfile, uuid=uuid, app_json_cron=declared,
        )  # fmt: skip
    follow_up(ctx, Released(build.app, release.summary, deploy=True, source="builder"))
    return release.version
