"""Automatic TLS: acme_apps (the apps that have it) and acme_domains (each domain's
certificate name, last error and back-off).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 15:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "acme_apps",
        sa.Column("app_id", sa.String(63), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_acme_apps_app_id_apps", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("app_id", name="pk_acme_apps"),
    )
    op.create_table(
        "acme_domains",
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("app_id", sa.String(63), nullable=False),
        sa.Column("cert_name", sa.String(253), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False, server_default=""),
        sa.Column("last_attempt", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(
            ["domain"],
            ["domains.domain"],
            name="fk_acme_domains_domain_domains",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_acme_domains_app_id_apps", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("domain", name="pk_acme_domains"),
    )


def downgrade() -> None:
    op.drop_table("acme_domains")
    op.drop_table("acme_apps")
