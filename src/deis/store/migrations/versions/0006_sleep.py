"""Idle apps sleep: app_sleep (an app's idle time before it sleeps, and whether it is
asleep now).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 17:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_sleep",
        sa.Column("app_id", sa.String(63), nullable=False),
        sa.Column("after", sa.Integer(), nullable=True),
        sa.Column("all_types", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("asleep", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_app_sleep_app_id_apps", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("app_id", name="pk_app_sleep"),
    )


def downgrade() -> None:
    op.drop_table("app_sleep")
