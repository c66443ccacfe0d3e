"""The repositories of the Store port: SQL in, records out, on one Connection.

Every repository works inside the transaction of its unit of work. Inserts run in a
SAVEPOINT, so a duplicate raises `Conflict` and leaves the transaction usable (except
configs and releases: their keys are new uuids and the app's lock orders versions, so a
duplicate ends the transaction). Lists cost a constant number of queries (owners come
joined in, never one query per row).

The statements of the frequent requests are built once, here, with `bindparam()` for
their values: SQLAlchemy then reuses their cache key and compiled form instead of
building and hashing a new statement on every call.
"""

from __future__ import annotations

import builtins
import functools
import uuid as uuidlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Connection,
    Row,
    Select,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from deis.domain.acme import AcmeDomain
from deis.domain.addons import Addon, Attachment
from deis.domain.backup_schedules import BackupSchedule
from deis.domain.cron import Run as CronRun
from deis.domain.errors import Conflict, NotFound
from deis.domain.records import (
    TLS,
    App,
    AppSettings,
    Build,
    Certificate,
    Config,
    Domain,
    Key,
    Release,
    User,
)
from deis.domain.sleep import SleepState
from deis.store import models as m

T = TypeVar("T")

users_t = m.table_of(m.UserRow)
tokens_t = m.table_of(m.TokenRow)
failures_t = m.table_of(m.LoginFailureRow)
apps_t = m.table_of(m.AppRow)
perms_t = m.table_of(m.PermRow)
builds_t = m.table_of(m.BuildRow)
configs_t = m.table_of(m.ConfigRow)
releases_t = m.table_of(m.ReleaseRow)
keys_t = m.table_of(m.KeyRow)
domains_t = m.table_of(m.DomainRow)
certs_t = m.table_of(m.CertificateRow)
cert_domains_t = m.table_of(m.CertDomainRow)
settings_t = m.table_of(m.AppSettingsRow)
tls_t = m.table_of(m.TLSRow)
cron_runs_t = m.table_of(m.CronRunRow)
acme_apps_t = m.table_of(m.AcmeAppRow)
acme_domains_t = m.table_of(m.AcmeDomainRow)
sleep_t = m.table_of(m.SleepRow)


addons_t = m.table_of(m.AddonRow)
attachments_t = m.table_of(m.AddonAttachmentRow)
schedules_t = m.table_of(m.AddonBackupScheduleRow)


def new_id() -> str:
    return str(uuidlib.uuid4())


def is_foreign_key_violation(exc: IntegrityError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)  # PostgreSQL
    if sqlstate is not None:
        return bool(sqlstate == "23503")
    return "FOREIGN KEY constraint failed" in str(exc.orig)  # SQLite


def missing_parent(table: str, values: Mapping[str, Any]) -> str:
    if "app_id" in values:
        return f"App {values['app_id']} (or a record of it this refers to) does not exist."
    return f"A record this {table} row refers to does not exist."


def with_owner(table: Any) -> Select[Any]:
    """The table's columns plus the owner's username as `owner_name` (NULL: none)."""
    return select(table, users_t.c.username.label("owner_name")).select_from(
        table.outerjoin(users_t, table.c.owner_id == users_t.c.id)
    )


USER_ID = select(users_t.c.id).where(users_t.c.username == bindparam("username"))
# An owned row's owner_id, looked up by the insert itself: no round trip of its own.
OWNER_ID = (
    select(users_t.c.id).where(users_t.c.username == bindparam("owner_name")).scalar_subquery()
)


def paged(stmt: Select[Any]) -> Select[Any]:
    return stmt.offset(bindparam("offset")).limit(bindparam("limit"))


def counted(table: Any, *where: Any) -> Select[Any]:
    """How many rows of the table match (counted on the table, not on a joined select)."""
    return select(func.count()).select_from(table).where(*where)


@functools.cache
def _owned_insert(table: Any) -> Any:
    """Made once per table: building the statement and its cache key took a tenth of a
    config write's CPU."""
    return insert(table).values(owner_id=OWNER_ID).returning(table.c.owner_id)


