"""The relational schema. Money columns hold integer minor units of the row's currency."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from retain.store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("external_id", String(255), unique=True),
    Column("email", String(320), index=True),
    Column("name", String(255)),
    Column("phone", String(64)),
    Column("timezone", String(64)),
    Column("created_at", UTCDateTime),
    Column("marketing_consent", Boolean),
    Column("consent_source", String(64)),
    Column("consent_at", UTCDateTime),
    Column("birthday", Date),
    Column("attributes", JSON, nullable=False, default=dict),
)

products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True),
    # The importer's identity for a product: its SKU, or its title when it has none.
    Column("key", String(512), nullable=False, unique=True),
    Column("sku", String(255)),
    Column("title", String(512), nullable=False),
    Column("category", String(255)),
    Column("price", BigInteger),
    Column("currency", String(3)),
)

orders = Table(
    "orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("external_id", String(255), nullable=False, unique=True),
    # Indexed by ix_orders_customer_placed, whose leading column it is.
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("placed_at", UTCDateTime, nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("subtotal", BigInteger, nullable=False),
    Column("discounts", BigInteger, nullable=False),
    Column("shipping", BigInteger, nullable=False),
    Column("tax", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False),
    Column("financial_status", String(32), nullable=False),
    Column("paid_at", UTCDateTime),
    Column("cancelled_at", UTCDateTime),
    Column("discount_codes", Text),
    Column("tags", Text),
    Column("source", String(64)),
    Column("item_count", Integer, nullable=False),
    # Digest of everything imported for the order: re-importing an unchanged order is a no-op.
    Column("content_hash", String(32), nullable=False),
    CheckConstraint("total >= 0", name="total_not_negative"),
    CheckConstraint("refunded >= 0", name="refunded_not_negative"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    # Not indexed: analytics scan lines; an index comes with the first query that needs one.
    Column("product_id", Integer, ForeignKey("products.id")),
    Column("sku", String(255)),
    Column("title", String(512), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", BigInteger, nullable=False),
    Column("line_discount", BigInteger, nullable=False),
    UniqueConstraint("order_id", "position", name="uq_order_lines_order_position"),
    CheckConstraint("quantity > 0", name="quantity_positive"),
)

Index("ix_orders_customer_placed", orders.c.customer_id, orders.c.placed_at)

segments = Table(
    "segments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("rule", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Who is in each segment now ("rfm:Champions", "group:loyal", "rule:<name>"), and since when.
segment_members = Table(
    "segment_members",
    metadata,
    Column("segment", String(300), primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), primary_key=True),
    Column("entered_at", UTCDateTime, nullable=False),
)

# Append-only: every entry and exit, for flows that react to them.
segment_changes = Table(
    "segment_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("segment", String(300), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("change", String(8), nullable=False),
    Column("at", UTCDateTime, nullable=False, index=True),
    CheckConstraint("change IN ('entered', 'left')", name="change_known"),
)

# The latest prediction for each customer, replaced by every `retain predict`.
customer_scores = Table(
    "customer_scores",
    metadata,
    Column("customer_id", Integer, ForeignKey("customers.id"), primary_key=True),
    Column("model", String(64), nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("horizon_days", Integer, nullable=False),
    Column("p_alive", Float, nullable=False),
    Column("churn_probability", Float, nullable=False),
    Column("predicted_orders", Float, nullable=False),
    Column("expected_next_order", Date),
    Column("average_order_value", BigInteger, nullable=False),
    Column("average_days_between_orders", Float),
    Column("historic_clv", BigInteger, nullable=False),
    Column("predicted_clv", BigInteger, nullable=False),
    Column("total_clv", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
)

# Single-use discount codes; an imported order that carries one redeems it.
discount_codes = Table(
    "discount_codes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),  # normalised: no dashes, upper case
    Column("kind", String(16), nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("minimum_order", BigInteger, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("purpose", String(64), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("redeemed_at", UTCDateTime),
    Column("order_id", Integer, ForeignKey("orders.id")),
    CheckConstraint("kind IN ('percent', 'fixed', 'free_shipping')", name="kind_known"),
    CheckConstraint("value >= 0 AND minimum_order >= 0", name="amounts_not_negative"),
)

# Store-wide settings edited by people, not imports: the brand of e-mails, the signing key.
settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# One row per message handed to a channel (or skipped), whatever became of it. ``key`` is the
# message's idempotency key: the same key is never sent twice.
messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(255), nullable=False, unique=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), index=True),
    Column("template", String(64), nullable=False),
    Column("topic", String(16), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("address", String(320)),
    Column("status", String(24), nullable=False),
    Column("detail", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("flow", String(64)),  # the flow that sent it, for flow reports; None for a campaign
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("channel IN ('email', 'sms', 'push')", name="channel_known"),
    CheckConstraint(
        "status IN ('sent', 'temporary_failure', 'permanent_failure', 'skipped')", name="status_known"
    ),
)

# What recipients did with a message: opened it, clicked a link, unsubscribed; and what
# receiving servers said later: a bounce or a complaint.
message_events = Table(
    "message_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("messages.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("url", Text),
    CheckConstraint("kind IN ('open', 'click', 'unsubscribe', 'bounce', 'complaint')", name="kind_known"),
)

# Addresses no message may go to again: hard bounces, complaints, permanent refusals.
suppressions = Table(
    "suppressions",
    metadata,
    Column("address", String(320), primary_key=True),  # lower case
    Column("reason", String(24), nullable=False),
    Column("detail", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("reason IN ('bounce', 'complaint', 'permanent_failure', 'manual')", name="reason_known"),
)

# What a customer chose on the preference page: topics they do not want, and how often.
contact_preferences = Table(
    "contact_preferences",
    metadata,
    Column("customer_id", Integer, ForeignKey("customers.id"), primary_key=True),
    Column("muted_topics", JSON, nullable=False),
    Column("frequency", String(16), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("frequency IN ('normal', 'weekly', 'monthly')", name="frequency_known"),
)

# Lifecycle flows: the definition (JSON of retain.domain.flows.Flow) and whether it runs.
flows = Table(
    "flows",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("definition", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# What happened to customers, in one stream flows read in order: orders placed and paid
# (from imports), and later surveys, tickets and points. ``ref`` makes each event unique.
customer_events = Table(
    "customer_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("event", String(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("ref", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    UniqueConstraint("event", "ref", name="uq_customer_events_event_ref"),
)
Index("ix_customer_events_customer_at", customer_events.c.customer_id, customer_events.c.at)

# One customer's run through one flow. A due run (next_run_at passed, no live lease) is a
# job: a worker leases it, runs its steps up to the next wait, and writes everything in one
# transaction, so a worker killed midway leaves the lease to expire and nothing half-done.
flow_entries = Table(
    "flow_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("flow", String(64), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("entry_no", Integer, nullable=False),
    Column("entered_at", UTCDateTime, nullable=False),
    Column("holdout", Boolean, nullable=False),
    Column("state", String(16), nullable=False),
    Column("step", Integer, nullable=False),
    Column("next_run_at", UTCDateTime),
    Column("waiting_for", String(32)),
    Column("lease_owner", String(64)),
    Column("lease_until", UTCDateTime),
    Column("context", JSON, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("exit_reason", String(64)),
    UniqueConstraint("flow", "customer_id", "entry_no", name="uq_flow_entries_flow_customer_entry"),
    CheckConstraint("state IN ('active', 'completed', 'exited', 'holdout')", name="state_known"),
)
Index("ix_flow_entries_due", flow_entries.c.state, flow_entries.c.next_run_at)
# What claims read: a flow's active runs, in the order they fall due.
Index(
    "ix_flow_entries_active_due",
    flow_entries.c.flow,
    flow_entries.c.next_run_at,
    flow_entries.c.id,
    postgresql_where=flow_entries.c.state == "active",
    sqlite_where=flow_entries.c.state == "active",
)
Index("ix_flow_entries_customer", flow_entries.c.customer_id, flow_entries.c.flow)

# Everything a flow did for a customer, once: the key is flow, step, customer and entry.
flow_actions = Table(
    "flow_actions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(255), nullable=False, unique=True),
    Column("entry_id", Integer, ForeignKey("flow_entries.id"), nullable=False, index=True),
    Column("flow", String(64), nullable=False),
    Column("step", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

# Messages flows decided to send, waiting for delivery: a job each, leased like runs. The
# key is the flow action's; delivery records the outcome in ``messages`` under the same key
# and removes the row, in one transaction.
message_queue = Table(
    "message_queue",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(255), nullable=False, unique=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("template", String(64), nullable=False),
    Column("flow", String(64)),
    Column("offer", JSON),
    Column("not_before", UTCDateTime, nullable=False, index=True),
    Column("lease_owner", String(64)),
    Column("lease_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
)

# Work for people: a personal note to a valuable new customer, a call to one slipping away.
staff_tasks = Table(
    "staff_tasks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(255), nullable=False, unique=True),
    Column("flow", String(64)),
    Column("customer_id", Integer, ForeignKey("customers.id")),
    Column("title", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime),
)

# Where each periodic scan got to: the last event handled, the last day whose dates fired.
cursors = Table(
    "cursors",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("value", String(64), nullable=False),
)

# --- Loyalty ---------------------------------------------------------------------------------

# A member's two buckets: approved points (spendable) and pending ones (waiting out the
# return window). Every change goes through ``loyalty_ledger``, which records the buckets
# after it; the checks make a negative balance impossible whatever the code does.
loyalty_accounts = Table(
    "loyalty_accounts",
    metadata,
    Column("customer_id", Integer, ForeignKey("customers.id"), primary_key=True),
    Column("balance", BigInteger, nullable=False),
    Column("pending", BigInteger, nullable=False),
    Column("tier", String(32)),
    Column("tier_since", UTCDateTime),
    Column("downgrade_at", UTCDateTime),  # set while the customer is below their tier
    Column("referral_code", String(16), nullable=False, unique=True),
    Column("referral_code_expires_at", UTCDateTime, nullable=False),
    Column("last_purchase_at", UTCDateTime),
    Column("joined_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("balance >= 0", name="balance_not_negative"),
    CheckConstraint("pending >= 0", name="pending_not_negative"),
)

# Append-only. ``points`` moves the approved balance and ``pending`` the pending one;
# ``key`` makes every entry happen once (an order earns once however often it is imported).
loyalty_ledger = Table(
    "loyalty_ledger",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(255), nullable=False, unique=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("pending", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("pending_after", BigInteger, nullable=False),
    Column("shortfall", BigInteger, nullable=False),  # points a reversal could not take back
    Column("order_id", Integer),
    Column("code", String(32)),  # the discount code a redemption issued
    Column("reason", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
    CheckConstraint("pending_after >= 0", name="pending_after_not_negative"),
    CheckConstraint("shortfall >= 0", name="shortfall_not_negative"),
    CheckConstraint(
        "kind IN ('earn', 'approve', 'redeem', 'reverse', 'expire', 'adjust', 'referral')", name="kind_known"
    ),
)
Index("ix_loyalty_ledger_customer", loyalty_ledger.c.customer_id, loyalty_ledger.c.id)

# What each order earned and how much of it was taken back: the state refunds and the end of
# the return window are measured against.
loyalty_orders = Table(
    "loyalty_orders",
    metadata,
    Column("order_id", Integer, ForeignKey("orders.id"), primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("earned", BigInteger, nullable=False),
    Column("reversed", BigInteger, nullable=False),
    Column("approve_at", UTCDateTime, nullable=False),
    Column("approved", Boolean, nullable=False),
    CheckConstraint("reversed >= 0 AND reversed <= earned", name="reversed_within_earned"),
)
Index("ix_loyalty_orders_unapproved", loyalty_orders.c.approved, loyalty_orders.c.approve_at)

# A friend brought by a member's referral code: one row per friend, ever.
referrals = Table(
    "referrals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("referrer_id", Integer, ForeignKey("customers.id"), nullable=False, index=True),
    Column("friend_email", String(320), nullable=False, unique=True),  # canonical form
    Column("friend_id", Integer, ForeignKey("customers.id")),
    Column("welcome_code", String(32)),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("settled_at", UTCDateTime),
    Column("order_id", Integer, ForeignKey("orders.id")),
    CheckConstraint("status IN ('pending', 'credited', 'capped', 'void')", name="status_known"),
)

# --- Listening -------------------------------------------------------------------------------

# Everything customers told the store: survey answers, reviews, complaints, replies, goodbye
# reasons. ``ref`` makes each piece arrive once (a survey invitation's message key, a review
# platform's id); the classifier's reading is kept beside the text.
feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ref", String(255), nullable=False, unique=True),
    Column("customer_id", Integer, ForeignKey("customers.id")),
    Column("source", String(16), nullable=False),
    Column("survey", String(16)),
    Column("score", Integer),
    Column("text", Text, nullable=False),
    Column("category", String(24), nullable=False),
    Column("sentiment", String(8), nullable=False),
    Column("mentions_competitor", Boolean, nullable=False),
    Column("intends_to_leave", Boolean, nullable=False),
    Column("team", String(16), nullable=False),
    Column("action_item_id", Integer, ForeignKey("action_items.id")),
    Column("ticket_id", Integer, ForeignKey("tickets.id")),
    Column("data", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint(
        "source IN ('survey', 'review', 'complaint', 'reply', 'goodbye', 'api')", name="source_known"
    ),
)
Index("ix_feedback_customer", feedback.c.customer_id)
Index("ix_feedback_created", feedback.c.created_at)
Index("ix_feedback_action_item", feedback.c.action_item_id)

# A photo or a document sent with a complaint.
attachments = Table(
    "attachments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("feedback_id", Integer, ForeignKey("feedback.id"), nullable=False, index=True),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("content", LargeBinary, nullable=False),
)

# The action plan: what customers complain about, one open item per category at a time.
action_items = Table(
    "action_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("category", String(24), nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Column("resolved_by", String(64)),
    Column("note", Text),
    CheckConstraint("status IN ('open', 'resolved')", name="status_known"),
)
# One open item per category, whatever arrives at once: the database decides.
Index(
    "ix_action_items_open_category",
    action_items.c.category,
    unique=True,
    postgresql_where=action_items.c.status == "open",
    sqlite_where=action_items.c.status == "open",
)

# Who was told that the thing they raised was fixed, with the message that told them.
action_notices = Table(
    "action_notices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("action_item_id", Integer, ForeignKey("action_items.id"), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("message_key", String(255), nullable=False),
    Column("notified_at", UTCDateTime, nullable=False),
    UniqueConstraint("action_item_id", "customer_id", name="uq_action_notices_item_customer"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id")),
    Column("subject", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("team", String(16), nullable=False),
    Column("category", String(24), nullable=False),
    Column("assignee", String(64)),
    Column("source", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("first_response_due", UTCDateTime, nullable=False),
    Column("resolution_due", UTCDateTime, nullable=False),
    Column("first_response_at", UTCDateTime),
    Column("resolved_at", UTCDateTime),
    Column("resolution", String(16)),
    Column("resolution_note", Text),
    Column("reminded_at", UTCDateTime),
    Column("escalated_at", UTCDateTime),
    Column("csat", Integer),
    CheckConstraint("status IN ('open', 'pending', 'resolved')", name="status_known"),
    CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="priority_known"),
)
Index("ix_tickets_status", tickets.c.status, tickets.c.created_at)
Index("ix_tickets_customer", tickets.c.customer_id)
Index("ix_tickets_assignee", tickets.c.assignee)

# A ticket's history: internal notes, replies to the customer (with their message key) and
# what happened to it (assigned, reminded, escalated, resolved).
ticket_notes = Table(
    "ticket_notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("author", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("message_key", String(255)),
    Column("at", UTCDateTime, nullable=False),
    CheckConstraint("kind IN ('note', 'reply', 'event')", name="kind_known"),
)

# What customers chose on the goodbye page, and the one gentle offer each is ever shown.
goodbyes = Table(
    "goodbyes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False, index=True),
    Column("action", String(16), nullable=False),
    Column("reason", String(24)),
    Column("at", UTCDateTime, nullable=False),
    CheckConstraint("action IN ('unsubscribe', 'close_account', 'fewer_emails')", name="action_known"),
)
goodbye_offers = Table(
    "goodbye_offers",
    metadata,
    Column("customer_id", Integer, ForeignKey("customers.id"), primary_key=True),
    Column("shown_at", UTCDateTime, nullable=False),
)

# Thanks from one person to an agent, shown on the team page.
kudos = Table(
    "kudos",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("agent", String(64), nullable=False, index=True),
    Column("giver", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("ticket_id", Integer, ForeignKey("tickets.id")),
    Column("at", UTCDateTime, nullable=False),
)

# --- Workspace -------------------------------------------------------------------------------

# The store's team. The password is an argon2 hash; nobody, not even an admin, can read it.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(120), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
    CheckConstraint("role IN ('admin', 'marketer', 'agent', 'viewer')", name="role_known"),
)

# A signed-in browser. Only the SHA-256 of the cookie's value is kept, so a copy of the
# database opens no session; each session has its own CSRF token for the forms it posts.
sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# An integration's key: shown once when made, kept as its SHA-256 (keys are long and
# random, so a fast hash is enough), scoped, and revoked rather than deleted.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(120), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
)

# Every webhook the store sent, kept as received before anything is done with it, so a
# failure is retried and never lost; (source, delivery_id) makes a resent one a no-op.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source", String(16), nullable=False),
    Column("delivery_id", String(255), nullable=False),
    Column("topic", String(64), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("processed_at", UTCDateTime),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    UniqueConstraint("source", "delivery_id", name="uq_webhook_deliveries_source_delivery"),
)
Index("ix_webhook_deliveries_pending", webhook_deliveries.c.processed_at, webhook_deliveries.c.id)
