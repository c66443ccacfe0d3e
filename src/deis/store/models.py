"""The database schema: SQLAlchemy 2 declarative models, one table per record kind.

Users have an integer id; every other row's primary key is a uuid string. Rows that
belong to an app reference `apps.id` (the app's name) with ON DELETE CASCADE, so
deleting an app removes everything of it in the database itself. Owners are user
foreign keys (`users.id`); the records carry the username instead.

`versions/0001_initial.py` must describe exactly this schema (a test compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UUID_LEN = 36
NAME_LEN = 150  # usernames and the like
APP_ID_LEN = 63
DOMAIN_LEN = 253


def _as_utc(value: datetime) -> datetime:
    """Naive values are taken as UTC; aware ones are converted to it."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    Values are converted to UTC before they are written (naive values are taken as UTC);
    SQLite keeps no zone, so what comes back is marked UTC again.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return _as_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - drivers give datetimes
            value = datetime.fromisoformat(str(value))
        return _as_utc(value)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        """SQLite keeps `2026-11-27 10:42:00.123456`: one fromisoformat (C) instead of
        SQLAlchemy's parser, then process_result_value; a page of 100 apps read 200."""
        if dialect.name == "sqlite":
            return _sqlite_utc
        return super().result_processor(dialect, coltype)


def _sqlite_utc(value: str | None) -> datetime | None:
    return None if value is None else _as_utc(datetime.fromisoformat(value))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


def _uuid_pk() -> Mapped[str]:
    return mapped_column(String(UUID_LEN), primary_key=True)


def _app_fk() -> Mapped[str]:
    return mapped_column(String(APP_ID_LEN), ForeignKey("apps.id", ondelete="CASCADE"))


def _owner_fk() -> Mapped[int | None]:
    """The user who made the row; kept NULL (an empty owner) if that user is deleted."""
    return mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True)


class UserRow(Base):
    __tablename__ = "users"
    # SQLite: never reuse the id of a deleted user.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(NAME_LEN), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    first_name: Mapped[str] = mapped_column(String(NAME_LEN))
    last_name: Mapped[str] = mapped_column(String(NAME_LEN))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_superuser: Mapped[bool] = mapped_column(Boolean)
    is_staff: Mapped[bool] = mapped_column(Boolean)
    is_active: Mapped[bool] = mapped_column(Boolean)
    date_joined: Mapped[datetime]
    last_login: Mapped[datetime | None]


class TokenRow(Base):
    __tablename__ = "tokens"

    id: Mapped[str] = _uuid_pk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    created: Mapped[datetime]


class LoginFailureRow(Base):
    __tablename__ = "login_failures"
    __table_args__ = (
        Index(None, "username", "at"),
        Index(None, "address", "at"),
        Index(None, "at"),
    )

    id: Mapped[str] = _uuid_pk()
    username: Mapped[str] = mapped_column(String(NAME_LEN))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class AppRow(Base):
    __tablename__ = "apps"

    uuid: Mapped[str] = _uuid_pk()
    id: Mapped[str] = mapped_column(String(APP_ID_LEN), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    structure: Mapped[dict[str, Any]]
    created: Mapped[datetime]
    updated: Mapped[datetime]


class PermRow(Base):
    __tablename__ = "perms"
    __table_args__ = (UniqueConstraint("app_id", "user_id"),)

    id: Mapped[str] = _uuid_pk()
    app_id: Mapped[str] = _app_fk()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class BuildRow(Base):
    __tablename__ = "builds"
    __table_args__ = (Index(None, "app_id", "created"),)

    uuid: Mapped[str] = _uuid_pk()
    app_id: Mapped[str] = _app_fk()
    owner_id: Mapped[int | None] = _owner_fk()
    image: Mapped[str] = mapped_column(Text)
    sha: Mapped[str] = mapped_column(String(128))
    procfile: Mapped[dict[str, Any]]
    dockerfile: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime]
    updated: Mapped[datetime]


