"""Segments: rule definitions, current members and the log of entries and exits.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from retain.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("rule", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_segments"),
        sa.UniqueConstraint("name", name="uq_segments_name"),
    )
    op.create_table(
        "segment_members",
        sa.Column("segment", sa.String(300), nullable=False),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("entered_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("segment", "customer_id", name="pk_segment_members"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_segment_members_customer_id_customers"
        ),
    )
    op.create_table(
        "segment_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("segment", sa.String(300), nullable=False),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("change", sa.String(8), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_segment_changes"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_segment_changes_customer_id_customers"
        ),
        sa.CheckConstraint("change IN ('entered', 'left')", name="ck_segment_changes_change_known"),
    )
    op.create_index("ix_segment_changes_at", "segment_changes", ["at"])


def downgrade() -> None:
    op.drop_table("segment_changes")
    op.drop_table("segment_members")
    op.drop_table("segments")
