"""Lifecycle flows: definitions, the event stream, runs, actions, the message queue, tasks.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from retain.store.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flows",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_flows"),
    )
    op.create_table(
        "customer_events",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customer_events"),
        sa.UniqueConstraint("event", "ref", name="uq_customer_events_event_ref"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_customer_events_customer_id_customers"
        ),
    )
    op.create_index("ix_customer_events_customer_at", "customer_events", ["customer_id", "at"])
    op.create_table(
        "flow_entries",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("entry_no", sa.Integer, nullable=False),
        sa.Column("entered_at", UTCDateTime, nullable=False),
        sa.Column("holdout", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("next_run_at", UTCDateTime),
        sa.Column("waiting_for", sa.String(32)),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("context", sa.JSON, nullable=False),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("exit_reason", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_flow_entries"),
        sa.UniqueConstraint("flow", "customer_id", "entry_no", name="uq_flow_entries_flow_customer_entry"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_flow_entries_customer_id_customers"
        ),
        sa.CheckConstraint(
            "state IN ('active', 'completed', 'exited', 'holdout')", name="ck_flow_entries_state_known"
        ),
    )
    op.create_index("ix_flow_entries_due", "flow_entries", ["state", "next_run_at"])
    op.create_index("ix_flow_entries_customer", "flow_entries", ["customer_id", "flow"])
    op.create_table(
        "flow_actions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("entry_id", sa.Integer, nullable=False),
        sa.Column("flow", sa.String(64), nullable=False),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_flow_actions"),
        sa.UniqueConstraint("key", name="uq_flow_actions_key"),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["flow_entries.id"], name="fk_flow_actions_entry_id_flow_entries"
        ),
    )
    op.create_index("ix_flow_actions_entry_id", "flow_actions", ["entry_id"])
    op.create_table(
        "message_queue",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("template", sa.String(64), nullable=False),
        sa.Column("flow", sa.String(64)),
        sa.Column("offer", sa.JSON),
        sa.Column("not_before", UTCDateTime, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_message_queue"),
        sa.UniqueConstraint("key", name="uq_message_queue_key"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_message_queue_customer_id_customers"
        ),
    )
    op.create_index("ix_message_queue_not_before", "message_queue", ["not_before"])
    op.create_table(
        "staff_tasks",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("flow", sa.String(64)),
        sa.Column("customer_id", sa.Integer),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("done_at", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_staff_tasks"),
        sa.UniqueConstraint("key", name="uq_staff_tasks_key"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_staff_tasks_customer_id_customers"
        ),
    )
    op.create_table(
        "cursors",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_cursors"),
    )


def downgrade() -> None:
    op.drop_table("cursors")
    op.drop_table("staff_tasks")
    op.drop_index("ix_message_queue_not_before", table_name="message_queue")
    op.drop_table("message_queue")
    op.drop_index("ix_flow_actions_entry_id", table_name="flow_actions")
    op.drop_table("flow_actions")
    op.drop_index("ix_flow_entries_customer", table_name="flow_entries")
    op.drop_index("ix_flow_entries_due", table_name="flow_entries")
    op.drop_table("flow_entries")
    op.drop_index("ix_customer_events_customer_at", table_name="customer_events")
    op.drop_table("customer_events")
    op.drop_table("flows")
