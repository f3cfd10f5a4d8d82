"""Discount codes: single-use, redeemed by the order that carries them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from retain.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "discount_codes",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("minimum_order", sa.BigInteger, nullable=False),
        sa.Column("expires_at", UTCDateTime),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Integer),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("redeemed_at", UTCDateTime),
        sa.Column("order_id", sa.Integer),
        sa.PrimaryKeyConstraint("id", name="pk_discount_codes"),
        sa.UniqueConstraint("code", name="uq_discount_codes_code"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_discount_codes_customer_id_customers"
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_discount_codes_order_id_orders"),
        sa.CheckConstraint(
            "kind IN ('percent', 'fixed', 'free_shipping')", name="ck_discount_codes_kind_known"
        ),
        sa.CheckConstraint(
            "value >= 0 AND minimum_order >= 0", name="ck_discount_codes_amounts_not_negative"
        ),
    )


def downgrade() -> None:
    op.drop_table("discount_codes")