class Repo:
    def __init__(self, conn: Connection, user_ids: dict[str, int] | None = None) -> None:
        self.conn = conn
        # username -> users.id, shared by the repositories of one transaction
        self.user_ids: dict[str, int] = {} if user_ids is None else user_ids

    def _user_id(self, username: str) -> int:
        user_id = self.user_ids.get(username)
        if user_id is None:
            found = self.conn.scalar(USER_ID, {"username": username})
            if found is None:
                raise NotFound(f"User {username} not found.")
            user_id = self.user_ids[username] = int(found)
        return user_id

    def _insert(
        self,
        table: Any,
        values: Mapping[str, Any],
        duplicate: Conflict,
        *,
        savepoint: bool = True,
        owner: str | None = None,
    ) -> None:
        """Insert a row; a duplicate raises `duplicate`, a missing parent row NotFound.
        Without the savepoint, the transaction cannot go on after such an error.

        With `owner`, the row's owner_id is that user's id, looked up by the same
        statement; an empty name (the user was deleted) stores NULL, an unknown one
        raises NotFound."""
        try:
            with self.conn.begin_nested() if savepoint else nullcontext():
                if owner is None:
                    self.conn.execute(insert(table), values)
                    return
                stmt = _owned_insert(table)
                stored = self.conn.execute(stmt, {**values, "owner_name": owner}).scalar()
                if owner and stored is None:
                    raise NotFound(f"User {owner} not found.")
        except IntegrityError as exc:
            if is_foreign_key_violation(exc):
                raise NotFound(missing_parent(table.name, values)) from exc
            raise duplicate from exc

    def _replace(self, table: Any, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        """The one row with these key columns, written anew (whether it was there or not)."""
        where = [table.c[column] == value for column, value in key.items()]
        self.conn.execute(delete(table).where(*where))
        self.conn.execute(insert(table).values(**key, **values))

    def _one(self, stmt: Select[Any], to_record: Callable[[Row[Any]], T]) -> T | None:
        row = self.conn.execute(stmt.limit(1)).first()
        return None if row is None else to_record(row)

    def _prepared_one(
        self, stmt: Select[Any], params: Mapping[str, Any], to_record: Callable[[Row[Any]], T]
    ) -> T | None:
        """The first row of a prepared statement (which limits itself), as a record."""
        row = self.conn.execute(stmt, params).first()
        return None if row is None else to_record(row)

    def _all(
        self,
        stmt: Select[Any],
        to_record: Callable[[Row[Any]], T],
        params: Mapping[str, Any] | None = None,
    ) -> list[T]:
        # all(): the driver's fetchall, not one fetchone (and its Python calls) per row
        return [to_record(row) for row in self.conn.execute(stmt, params).all()]

    def _page(
        self,
        stmt: Select[Any],
        offset: int,
        limit: int,
        to_record: Callable[[Row[Any]], T],
    ) -> tuple[list[T], int]:
        total = self.conn.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        items = self._all(stmt.offset(max(offset, 0)).limit(max(limit, 0)), to_record)
        return items, int(total or 0)

    def _prepared_page(
        self,
        count: Select[Any],
        page: Select[Any],
        params: Mapping[str, Any],
        offset: int,
        limit: int,
        to_record: Callable[[Row[Any]], T],
    ) -> tuple[list[T], int]:
        """A page of prepared statements: `count` counts, `page` (made by `paged`) lists."""
        total = int(self.conn.scalar(count, params) or 0)
        if total == 0 or offset >= total or limit <= 0:
            return [], total
        bounds = {"offset": max(offset, 0), "limit": limit}
        return self._all(page, to_record, {**params, **bounds}), total


# --- users -------------------------------------------------------------------------------


def to_user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        username=row.username,
        email=row.email,
        first_name=row.first_name,
        last_name=row.last_name,
        is_superuser=row.is_superuser,
        is_staff=row.is_staff,
        is_active=row.is_active,
        date_joined=row.date_joined,
        last_login=row.last_login,
        password_hash=row.password_hash,
    )


class SqlUsers(Repo):
    def get(self, username: str) -> User | None:
        return self._one(select(users_t).where(users_t.c.username == username), to_user)

    def get_ignoring_case(self, username: str) -> User | None:
        stmt = select(users_t).where(func.lower(users_t.c.username) == username.lower())
        return self._one(stmt, to_user)

    def get_by_id(self, user_id: int) -> User | None:
        return self._one(select(users_t).where(users_t.c.id == user_id), to_user)

    def add(
        self,
        *,
        username: str,
        email: str,
        password_hash: str,
        first_name: str,
        last_name: str,
        is_superuser: bool,
        date_joined: datetime,
    ) -> User:
        values = dict(
            username=username,
            email=email,
            password_hash=password_hash,
            first_name=first_name,
            last_name=last_name,
            is_superuser=is_superuser,
            is_staff=is_superuser,
            is_active=True,
            date_joined=date_joined,
            last_login=None,
        )
        self._insert(
            users_t, values, Conflict("A user with that username already exists.", "username")
        )
        user = self.get(username)
        assert user is not None
        return user

    def update(self, user: User) -> None:
        self.conn.execute(
            update(users_t)
            .where(users_t.c.id == user.id)
            .values(
                email=user.email,
                first_name=user.first_name,
                last_name=user.last_name,
                is_superuser=user.is_superuser,
                is_staff=user.is_staff,
                is_active=user.is_active,
                last_login=user.last_login,
                password_hash=user.password_hash,
            )
        )

    def delete(self, username: str) -> None:
        """Keys, tokens and perms go with the user; one who still owns apps is refused."""
        self.user_ids.pop(username, None)
        try:
            with self.conn.begin_nested():
                self.conn.execute(delete(users_t).where(users_t.c.username == username))
        except IntegrityError as exc:
            raise Conflict(f"{username} still owns applications.") from exc

    def count(self) -> int:
        return int(self.conn.scalar(select(func.count()).select_from(users_t)) or 0)

    def list(self, offset: int, limit: int) -> tuple[list[User], int]:
        return self._page(select(users_t).order_by(users_t.c.username), offset, limit, to_user)

    def list_admins(self, offset: int, limit: int) -> tuple[builtins.list[User], int]:
        stmt = select(users_t).where(users_t.c.is_superuser.is_(True))
        return self._page(stmt.order_by(users_t.c.username), offset, limit, to_user)


USER_FOR_TOKEN = (
    select(users_t)
    .join(tokens_t, tokens_t.c.user_id == users_t.c.id)
    .where(tokens_t.c.digest == bindparam("digest"))
    .limit(1)
)

