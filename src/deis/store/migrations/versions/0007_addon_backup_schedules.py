"""Scheduled add-on backups: addon_backup_schedules (an add-on's daily backup time, its
time zone, how many scheduled backups it keeps, and when it last ran).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 20:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "addon_backup_schedules",
        sa.Column("addon", sa.String(63), nullable=False),
        sa.Column("at", sa.String(5), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("keep", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["addon"],
            ["addons.name"],
            name="fk_addon_backup_schedules_addon_addons",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("addon", name="pk_addon_backup_schedules"),
    )


def downgrade() -> None:
    op.drop_table("addon_backup_schedules")
