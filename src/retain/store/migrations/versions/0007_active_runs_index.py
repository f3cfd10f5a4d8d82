"""A partial index of each flow's active runs in due order, for the workers' claims.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    active = sa.text("state = 'active'")
    op.create_index(
        "ix_flow_entries_active_due",
        "flow_entries",
        ["flow", "next_run_at", "id"],
        postgresql_where=active,
        sqlite_where=active,
    )


def downgrade() -> None:
    op.drop_index("ix_flow_entries_active_due", table_name="flow_entries")