USER_FOR_FRESH_TOKEN = (
    select(users_t)
    .join(tokens_t, tokens_t.c.user_id == users_t.c.id)
    .where(tokens_t.c.digest == bindparam("digest"), tokens_t.c.created > bindparam("after"))
    .limit(1)
)


class SqlTokens(Repo):
    def add(self, user_id: int, digest: str, created: datetime) -> None:
        values = dict(id=new_id(), user_id=user_id, digest=digest, created=created)
        self._insert(tokens_t, values, Conflict("This token already exists."))

    def user_for(self, digest: str, issued_after: datetime | None = None) -> User | None:
        if issued_after is None:
            return self._prepared_one(USER_FOR_TOKEN, {"digest": digest}, to_user)
        params = {"digest": digest, "after": issued_after}
        return self._prepared_one(USER_FOR_FRESH_TOKEN, params, to_user)

    def revoke_all(self, user_id: int) -> None:
        self.conn.execute(delete(tokens_t).where(tokens_t.c.user_id == user_id))

    def revoke(self, digest: str) -> None:
        self.conn.execute(delete(tokens_t).where(tokens_t.c.digest == digest))


class SqlLoginFailures(Repo):
    def add(self, username: str, address: str, at: datetime) -> None:
        values = dict(id=new_id(), username=username, address=address, at=at)
        self.conn.execute(insert(failures_t).values(**values))

    def count_since(
        self, since: datetime, *, username: str | None = None, address: str | None = None
    ) -> int:
        stmt = select(func.count()).select_from(failures_t).where(failures_t.c.at >= since)
        if username is not None:
            stmt = stmt.where(failures_t.c.username == username)
        if address is not None:
            stmt = stmt.where(failures_t.c.address == address)
        return int(self.conn.scalar(stmt) or 0)

    def prune(self, before: datetime) -> None:
        self.conn.execute(delete(failures_t).where(failures_t.c.at < before))


# --- apps and what they own --------------------------------------------------------------


# The records of long lists are read from their rows by position: `row.name` costs
# a tenth of a microsecond... times thirty times more than `row[i]` here (SQLAlchemy
# 2.1), a third of a page of 100 apps. The rows are those of `with_owner(table)`: the
# table's columns in order, then owner_name; a change of the columns fails here, at import.
APP_COLUMNS = ("uuid", "id", "owner_id", "structure", "created", "updated")
RELEASE_COLUMNS = (
    "uuid",
    "app_id",
    "owner_id",
    "version",
    "build_uuid",
    "config_uuid",
    "summary",
    "failed",
    "created",
    "updated",
    "failure",
)
if tuple(apps_t.c.keys()) != APP_COLUMNS or tuple(releases_t.c.keys()) != RELEASE_COLUMNS:
    raise RuntimeError("the apps or releases columns changed: update to_app and to_release")


def to_app(row: Row[Any]) -> App:
    uuid, app_id, _, structure, created, updated, owner_name = cast(Sequence[Any], row)
    return App(
        uuid=uuid,
        id=app_id,
        owner=owner_name or "",
        structure=dict(structure or {}),
        created=created,
        updated=updated,
    )


APP_BY_ID = with_owner(apps_t).where(apps_t.c.id == bindparam("app_id")).limit(1)
APP_LOCKED = APP_BY_ID.with_for_update(of=apps_t)
APPS_COUNT = counted(apps_t)
APPS_PAGE = paged(with_owner(apps_t).order_by(apps_t.c.id))
# A correlated EXISTS, not `id IN (the user's perms)`: with IN, SQLite reads every
# visible app through two indexes and sorts them all for a page; with EXISTS it walks
# apps in id order and stops at the page's end (a third of the time for 1,000 apps).
VISIBLE = or_(
    apps_t.c.owner_id == bindparam("user_id"),
    exists().where(perms_t.c.app_id == apps_t.c.id, perms_t.c.user_id == bindparam("user_id")),
)
VISIBLE_APPS_COUNT = counted(apps_t, VISIBLE)
VISIBLE_APPS_PAGE = paged(with_owner(apps_t).where(VISIBLE).order_by(apps_t.c.id))


class SqlApps(Repo):
    def get(self, app_id: str) -> App | None:
        return self._prepared_one(APP_BY_ID, {"app_id": app_id}, to_app)

    def lock(self, app_id: str) -> App | None:
        return self._prepared_one(APP_LOCKED, {"app_id": app_id}, to_app)

    def add(self, app: App) -> None:
        values = dict(
            uuid=app.uuid,
            id=app.id,
            owner_id=self._user_id(app.owner),
            structure=app.structure,
            created=app.created,
            updated=app.updated,
        )
        self._insert(apps_t, values, Conflict("Application with this id already exists.", "id"))

    def update(self, app: App) -> None:
        self.conn.execute(
            update(apps_t)
            .where(apps_t.c.id == app.id)
            .values(owner_id=self._user_id(app.owner), structure=app.structure, updated=app.updated)
        )

    def delete(self, app_id: str) -> None:
        # Builds, configs, releases, domains (and their certificate attachments), perms,
        # settings and TLS go with it: ON DELETE CASCADE.
        self.conn.execute(delete(apps_t).where(apps_t.c.id == app_id))

    def list(self, offset: int, limit: int, visible_to: str | None = None) -> tuple[list[App], int]:
        if visible_to is None:
            return self._prepared_page(APPS_COUNT, APPS_PAGE, {}, offset, limit, to_app)
        try:
            user_id = self._user_id(visible_to)
        except NotFound:
            return [], 0
        params = {"user_id": user_id}
        return self._prepared_page(
            VISIBLE_APPS_COUNT, VISIBLE_APPS_PAGE, params, offset, limit, to_app
        )

    def owned_by(self, username: str) -> builtins.list[str]:
        stmt = (
            select(apps_t.c.id)
            .join(users_t, apps_t.c.owner_id == users_t.c.id)
            .where(users_t.c.username == username)
            .order_by(apps_t.c.id)
        )
        return list(self.conn.scalars(stmt))


