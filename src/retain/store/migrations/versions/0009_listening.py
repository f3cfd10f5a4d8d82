"""Listening: feedback, attachments, the action plan and its notices, tickets and their
notes, goodbyes and the one offer each is shown, and kudos.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from retain.store.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "action_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", UTCDateTime, nullable=False),
        sa.Column("resolved_at", UTCDateTime, nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_action_items_status_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_items")),
    )
    op.create_index(
        "ix_action_items_open_category",
        "action_items",
        ["category"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "action_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_item_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=255), nullable=False),
        sa.Column("notified_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["action_item_id"],
            ["action_items.id"],
            name=op.f("fk_action_notices_action_item_id_action_items"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_action_notices_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_notices")),
        sa.UniqueConstraint("action_item_id", "customer_id", name="uq_action_notices_item_customer"),
    )
    op.create_table(
        "goodbye_offers",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("shown_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_goodbye_offers_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_goodbye_offers")),
    )
    op.create_table(
        "goodbyes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.CheckConstraint(
            "action IN ('unsubscribe', 'close_account', 'fewer_emails')",
            name=op.f("ck_goodbyes_action_known"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_goodbyes_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goodbyes")),
    )
    op.create_index(op.f("ix_goodbyes_customer_id"), "goodbyes", ["customer_id"], unique=False)
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("first_response_due", UTCDateTime, nullable=False),
        sa.Column("resolution_due", UTCDateTime, nullable=False),
        sa.Column("first_response_at", UTCDateTime, nullable=True),
        sa.Column("resolved_at", UTCDateTime, nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("reminded_at", UTCDateTime, nullable=True),
        sa.Column("escalated_at", UTCDateTime, nullable=True),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')", name=op.f("ck_tickets_priority_known")
        ),
        sa.CheckConstraint("status IN ('open', 'pending', 'resolved')", name=op.f("ck_tickets_status_known")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_tickets_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    op.create_index("ix_tickets_assignee", "tickets", ["assignee"], unique=False)
    op.create_index("ix_tickets_customer", "tickets", ["customer_id"], unique=False)
    op.create_index("ix_tickets_status", "tickets", ["status", "created_at"], unique=False)
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("survey", sa.String(length=16), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("sentiment", sa.String(length=8), nullable=False),
        sa.Column("mentions_competitor", sa.Boolean(), nullable=False),
        sa.Column("intends_to_leave", sa.Boolean(), nullable=False),
        sa.Column("team", sa.String(length=16), nullable=False),
        sa.Column("action_item_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.CheckConstraint(
            "source IN ('survey', 'review', 'complaint', 'reply', 'goodbye', 'api')",
            name=op.f("ck_feedback_source_known"),
        ),
        sa.ForeignKeyConstraint(
            ["action_item_id"], ["action_items.id"], name=op.f("fk_feedback_action_item_id_action_items")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_feedback_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_feedback_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint("ref", name=op.f("uq_feedback_ref")),
    )
    op.create_index("ix_feedback_action_item", "feedback", ["action_item_id"], unique=False)
    op.create_index("ix_feedback_created", "feedback", ["created_at"], unique=False)
    op.create_index("ix_feedback_customer", "feedback", ["customer_id"], unique=False)
    op.create_table(
        "kudos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("giver", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_kudos_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kudos")),
    )
    op.create_index(op.f("ix_kudos_agent"), "kudos", ["agent"], unique=False)
    op.create_table(
        "ticket_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("message_key", sa.String(length=255), nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.CheckConstraint("kind IN ('note', 'reply', 'event')", name=op.f("ck_ticket_notes_kind_known")),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_notes_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_notes")),
    )
    op.create_index(op.f("ix_ticket_notes_ticket_id"), "ticket_notes", ["ticket_id"], unique=False)
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feedback_id"], ["feedback.id"], name=op.f("fk_attachments_feedback_id_feedback")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    op.create_index(op.f("ix_attachments_feedback_id"), "attachments", ["feedback_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_attachments_feedback_id"), table_name="attachments")
    op.drop_table("attachments")
    op.drop_index(op.f("ix_ticket_notes_ticket_id"), table_name="ticket_notes")
    op.drop_table("ticket_notes")
    op.drop_index(op.f("ix_kudos_agent"), table_name="kudos")
    op.drop_table("kudos")
    op.drop_index("ix_feedback_action_item", table_name="feedback")
    op.drop_index("ix_feedback_created", table_name="feedback")
    op.drop_index("ix_feedback_customer", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_tickets_assignee", table_name="tickets")
    op.drop_index("ix_tickets_customer", table_name="tickets")
    op.drop_index("ix_tickets_status", table_name="tickets")
    op.drop_table("tickets")
    op.drop_index(op.f("ix_goodbyes_customer_id"), table_name="goodbyes")
    op.drop_table("goodbyes")
    op.drop_table("goodbye_offers")
    op.drop_table("action_notices")
    op.drop_index("ix_action_items_open_category", table_name="action_items")
    op.drop_table("action_items")
