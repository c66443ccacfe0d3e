"""The initial schema.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Written to match `deis.store.models` exactly (tests/store compares them). Types are
spelled out here, never imported from the models, so later model changes cannot
change what this migration did.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _uuid(name: str = "uuid") -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.String(36), nullable=False)


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.JSON(), nullable=False)


def _app_id(table: str) -> list[SchemaItem]:
    return [
        sa.Column("app_id", sa.String(63), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=f"fk_{table}_app_id_apps", ondelete="CASCADE"
        ),
    ]


def _owner_id(table: str) -> list[SchemaItem]:
    return [
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=f"fk_{table}_owner_id_users", ondelete="SET NULL"
        ),
    ]


def _owner_index(table: str) -> None:
    op.create_index(f"ix_{table}_owner_id", table, ["owner_id"])


def _app_created_index(table: str) -> None:
    op.create_index(f"ix_{table}_app_id_created", table, ["app_id", "created"])


def _create_users() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(150), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("first_name", sa.String(150), nullable=False),
        sa.Column("last_name", sa.String(150), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("is_superuser", sa.Boolean(), nullable=False),
        sa.Column("is_staff", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        _when("date_joined"),
        _when("last_login", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "tokens",
        _uuid("id"),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(128), nullable=False),
        _when("created"),
        sa.PrimaryKeyConstraint("id", name="pk_tokens"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_tokens_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_tokens_digest", "tokens", ["digest"], unique=True)
    op.create_index("ix_tokens_user_id", "tokens", ["user_id"])
    op.create_table(
        "login_failures",
        _uuid("id"),
        sa.Column("username", sa.String(150), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        _when("at"),
        sa.PrimaryKeyConstraint("id", name="pk_login_failures"),
    )
    op.create_index("ix_login_failures_username_at", "login_failures", ["username", "at"])
    op.create_index("ix_login_failures_address_at", "login_failures", ["address", "at"])
    op.create_index("ix_login_failures_at", "login_failures", ["at"])


def _create_apps() -> None:
    op.create_table(
        "apps",
        _uuid(),
        sa.Column("id", sa.String(63), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        _json("structure"),
        _when("created"),
        _when("updated"),
        sa.PrimaryKeyConstraint("uuid", name="pk_apps"),
        sa.UniqueConstraint("id", name="uq_apps_id"),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_apps_owner_id_users", ondelete="RESTRICT"
        ),
    )
    op.create_index("ix_apps_owner_id", "apps", ["owner_id"])
    op.create_table(
        "perms",
        _uuid("id"),
        *_app_id("perms"),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_perms"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_perms_user_id_users", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("app_id", "user_id", name="uq_perms_app_id_user_id"),
    )
    op.create_index("ix_perms_user_id", "perms", ["user_id"])


def _create_builds_configs_releases() -> None:
    op.create_table(
        "builds",
        _uuid(),
        *_app_id("builds"),
        *_owner_id("builds"),
        sa.Column("image", sa.Text(), nullable=False),
        sa.Column("sha", sa.String(128), nullable=False),
        _json("procfile"),
        sa.Column("dockerfile", sa.Text(), nullable=False),
        _when("created"),
        _when("updated"),
        sa.PrimaryKeyConstraint("uuid", name="pk_builds"),
    )
    _owner_index("builds")
    _app_created_index("builds")
    op.create_table(
        "configs",
        _uuid(),
        *_app_id("configs"),
        *_owner_id("configs"),
        *(_json(name) for name in ("values", "memory", "cpu", "tags", "registry", "healthcheck")),
        _when("created"),
        _when("updated"),
        sa.PrimaryKeyConstraint("uuid", name="pk_configs"),
    )
    _owner_index("configs")
    _app_created_index("configs")
    op.create_table(
        "releases",
        _uuid(),
        *_app_id("releases"),
        *_owner_id("releases"),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("build_uuid", sa.String(36), nullable=True),
        sa.Column("config_uuid", sa.String(36), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        _when("created"),
        _when("updated"),
        sa.PrimaryKeyConstraint("uuid", name="pk_releases"),
        sa.ForeignKeyConstraint(
            ["build_uuid"],
            ["builds.uuid"],
            name="fk_releases_build_uuid_builds",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["config_uuid"],
            ["configs.uuid"],
            name="fk_releases_config_uuid_configs",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("app_id", "version", name="uq_releases_app_id_version"),
    )
    _owner_index("releases")
    op.create_index("ix_releases_build_uuid", "releases", ["build_uuid"])
    op.create_index("ix_releases_config_uuid", "releases", ["config_uuid"])


def _create_keys() -> None:
    op.create_table(
        "keys",
        _uuid(),
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("public", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("fingerprint_sha256", sa.String(128), nullable=False),
        _when("created"),
        _when("updated"),
        sa.PrimaryKeyConstraint("uuid", name="pk_keys"),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_keys_owner_id_users", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("owner_id", "id", name="uq_keys_owner_id_id"),
        sa.UniqueConstraint("public", name="uq_keys_public"),
    )
    op.create_index("ix_keys_fingerprint", "keys", ["fingerprint"])
    op.create_index("ix_keys_fingerprint_sha256", "keys", ["fingerprint_sha256"])


def _create_domains_certificates() -> None:
    op.create_table(
        "domains",
        _uuid(),
        *_app_id("domains"),
        *_owner_id("domains"),
        sa.Column("domain", sa.String(253), nullable=False),
        _when("created"),
        _when("updated"),
        sa.PrimaryKeyConstraint("uuid", name="pk_domains"),
        sa.UniqueConstraint("domain", name="uq_domains_domain"),
    )
    _owner_index("domains")
    _app_created_index("domains")
    op.create_table(
        "certificates",
        _uuid(),
        sa.Column("name", sa.String(253), nullable=False),
        *_owner_id("certificates"),
        sa.Column("certificate", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("common_name", sa.Text(), nullable=False),
        _json("san"),
        sa.Column("fingerprint", sa.String(255), nullable=False),
        _when("expires"),
        _when("starts"),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        _when("created"),
        _when("updated"),
        sa.PrimaryKeyConstraint("uuid", name="pk_certificates"),
        sa.UniqueConstraint("name", name="uq_certificates_name"),
    )
    _owner_index("certificates")
    op.create_table(
        "cert_domains",
        _uuid("id"),
        sa.Column("cert_uuid", sa.String(36), nullable=False),
        sa.Column("domain", sa.String(253), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cert_domains"),
        sa.ForeignKeyConstraint(
            ["cert_uuid"],
            ["certificates.uuid"],
            name="fk_cert_domains_cert_uuid_certificates",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["domain"],
            ["domains.domain"],
            name="fk_cert_domains_domain_domains",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("cert_uuid", "domain", name="uq_cert_domains_cert_uuid_domain"),
    )
    op.create_index("ix_cert_domains_domain", "cert_domains", ["domain"])


def _create_settings_tls() -> None:
    op.create_table(
        "app_settings",
        _uuid(),
        *_app_id("app_settings"),
        *_owner_id("app_settings"),
        sa.Column("maintenance", sa.Boolean(), nullable=False),
        sa.Column("routable", sa.Boolean(), nullable=False),
        _json("whitelist"),
        _json("autoscale"),
        _json("label"),
        _when("created"),
        _when("updated"),
        sa.PrimaryKeyConstraint("uuid", name="pk_app_settings"),
    )
    _owner_index("app_settings")
    _app_created_index("app_settings")
    op.create_table(
        "tls",
        _uuid(),
        *_app_id("tls"),
        *_owner_id("tls"),
        sa.Column("https_enforced", sa.Boolean(), nullable=False),
        _when("created"),
        _when("updated"),
        sa.PrimaryKeyConstraint("uuid", name="pk_tls"),
    )
    _owner_index("tls")
    _app_created_index("tls")


def upgrade() -> None:
    _create_users()
    _create_apps()
    _create_builds_configs_releases()
    _create_keys()
    _create_domains_certificates()
    _create_settings_tls()


def downgrade() -> None:
    for table in (
        "tls",
        "app_settings",
        "cert_domains",
        "certificates",
        "domains",
        "keys",
        "releases",
        "configs",
        "builds",
        "perms",
        "apps",
        "login_failures",
        "tokens",
        "users",
    ):
        op.drop_table(table)