HAS_PERM = (
    select(perms_t.c.id)
    .join(users_t, perms_t.c.user_id == users_t.c.id)
    .where(perms_t.c.app_id == bindparam("app_id"), users_t.c.username == bindparam("username"))
    .limit(1)
)


class SqlPerms(Repo):
    def users(self, app_id: str) -> list[str]:
        stmt = (
            select(users_t.c.username)
            .join(perms_t, perms_t.c.user_id == users_t.c.id)
            .where(perms_t.c.app_id == app_id)
            .order_by(users_t.c.username)
        )
        return list(self.conn.scalars(stmt))

    def add(self, app_id: str, username: str) -> None:
        if self.has(app_id, username):
            return
        values = dict(id=new_id(), app_id=app_id, user_id=self._user_id(username))
        self._insert(perms_t, values, Conflict(f"{username} already has access to {app_id}."))

    def remove(self, app_id: str, username: str) -> None:
        user_ids = select(users_t.c.id).where(users_t.c.username == username)
        self.conn.execute(
            delete(perms_t).where(perms_t.c.app_id == app_id, perms_t.c.user_id.in_(user_ids))
        )

    def has(self, app_id: str, username: str) -> bool:
        params = {"app_id": app_id, "username": username}
        return self.conn.execute(HAS_PERM, params).first() is not None


def to_build(row: Row[Any]) -> Build:
    return Build(
        uuid=row.uuid,
        app=row.app_id,
        owner=row.owner_name or "",
        image=row.image,
        sha=row.sha,
        procfile=dict(row.procfile or {}),
        dockerfile=row.dockerfile,
        created=row.created,
        updated=row.updated,
    )


BUILD = (
    with_owner(builds_t)
    .where(builds_t.c.app_id == bindparam("app_id"), builds_t.c.uuid == bindparam("uuid"))
    .limit(1)
)


class SqlBuilds(Repo):
    def add(self, build: Build) -> None:
        values = dict(
            uuid=build.uuid,
            app_id=build.app,
            image=build.image,
            sha=build.sha,
            procfile=build.procfile,
            dockerfile=build.dockerfile,
            created=build.created,
            updated=build.updated,
        )
        duplicate = Conflict("Build with this uuid already exists.", "uuid")
        self._insert(builds_t, values, duplicate, owner=build.owner)

    def get(self, app_id: str, uuid: str) -> Build | None:
        return self._prepared_one(BUILD, {"app_id": app_id, "uuid": uuid}, to_build)

    def list(self, app_id: str, offset: int, limit: int) -> tuple[list[Build], int]:
        stmt = (
            with_owner(builds_t)
            .where(builds_t.c.app_id == app_id)
            .order_by(builds_t.c.created.desc(), builds_t.c.uuid.desc())
        )
        return self._page(stmt, offset, limit, to_build)


def to_config(row: Row[Any]) -> Config:
    return Config(
        uuid=row.uuid,
        app=row.app_id,
        owner=row.owner_name or "",
        values=dict(row.values or {}),
        memory=dict(row.memory or {}),
        cpu=dict(row.cpu or {}),
        tags=dict(row.tags or {}),
        registry=dict(row.registry or {}),
        healthcheck=dict(row.healthcheck or {}),
        created=row.created,
        updated=row.updated,
        cron=dict(row.cron or {}),
    )


CONFIG = with_owner(configs_t).where(configs_t.c.uuid == bindparam("uuid")).limit(1)


class SqlConfigs(Repo):
    def add(self, config: Config) -> None:
        values = dict(
            uuid=config.uuid,
            app_id=config.app,
            values=config.values,
            memory=config.memory,
            cpu=config.cpu,
            tags=config.tags,
            registry=config.registry,
            healthcheck=config.healthcheck,
            created=config.created,
            updated=config.updated,
            cron=config.cron,
        )
        duplicate = Conflict("Config with this uuid already exists.", "uuid")
        self._insert(configs_t, values, duplicate, savepoint=False, owner=config.owner)

    def get(self, uuid: str) -> Config | None:
        return self._prepared_one(CONFIG, {"uuid": uuid}, to_config)


def to_release(row: Row[Any]) -> Release:
    uuid, app_id, _, version, build, config, summary, failed, created, updated, failure, owner = (
        cast(Sequence[Any], row)
    )
    return Release(
        uuid=uuid,
        app=app_id,
        owner=owner or "",
        version=version,
        build=build,
        config=config,
        summary=summary,
        failed=failed,
        created=created,
        updated=updated,
        failure=failure or "",
    )


OF_APP = releases_t.c.app_id == bindparam("app_id")
RELEASE = (
    with_owner(releases_t).where(OF_APP, releases_t.c.version == bindparam("version")).limit(1)
)
NEWEST_FIRST = with_owner(releases_t).where(OF_APP).order_by(releases_t.c.version.desc())
LATEST_RELEASE = NEWEST_FIRST.limit(1)
CURRENT_RELEASE = NEWEST_FIRST.where(releases_t.c.failed.is_(False)).limit(1)
RELEASES_PAGE = paged(NEWEST_FIRST)
RELEASES_COUNT = counted(releases_t, OF_APP)