class ConfigRow(Base):
    __tablename__ = "configs"
    __table_args__ = (Index(None, "app_id", "created"),)

    uuid: Mapped[str] = _uuid_pk()
    app_id: Mapped[str] = _app_fk()
    owner_id: Mapped[int | None] = _owner_fk()
    values: Mapped[dict[str, Any]]
    memory: Mapped[dict[str, Any]]
    cpu: Mapped[dict[str, Any]]
    tags: Mapped[dict[str, Any]]
    # `registry` is a reserved attribute of declarative classes; the column keeps the name.
    registry_: Mapped[dict[str, Any]] = mapped_column("registry", JSON)
    healthcheck: Mapped[dict[str, Any]]
    created: Mapped[datetime]
    updated: Mapped[datetime]
    cron: Mapped[dict[str, Any]] = mapped_column(JSON, server_default=text("'{}'"))


class CronRunRow(Base):
    """The last run of each scheduled job of an app (deis.domain.cron.Run)."""

    __tablename__ = "cron_runs"

    app_id: Mapped[str] = mapped_column(
        String(APP_ID_LEN), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(APP_ID_LEN), primary_key=True)
    started: Mapped[datetime]
    trigger: Mapped[str] = mapped_column(String(16))
    finished: Mapped[datetime | None]
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AcmeAppRow(Base):
    """An app with automatic TLS (deis tls:auto:enable)."""

    __tablename__ = "acme_apps"

    app_id: Mapped[str] = mapped_column(
        String(APP_ID_LEN), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True
    )
    created: Mapped[datetime]


class AcmeDomainRow(Base):
    """Automatic TLS of one domain (deis.domain.acme.AcmeDomain); gone with the domain."""

    __tablename__ = "acme_domains"

    domain: Mapped[str] = mapped_column(
        String(DOMAIN_LEN), ForeignKey("domains.domain", ondelete="CASCADE"), primary_key=True
    )
    app_id: Mapped[str] = _app_fk()
    cert_name: Mapped[str | None] = mapped_column(String(DOMAIN_LEN), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, server_default="")
    last_attempt: Mapped[datetime | None]
    next_attempt: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, server_default="0")


class SleepRow(Base):
    """An app's sleep setting and state (deis.domain.sleep.SleepState); no row: the
    platform's default, awake."""

    __tablename__ = "app_sleep"

    app_id: Mapped[str] = mapped_column(
        String(APP_ID_LEN), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True
    )
    after: Mapped[int | None] = mapped_column(Integer, nullable=True)
    all_types: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    asleep: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    since: Mapped[datetime | None]


class AddonRow(Base):
    """An add-on (deis.domain.addons.Addon): a server made for an app, its password and
    the port the platform listens on for it."""

    __tablename__ = "addons"

    name: Mapped[str] = mapped_column(String(APP_ID_LEN), primary_key=True)
    service: Mapped[str] = mapped_column(String(32))
    plan: Mapped[str] = mapped_column(String(32))
    app_id: Mapped[str] = mapped_column(
        String(APP_ID_LEN), ForeignKey("apps.id", ondelete="CASCADE"), index=True
    )
    owner: Mapped[str] = mapped_column(String(NAME_LEN))
    password: Mapped[str] = mapped_column(Text)
    port: Mapped[int] = mapped_column(Integer, unique=True)
    created: Mapped[datetime]
    updated: Mapped[datetime]


class AddonAttachmentRow(Base):
    """An add-on attached to an app by a config var; gone with the add-on or the app."""

    __tablename__ = "addon_attachments"
    __table_args__ = (UniqueConstraint("app_id", "var"),)

    addon: Mapped[str] = mapped_column(
        String(APP_ID_LEN), ForeignKey("addons.name", ondelete="CASCADE"), primary_key=True
    )
    app_id: Mapped[str] = mapped_column(
        String(APP_ID_LEN), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True
    )
    var: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime]


class AddonBackupScheduleRow(Base):
    """An add-on's daily backups (deis.domain.backup_schedules.BackupSchedule); gone with
    the add-on."""

    __tablename__ = "addon_backup_schedules"

    addon: Mapped[str] = mapped_column(
        String(APP_ID_LEN), ForeignKey("addons.name", ondelete="CASCADE"), primary_key=True
    )
    at: Mapped[str] = mapped_column(String(5))
    tz: Mapped[str] = mapped_column(String(64))
    keep: Mapped[int] = mapped_column(Integer)
    since: Mapped[datetime]
    last_run: Mapped[datetime | None]


