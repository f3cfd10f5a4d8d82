"""Customer scores: the latest prediction for each customer.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_scores",
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("horizon_days", sa.Integer, nullable=False),
        sa.Column("p_alive", sa.Float, nullable=False),
        sa.Column("churn_probability", sa.Float, nullable=False),
        sa.Column("predicted_orders", sa.Float, nullable=False),
        sa.Column("expected_next_order", sa.Date),
        sa.Column("average_order_value", sa.BigInteger, nullable=False),
        sa.Column("average_days_between_orders", sa.Float),
        sa.Column("historic_clv", sa.BigInteger, nullable=False),
        sa.Column("predicted_clv", sa.BigInteger, nullable=False),
        sa.Column("total_clv", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_customer_scores"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_customer_scores_customer_id_customers"
        ),
    )


def downgrade() -> None:
    op.drop_table("customer_scores")