class SqlReleases(Repo):
    def add(self, release: Release) -> None:
        values = dict(
            uuid=release.uuid,
            app_id=release.app,
            version=release.version,
            build_uuid=release.build,
            config_uuid=release.config,
            summary=release.summary,
            failed=release.failed,
            created=release.created,
            updated=release.updated,
            failure=release.failure,
        )
        duplicate = Conflict(f"Release v{release.version} of {release.app} already exists.")
        self._insert(releases_t, values, duplicate, savepoint=False, owner=release.owner)

    def get(self, app_id: str, version: int) -> Release | None:
        return self._prepared_one(RELEASE, {"app_id": app_id, "version": version}, to_release)

    def latest(self, app_id: str) -> Release | None:
        return self._prepared_one(LATEST_RELEASE, {"app_id": app_id}, to_release)

    def current(self, app_id: str) -> Release | None:
        return self._prepared_one(CURRENT_RELEASE, {"app_id": app_id}, to_release)

    def latest_of(self, app_ids: Sequence[str]) -> dict[str, Release]:
        if not app_ids:
            return {}
        newest = (
            select(releases_t.c.app_id, func.max(releases_t.c.version).label("version"))
            .where(releases_t.c.app_id.in_(list(app_ids)))
            .group_by(releases_t.c.app_id)
            .subquery()
        )
        stmt = with_owner(releases_t).join(
            newest,
            (releases_t.c.app_id == newest.c.app_id) & (releases_t.c.version == newest.c.version),
        )
        return {row.app_id: to_release(row) for row in self.conn.execute(stmt)}

    def list(self, app_id: str, offset: int, limit: int) -> tuple[list[Release], int]:
        params = {"app_id": app_id}
        return self._prepared_page(RELEASES_COUNT, RELEASES_PAGE, params, offset, limit, to_release)

    def set_failed(
        self, app_id: str, version: int, failed: bool, updated: datetime, failure: str = ""
    ) -> None:
        self.conn.execute(
            update(releases_t)
            .where(releases_t.c.app_id == app_id, releases_t.c.version == version)
            .values(failed=failed, updated=updated, failure=failure if failed else "")
        )


# --- keys --------------------------------------------------------------------------------


def to_key(row: Row[Any]) -> Key:
    return Key(
        uuid=row.uuid,
        id=row.id,
        owner=row.owner_name or "",
        public=row.public,
        fingerprint=row.fingerprint,
        fingerprint_sha256=row.fingerprint_sha256,
        created=row.created,
        updated=row.updated,
    )


class SqlKeys(Repo):
    def add(self, key: Key) -> None:
        values = dict(
            uuid=key.uuid,
            id=key.id,
            owner_id=self._user_id(key.owner),
            public=key.public,
            fingerprint=key.fingerprint,
            fingerprint_sha256=key.fingerprint_sha256,
            created=key.created,
            updated=key.updated,
        )
        try:
            self._insert(keys_t, values, Conflict("Key already exists."))
        except Conflict:
            if self.by_public(key.public) is not None:
                raise Conflict("Public Key is already in use.", "public") from None
            raise Conflict(f"SSH Key with this id {key.id} already exists.", "id") from None

    def get(self, owner: str, key_id: str) -> Key | None:
        stmt = with_owner(keys_t).where(users_t.c.username == owner, keys_t.c.id == key_id)
        return self._one(stmt, to_key)

    def by_fingerprint(self, fingerprint: str) -> Key | None:
        """MD5 (`aa:bb:...`) or SHA256 (`SHA256:...`) fingerprint."""
        column = keys_t.c.fingerprint_sha256 if fingerprint.startswith("SHA256:") else None
        column = keys_t.c.fingerprint if column is None else column
        stmt = with_owner(keys_t).where(column == fingerprint).order_by(keys_t.c.created)
        return self._one(stmt, to_key)

    def by_public(self, public: str) -> Key | None:
        return self._one(with_owner(keys_t).where(keys_t.c.public == public), to_key)

    def list(self, owner: str, offset: int, limit: int) -> tuple[list[Key], int]:
        stmt = (
            with_owner(keys_t)
            .where(users_t.c.username == owner)
            .order_by(keys_t.c.created, keys_t.c.id)
        )
        return self._page(stmt, offset, limit, to_key)

    def of_users(self, usernames: builtins.list[str]) -> builtins.list[Key]:
        if not usernames:
            return []
        stmt = (
            with_owner(keys_t)
            .where(users_t.c.username.in_(usernames))
            .order_by(users_t.c.username, keys_t.c.created, keys_t.c.id)
        )
        return self._all(stmt, to_key)

    def delete(self, owner: str, key_id: str) -> None:
        owner_ids = select(users_t.c.id).where(users_t.c.username == owner)
        self.conn.execute(
            delete(keys_t).where(keys_t.c.owner_id.in_(owner_ids), keys_t.c.id == key_id)
        )


# --- domains and certificates ------------------------------------------------------------


def to_domain(row: Row[Any]) -> Domain:
    return Domain(
        uuid=row.uuid,
        app=row.app_id,
        owner=row.owner_name or "",
        domain=row.domain,
        created=row.created,
        updated=row.updated,
    )


