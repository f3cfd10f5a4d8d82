"""Messages, what recipients did with them, suppressed addresses, preferences, settings.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from retain.store.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_settings"),
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("customer_id", sa.Integer),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("address", sa.String(320)),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("flow", sa.String(64)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
        sa.UniqueConstraint("key", name="uq_messages_key"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_messages_customer_id_customers"),
        sa.CheckConstraint("channel IN ('email', 'sms', 'push')", name="ck_messages_channel_known"),
        sa.CheckConstraint(
            "status IN ('sent', 'temporary_failure', 'permanent_failure', 'skipped')",
            name="ck_messages_status_known",
        ),
    )
    op.create_index("ix_messages_customer_id", "messages", ["customer_id"])
    op.create_table(
        "message_events",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("message_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("url", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_message_events"),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_message_events_message_id_messages"
        ),
        sa.CheckConstraint(
            "kind IN ('open', 'click', 'unsubscribe', 'bounce', 'complaint')",
            name="ck_message_events_kind_known",
        ),
    )
    op.create_index("ix_message_events_message_id", "message_events", ["message_id"])
    op.create_table(
        "suppressions",
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("reason", sa.String(24), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("address", name="pk_suppressions"),
        sa.CheckConstraint(
            "reason IN ('bounce', 'complaint', 'permanent_failure', 'manual')",
            name="ck_suppressions_reason_known",
        ),
    )
    op.create_table(
        "contact_preferences",
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("muted_topics", sa.JSON, nullable=False),
        sa.Column("frequency", sa.String(16), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_contact_preferences"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_contact_preferences_customer_id_customers"
        ),
        sa.CheckConstraint(
            "frequency IN ('normal', 'weekly', 'monthly')", name="ck_contact_preferences_frequency_known"
        ),
    )


def downgrade() -> None:
    op.drop_table("contact_preferences")
    op.drop_table("suppressions")
    op.drop_index("ix_message_events_message_id", table_name="message_events")
    op.drop_table("message_events")
    op.drop_index("ix_messages_customer_id", table_name="messages")
    op.drop_table("messages")
    op.drop_table("settings")
