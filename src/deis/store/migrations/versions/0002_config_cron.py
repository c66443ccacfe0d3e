"""Scheduled jobs: configs.cron (the jobs, part of each release) and cron_runs (the last
run of each job).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("configs") as batch:
        batch.add_column(
            sa.Column("cron", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
    op.create_table(
        "cron_runs",
        sa.Column("app_id", sa.String(63), nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("finished", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_cron_runs_app_id_apps", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("app_id", "name", name="pk_cron_runs"),
    )


def downgrade() -> None:
    op.drop_table("cron_runs")
    with op.batch_alter_table("configs") as batch:
        batch.drop_column("cron")