class SqlDomains(Repo):
    def add(self, domain: Domain) -> None:
        values = dict(
            uuid=domain.uuid,
            app_id=domain.app,
            domain=domain.domain,
            created=domain.created,
            updated=domain.updated,
        )
        duplicate = Conflict("Domain is already in use by another application.", "domain")
        self._insert(domains_t, values, duplicate, owner=domain.owner)

    def get(self, domain: str) -> Domain | None:
        return self._one(with_owner(domains_t).where(domains_t.c.domain == domain), to_domain)

    def list(self, app_id: str, offset: int, limit: int) -> tuple[list[Domain], int]:
        stmt = (
            with_owner(domains_t)
            .where(domains_t.c.app_id == app_id)
            .order_by(domains_t.c.created, domains_t.c.domain)
        )
        return self._page(stmt, offset, limit, to_domain)

    def under(self, parent: str) -> builtins.list[Domain]:
        pattern = "%." + parent.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = (
            with_owner(domains_t)
            .where(domains_t.c.domain.like(pattern, escape="\\"))
            .order_by(domains_t.c.domain)
        )
        return self._all(stmt, to_domain)

    def delete(self, domain: str) -> None:
        # A certificate attached to it is detached: ON DELETE CASCADE.
        self.conn.execute(delete(domains_t).where(domains_t.c.domain == domain))


def to_cert(row: Row[Any], domains: list[str]) -> Certificate:
    return Certificate(
        uuid=row.uuid,
        name=row.name,
        owner=row.owner_name or "",
        certificate=row.certificate,
        key=row.key,
        common_name=row.common_name,
        san=list(row.san or []),
        fingerprint=row.fingerprint,
        expires=row.expires,
        starts=row.starts,
        issuer=row.issuer,
        subject=row.subject,
        domains=domains,
        created=row.created,
        updated=row.updated,
    )


class SqlCertificates(Repo):
    def add(self, cert: Certificate) -> None:
        values = dict(
            uuid=cert.uuid,
            name=cert.name,
            certificate=cert.certificate,
            key=cert.key,
            common_name=cert.common_name,
            san=cert.san,
            fingerprint=cert.fingerprint,
            expires=cert.expires,
            starts=cert.starts,
            issuer=cert.issuer,
            subject=cert.subject,
            created=cert.created,
            updated=cert.updated,
        )
        duplicate = Conflict("Certificate with this name already exists.", "name")
        self._insert(certs_t, values, duplicate, owner=cert.owner)
        for domain in cert.domains:
            self.attach(cert.name, domain)

    def get(self, name: str) -> Certificate | None:
        return self._first(with_owner(certs_t).where(certs_t.c.name == name))

    def list(
        self, offset: int, limit: int, owner: str | None = None
    ) -> tuple[list[Certificate], int]:
        """Ordered by name; owner (a username) keeps only that user's."""
        stmt = with_owner(certs_t)
        if owner is not None:
            stmt = stmt.where(users_t.c.username == owner)
        total = self.conn.scalar(select(func.count()).select_from(stmt.subquery()))
        stmt = stmt.order_by(certs_t.c.name).offset(max(offset, 0)).limit(max(limit, 0))
        return self._with_domains(self.conn.execute(stmt).all()), int(total or 0)

    def delete(self, name: str) -> None:
        self.conn.execute(delete(certs_t).where(certs_t.c.name == name))

    def attach(self, name: str, domain: str) -> None:
        """Attach the certificate to an existing domain (NotFound if either is missing)."""
        cert_uuid = self.conn.scalar(select(certs_t.c.uuid).where(certs_t.c.name == name))
        if cert_uuid is None:
            raise NotFound(f"Certificate {name} not found.")
        if self.conn.scalar(select(domains_t.c.uuid).where(domains_t.c.domain == domain)) is None:
            raise NotFound(f"Domain {domain} not found.")
        exists = select(cert_domains_t.c.id).where(
            cert_domains_t.c.cert_uuid == cert_uuid, cert_domains_t.c.domain == domain
        )
        if self.conn.execute(exists).first() is None:
            values = dict(id=new_id(), cert_uuid=cert_uuid, domain=domain)
            self._insert(cert_domains_t, values, Conflict(f"{domain} is already attached."))

    def detach(self, name: str, domain: str) -> None:
        cert_uuids = select(certs_t.c.uuid).where(certs_t.c.name == name)
        self.conn.execute(
            delete(cert_domains_t).where(
                cert_domains_t.c.cert_uuid.in_(cert_uuids), cert_domains_t.c.domain == domain
            )
        )

    def for_domain(self, domain: str) -> Certificate | None:
        stmt = (
            with_owner(certs_t)
            .join(cert_domains_t, cert_domains_t.c.cert_uuid == certs_t.c.uuid)
            .where(cert_domains_t.c.domain == domain)
            .order_by(certs_t.c.name)
        )
        return self._first(stmt)

    def _first(self, stmt: Select[Any]) -> Certificate | None:
        row = self.conn.execute(stmt.limit(1)).first()
        return None if row is None else self._with_domains([row])[0]

    def _with_domains(self, rows: Sequence[Row[Any]]) -> builtins.list[Certificate]:
        """The certificates of these rows with their domains, in one more query."""
        attached: dict[str, builtins.list[str]] = {row.uuid: [] for row in rows}
        if attached:
            stmt = (
                select(cert_domains_t.c.cert_uuid, cert_domains_t.c.domain)
                .where(cert_domains_t.c.cert_uuid.in_(list(attached)))
                .order_by(cert_domains_t.c.domain)
            )
            for cert_uuid, domain in self.conn.execute(stmt):
                attached[cert_uuid].append(domain)
        return [to_cert(row, attached[row.uuid]) for row in rows]


