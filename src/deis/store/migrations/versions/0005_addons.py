"""Add-ons: addons (each server made for an app) and addon_attachments (which apps have
it, by which config var).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 17:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "addons",
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("plan", sa.String(32), nullable=False),
        sa.Column("app_id", sa.String(63), nullable=False),
        sa.Column("owner", sa.String(150), nullable=False),
        sa.Column("password", sa.Text(), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_addons_app_id_apps", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("name", name="pk_addons"),
        sa.UniqueConstraint("port", name="uq_addons_port"),
    )
    op.create_index("ix_addons_app_id", "addons", ["app_id"])
    op.create_table(
        "addon_attachments",
        sa.Column("addon", sa.String(63), nullable=False),
        sa.Column("app_id", sa.String(63), nullable=False),
        sa.Column("var", sa.String(64), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["addon"],
            ["addons.name"],
            name="fk_addon_attachments_addon_addons",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_addon_attachments_app_id_apps", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("addon", "app_id", name="pk_addon_attachments"),
        sa.UniqueConstraint("app_id", "var", name="uq_addon_attachments_app_id_var"),
    )


def downgrade() -> None:
    op.drop_table("addon_attachments")
    op.drop_index("ix_addons_app_id", table_name="addons")
    op.drop_table("addons")