class ReleaseRow(Base):
    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("app_id", "version"),)

    uuid: Mapped[str] = _uuid_pk()
    app_id: Mapped[str] = _app_fk()
    owner_id: Mapped[int | None] = _owner_fk()
    version: Mapped[int] = mapped_column(Integer)
    build_uuid: Mapped[str | None] = mapped_column(
        ForeignKey("builds.uuid", ondelete="CASCADE"), index=True
    )
    config_uuid: Mapped[str] = mapped_column(
        ForeignKey("configs.uuid", ondelete="CASCADE"), index=True
    )
    summary: Mapped[str] = mapped_column(Text)
    failed: Mapped[bool] = mapped_column(Boolean)
    created: Mapped[datetime]
    updated: Mapped[datetime]
    failure: Mapped[str] = mapped_column(Text, server_default="")  # why it failed


class KeyRow(Base):
    __tablename__ = "keys"
    __table_args__ = (UniqueConstraint("owner_id", "id"),)

    uuid: Mapped[str] = _uuid_pk()
    id: Mapped[str] = mapped_column(String(128))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    public: Mapped[str] = mapped_column(Text, unique=True)
    fingerprint: Mapped[str] = mapped_column(String(128), index=True)
    fingerprint_sha256: Mapped[str] = mapped_column(String(128), index=True)
    created: Mapped[datetime]
    updated: Mapped[datetime]


class DomainRow(Base):
    __tablename__ = "domains"
    __table_args__ = (Index(None, "app_id", "created"),)

    uuid: Mapped[str] = _uuid_pk()
    app_id: Mapped[str] = _app_fk()
    owner_id: Mapped[int | None] = _owner_fk()
    domain: Mapped[str] = mapped_column(String(DOMAIN_LEN), unique=True)
    created: Mapped[datetime]
    updated: Mapped[datetime]


class CertificateRow(Base):
    __tablename__ = "certificates"

    uuid: Mapped[str] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(DOMAIN_LEN), unique=True)
    owner_id: Mapped[int | None] = _owner_fk()
    certificate: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text)
    common_name: Mapped[str] = mapped_column(Text)
    san: Mapped[list[Any]]
    fingerprint: Mapped[str] = mapped_column(String(255))
    expires: Mapped[datetime]
    starts: Mapped[datetime]
    issuer: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    created: Mapped[datetime]
    updated: Mapped[datetime]


class CertDomainRow(Base):
    """A certificate attached to one of the apps' domains (gone with the domain)."""

    __tablename__ = "cert_domains"
    __table_args__ = (UniqueConstraint("cert_uuid", "domain"),)

    id: Mapped[str] = _uuid_pk()
    cert_uuid: Mapped[str] = mapped_column(ForeignKey("certificates.uuid", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(
        String(DOMAIN_LEN), ForeignKey("domains.domain", ondelete="CASCADE"), index=True
    )


class AppSettingsRow(Base):
    __tablename__ = "app_settings"
    __table_args__ = (Index(None, "app_id", "created"),)

    uuid: Mapped[str] = _uuid_pk()
    app_id: Mapped[str] = _app_fk()
    owner_id: Mapped[int | None] = _owner_fk()
    maintenance: Mapped[bool] = mapped_column(Boolean)
    routable: Mapped[bool] = mapped_column(Boolean)
    whitelist: Mapped[list[Any]]
    autoscale: Mapped[dict[str, Any]]
    label: Mapped[dict[str, Any]]
    created: Mapped[datetime]
    updated: Mapped[datetime]


class TLSRow(Base):
    __tablename__ = "tls"
    __table_args__ = (Index(None, "app_id", "created"),)

    uuid: Mapped[str] = _uuid_pk()
    app_id: Mapped[str] = _app_fk()
    owner_id: Mapped[int | None] = _owner_fk()
    https_enforced: Mapped[bool] = mapped_column(Boolean)
    created: Mapped[datetime]
    updated: Mapped[datetime]


def table_of(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


metadata = Base.metadata
