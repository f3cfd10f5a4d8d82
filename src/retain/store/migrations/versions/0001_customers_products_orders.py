"""Customers, products, orders and order lines.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from retain.store.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("external_id", sa.String(255)),
        sa.Column("email", sa.String(320)),
        sa.Column("name", sa.String(255)),
        sa.Column("phone", sa.String(64)),
        sa.Column("timezone", sa.String(64)),
        sa.Column("created_at", UTCDateTime),
        sa.Column("marketing_consent", sa.Boolean),
        sa.Column("consent_source", sa.String(64)),
        sa.Column("consent_at", UTCDateTime),
        sa.Column("birthday", sa.Date),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        sa.UniqueConstraint("external_id", name="uq_customers_external_id"),
    )
    op.create_index("ix_customers_email", "customers", ["email"])
    op.create_table(
        "products",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("sku", sa.String(255)),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("category", sa.String(255)),
        sa.Column("price", sa.BigInteger),
        sa.Column("currency", sa.String(3)),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
        sa.UniqueConstraint("key", name="uq_products_key"),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("placed_at", UTCDateTime, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("subtotal", sa.BigInteger, nullable=False),
        sa.Column("discounts", sa.BigInteger, nullable=False),
        sa.Column("shipping", sa.BigInteger, nullable=False),
        sa.Column("tax", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("refunded", sa.BigInteger, nullable=False),
        sa.Column("financial_status", sa.String(32), nullable=False),
        sa.Column("paid_at", UTCDateTime),
        sa.Column("cancelled_at", UTCDateTime),
        sa.Column("discount_codes", sa.Text),
        sa.Column("tags", sa.Text),
        sa.Column("source", sa.String(64)),
        sa.Column("item_count", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("external_id", name="uq_orders_external_id"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_orders_customer_id_customers"),
        sa.CheckConstraint("total >= 0", name="ck_orders_total_not_negative"),
        sa.CheckConstraint("refunded >= 0", name="ck_orders_refunded_not_negative"),
    )
    op.create_index("ix_orders_placed_at", "orders", ["placed_at"])
    op.create_index("ix_orders_customer_placed", "orders", ["customer_id", "placed_at"])
    op.create_table(
        "order_lines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("order_id", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("product_id", sa.Integer),
        sa.Column("sku", sa.String(255)),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price", sa.BigInteger, nullable=False),
        sa.Column("line_discount", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_order_lines"),
        sa.UniqueConstraint("order_id", "position", name="uq_order_lines_order_position"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name="fk_order_lines_order_id_orders",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name="fk_order_lines_product_id_products"),
        sa.CheckConstraint("quantity > 0", name="ck_order_lines_quantity_positive"),
    )


def downgrade() -> None:
    op.drop_table("order_lines")
    op.drop_table("orders")
    op.drop_table("products")
    op.drop_table("customers")
