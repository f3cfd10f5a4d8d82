"""Loyalty: accounts, the append-only ledger, what each order earned, and referrals.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from retain.store.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loyalty_accounts",
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.Column("pending", sa.BigInteger, nullable=False),
        sa.Column("tier", sa.String(32)),
        sa.Column("tier_since", UTCDateTime),
        sa.Column("downgrade_at", UTCDateTime),
        sa.Column("referral_code", sa.String(16), nullable=False),
        sa.Column("referral_code_expires_at", UTCDateTime, nullable=False),
        sa.Column("last_purchase_at", UTCDateTime),
        sa.Column("joined_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_loyalty_accounts"),
        sa.UniqueConstraint("referral_code", name="uq_loyalty_accounts_referral_code"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_loyalty_accounts_customer_id_customers"
        ),
        sa.CheckConstraint("balance >= 0", name="ck_loyalty_accounts_balance_not_negative"),
        sa.CheckConstraint("pending >= 0", name="ck_loyalty_accounts_pending_not_negative"),
    )
    op.create_table(
        "loyalty_ledger",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("pending", sa.BigInteger, nullable=False),
        sa.Column("balance_after", sa.BigInteger, nullable=False),
        sa.Column("pending_after", sa.BigInteger, nullable=False),
        sa.Column("shortfall", sa.BigInteger, nullable=False),
        sa.Column("order_id", sa.Integer),
        sa.Column("code", sa.String(32)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_loyalty_ledger"),
        sa.UniqueConstraint("key", name="uq_loyalty_ledger_key"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_loyalty_ledger_customer_id_customers"
        ),
        sa.CheckConstraint("balance_after >= 0", name="ck_loyalty_ledger_balance_after_not_negative"),
        sa.CheckConstraint("pending_after >= 0", name="ck_loyalty_ledger_pending_after_not_negative"),
        sa.CheckConstraint("shortfall >= 0", name="ck_loyalty_ledger_shortfall_not_negative"),
        sa.CheckConstraint(
            "kind IN ('earn', 'approve', 'redeem', 'reverse', 'expire', 'adjust', 'referral')",
            name="ck_loyalty_ledger_kind_known",
        ),
    )
    op.create_index("ix_loyalty_ledger_customer", "loyalty_ledger", ["customer_id", "id"])
    op.create_table(
        "loyalty_orders",
        sa.Column("order_id", sa.Integer, nullable=False),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("earned", sa.BigInteger, nullable=False),
        sa.Column("reversed", sa.BigInteger, nullable=False),
        sa.Column("approve_at", UTCDateTime, nullable=False),
        sa.Column("approved", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("order_id", name="pk_loyalty_orders"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_loyalty_orders_order_id_orders"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_loyalty_orders_customer_id_customers"
        ),
        sa.CheckConstraint(
            "reversed >= 0 AND reversed <= earned", name="ck_loyalty_orders_reversed_within_earned"
        ),
    )
    op.create_index("ix_loyalty_orders_unapproved", "loyalty_orders", ["approved", "approve_at"])
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("referrer_id", sa.Integer, nullable=False),
        sa.Column("friend_email", sa.String(320), nullable=False),
        sa.Column("friend_id", sa.Integer),
        sa.Column("welcome_code", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("settled_at", UTCDateTime),
        sa.Column("order_id", sa.Integer),
        sa.PrimaryKeyConstraint("id", name="pk_referrals"),
        sa.UniqueConstraint("friend_email", name="uq_referrals_friend_email"),
        sa.ForeignKeyConstraint(["referrer_id"], ["customers.id"], name="fk_referrals_referrer_id_customers"),
        sa.ForeignKeyConstraint(["friend_id"], ["customers.id"], name="fk_referrals_friend_id_customers"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_referrals_order_id_orders"),
        sa.CheckConstraint(
            "status IN ('pending', 'credited', 'capped', 'void')", name="ck_referrals_status_known"
        ),
    )
    op.create_index("ix_referrals_referrer_id", "referrals", ["referrer_id"])


def downgrade() -> None:
    op.drop_table("referrals")
    op.drop_index("ix_loyalty_orders_unapproved", "loyalty_orders")
    op.drop_table("loyalty_orders")
    op.drop_index("ix_loyalty_ledger_customer", "loyalty_ledger")
    op.drop_table("loyalty_ledger")
    op.drop_table("loyalty_accounts")