# --- app settings and TLS ----------------------------------------------------------------


def to_settings(row: Row[Any]) -> AppSettings:
    return AppSettings(
        uuid=row.uuid,
        app=row.app_id,
        owner=row.owner_name or "",
        maintenance=row.maintenance,
        routable=row.routable,
        whitelist=list(row.whitelist or []),
        autoscale=dict(row.autoscale or {}),
        label=dict(row.label or {}),
        created=row.created,
        updated=row.updated,
    )


class SqlSettings(Repo):
    def latest(self, app_id: str) -> AppSettings | None:
        stmt = (
            with_owner(settings_t)
            .where(settings_t.c.app_id == app_id)
            .order_by(settings_t.c.created.desc(), settings_t.c.uuid.desc())
        )
        return self._one(stmt, to_settings)

    def add(self, settings: AppSettings) -> None:
        values = dict(
            uuid=settings.uuid,
            app_id=settings.app,
            maintenance=settings.maintenance,
            routable=settings.routable,
            whitelist=settings.whitelist,
            autoscale=settings.autoscale,
            label=settings.label,
            created=settings.created,
            updated=settings.updated,
        )
        duplicate = Conflict("Settings with this uuid already exist.")
        self._insert(settings_t, values, duplicate, owner=settings.owner)


def to_tls(row: Row[Any]) -> TLS:
    return TLS(
        uuid=row.uuid,
        app=row.app_id,
        owner=row.owner_name or "",
        https_enforced=row.https_enforced,
        created=row.created,
        updated=row.updated,
    )


class SqlTLS(Repo):
    def latest(self, app_id: str) -> TLS | None:
        stmt = (
            with_owner(tls_t)
            .where(tls_t.c.app_id == app_id)
            .order_by(tls_t.c.created.desc(), tls_t.c.uuid.desc())
        )
        return self._one(stmt, to_tls)

    def add(self, tls: TLS) -> None:
        values = dict(
            uuid=tls.uuid,
            app_id=tls.app,
            https_enforced=tls.https_enforced,
            created=tls.created,
            updated=tls.updated,
        )
        duplicate = Conflict("TLS settings with this uuid already exist.")
        self._insert(tls_t, values, duplicate, owner=tls.owner)


def to_cron_run(row: Row[Any]) -> CronRun:
    return CronRun(
        app=row.app_id,
        name=row.name,
        started=row.started,
        trigger=row.trigger,
        finished=row.finished,
        exit_code=row.exit_code,
    )


class SqlCronRuns(Repo):
    def last(self, app_id: str) -> dict[str, CronRun]:
        stmt = select(cron_runs_t).where(cron_runs_t.c.app_id == app_id)
        return {run.name: run for run in self._all(stmt, to_cron_run)}

    def record(self, run: CronRun) -> None:
        self._replace(
            cron_runs_t,
            {"app_id": run.app, "name": run.name},
            {"started": run.started, "trigger": run.trigger, "finished": run.finished,
             "exit_code": run.exit_code},
        )  # fmt: skip


def to_acme_domain(row: Row[Any]) -> AcmeDomain:
    return AcmeDomain(
        domain=row.domain,
        app=row.app_id,
        cert_name=row.cert_name,
        last_error=row.last_error,
        last_attempt=row.last_attempt,
        next_attempt=row.next_attempt,
        failures=row.failures,
    )


class SqlAcme(Repo):
    def enabled(self, app_id: str) -> bool:
        stmt = select(acme_apps_t.c.app_id).where(acme_apps_t.c.app_id == app_id)
        return self.conn.execute(stmt).first() is not None

    def enabled_apps(self) -> builtins.list[str]:
        stmt = select(acme_apps_t.c.app_id).order_by(acme_apps_t.c.app_id)
        return [row.app_id for row in self.conn.execute(stmt).all()]

    def enable(self, app_id: str, when: datetime) -> None:
        if not self.enabled(app_id):
            self.conn.execute(insert(acme_apps_t).values(app_id=app_id, created=when))

    def disable(self, app_id: str) -> None:
        self.conn.execute(delete(acme_apps_t).where(acme_apps_t.c.app_id == app_id))
        self.conn.execute(delete(acme_domains_t).where(acme_domains_t.c.app_id == app_id))

    def domains(self, app_id: str) -> builtins.list[AcmeDomain]:
        stmt = (
            select(acme_domains_t)
            .where(acme_domains_t.c.app_id == app_id)
            .order_by(acme_domains_t.c.domain)
        )
        return self._all(stmt, to_acme_domain)

    def save(self, state: AcmeDomain) -> None:
        self._replace(
            acme_domains_t,
            {"domain": state.domain},
            {"app_id": state.app, "cert_name": state.cert_name, "last_error": state.last_error,
             "last_attempt": state.last_attempt, "next_attempt": state.next_attempt,
             "failures": state.failures},
        )  # fmt: skip


def to_sleep_state(row: Row[Any]) -> SleepState:
    return SleepState(
        app=row.app_id,
        after=row.after,
        all_types=bool(row.all_types),
        asleep=bool(row.asleep),
        since=row.since,
    )


class SqlSleep(Repo):
    def get(self, app_id: str) -> SleepState | None:
        return self._one(select(sleep_t).where(sleep_t.c.app_id == app_id), to_sleep_state)

    def all(self) -> builtins.list[SleepState]:
        return self._all(select(sleep_t).order_by(sleep_t.c.app_id), to_sleep_state)

    def save(self, state: SleepState) -> None:
        self._replace(
            sleep_t,
            {"app_id": state.app},
            {"after": state.after, "all_types": state.all_types, "asleep": state.asleep,
             "since": state.since},
        )  # fmt: skip


def to_addon(row: Row[Any]) -> Addon:
    return Addon(
        name=row.name,
        service=row.service,
        plan=row.plan,
        app=row.app_id,
        owner=row.owner,
        password=row.password,
        port=row.port,
        created=row.created,
        updated=row.updated,
    )


def to_attachment(row: Row[Any]) -> Attachment:
    return Attachment(addon=row.addon, app=row.app_id, var=row.var, created=row.created)


class SqlAddons(Repo):
    def add(self, addon: Addon) -> None:
        values = dict(
            name=addon.name,
            service=addon.service,
            plan=addon.plan,
            app_id=addon.app,
            owner=addon.owner,
            password=addon.password,
            port=addon.port,
            created=addon.created,
            updated=addon.updated,
        )
        self._insert(addons_t, values, Conflict(f"An add-on named {addon.name} exists already."))

    def get(self, name: str) -> Addon | None:
        return self._one(select(addons_t).where(addons_t.c.name == name), to_addon)

    def all(self) -> builtins.list[Addon]:
        return self._all(select(addons_t).order_by(addons_t.c.name), to_addon)

    def of_apps(self, app_ids: builtins.list[str]) -> builtins.list[Addon]:
        """The add-ons made for these apps or attached to one of them."""
        attached = select(attachments_t.c.addon).where(attachments_t.c.app_id.in_(app_ids))
        stmt = (
            select(addons_t)
            .where(or_(addons_t.c.app_id.in_(app_ids), addons_t.c.name.in_(attached)))
            .order_by(addons_t.c.name)
        )
        return self._all(stmt, to_addon)

    def names(self) -> set[str]:
        return {row.name for row in self.conn.execute(select(addons_t.c.name)).all()}

    def ports(self) -> set[int]:
        return {row.port for row in self.conn.execute(select(addons_t.c.port)).all()}

    def set_app(self, name: str, app_id: str, updated: datetime) -> None:
        stmt = update(addons_t).where(addons_t.c.name == name)
        self.conn.execute(stmt.values(app_id=app_id, updated=updated))

    def set_plan(self, name: str, plan: str, updated: datetime) -> None:
        stmt = update(addons_t).where(addons_t.c.name == name)
        self.conn.execute(stmt.values(plan=plan, updated=updated))

    def delete(self, name: str) -> None:
        self.conn.execute(delete(attachments_t).where(attachments_t.c.addon == name))
        self.conn.execute(delete(addons_t).where(addons_t.c.name == name))

    def attachments(
        self, addon: str | None = None, app_id: str | None = None
    ) -> builtins.list[Attachment]:
        stmt = select(attachments_t).order_by(attachments_t.c.created, attachments_t.c.app_id)
        if addon is not None:
            stmt = stmt.where(attachments_t.c.addon == addon)
        if app_id is not None:
            stmt = stmt.where(attachments_t.c.app_id == app_id)
        return self._all(stmt, to_attachment)

    def attach(self, attachment: Attachment) -> None:
        values = dict(
            addon=attachment.addon,
            app_id=attachment.app,
            var=attachment.var,
            created=attachment.created,
        )
        duplicate = Conflict(f"{attachment.addon} is attached to {attachment.app} already.")
        self._insert(attachments_t, values, duplicate)

    def detach(self, addon: str, app_id: str) -> None:
        where = (attachments_t.c.addon == addon) & (attachments_t.c.app_id == app_id)
        self.conn.execute(delete(attachments_t).where(where))


def to_backup_schedule(row: Row[Any]) -> BackupSchedule:
    return BackupSchedule(
        addon=row.addon,
        at=row.at,
        tz=row.tz,
        keep=row.keep,
        since=row.since,
        last_run=row.last_run,
    )


class SqlAddonSchedules(Repo):
    def get(self, addon: str) -> BackupSchedule | None:
        stmt = select(schedules_t).where(schedules_t.c.addon == addon)
        return self._one(stmt, to_backup_schedule)

    def all(self) -> builtins.list[BackupSchedule]:
        return self._all(select(schedules_t).order_by(schedules_t.c.addon), to_backup_schedule)

    def save(self, schedule: BackupSchedule) -> None:
        self._replace(
            schedules_t,
            {"addon": schedule.addon},
            {"at": schedule.at, "tz": schedule.tz, "keep": schedule.keep,
             "since": schedule.since, "last_run": schedule.last_run},
        )  # fmt: skip

    def delete(self, addon: str) -> None:
        self.conn.execute(delete(schedules_t).where(schedules_t.c.addon == addon))

    def ran(self, addon: str, when: datetime) -> None:
        stmt = update(schedules_t).where(schedules_t.c.addon == addon)
        self.conn.execute(stmt.values(last_run=when))
