"""Customers as people read them: one customer's whole story (``retain customer show`` and the
dashboard's customer page), the searchable list, and a segment's members.

Every query here reads one customer or one page of customers through an index, so pages stay
fast on a store of millions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, or_, select

from retain.store.tables import (
    customer_scores,
    customers,
    message_events,
    messages,
    orders,
    segment_members,
)
from retain.store.uow import SqlUnitOfWork

RECENT = 10  # orders and messages in the short view
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PROFILE = (customers.c.id, customers.c.external_id, customers.c.email, customers.c.name, customers.c.phone,
           customers.c.created_at, customers.c.marketing_consent, customers.c.consent_source,
           customers.c.consent_at, customers.c.timezone)  # fmt: skip
SCORE = tuple(
    customer_scores.c[name]
    for name in (
        "model", "as_of", "horizon_days", "p_alive", "churn_probability", "predicted_orders",
        "expected_next_order", "average_order_value", "average_days_between_orders", "historic_clv",
        "predicted_clv", "total_clv", "currency",
    )
)  # fmt: skip


def _rows(connection: Connection, query: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in connection.execute(query)]


def profile(connection: Connection, customer_id: int) -> dict[str, Any] | None:
    found = _rows(connection, select(*PROFILE).where(customers.c.id == customer_id))
    return found[0] if found else None


def recent_orders(connection: Connection, customer_id: int, limit: int = RECENT) -> list[dict[str, Any]]:
    """Newest first, cancelled ones included."""
    query = (
        select(orders.c.external_id.label("number"), orders.c.placed_at, orders.c.total, orders.c.refunded,
               orders.c.currency, orders.c.financial_status, orders.c.cancelled_at)
        .where(orders.c.customer_id == customer_id)
        .order_by(orders.c.placed_at.desc(), orders.c.id.desc())
        .limit(limit)
    )  # fmt: skip
    return _rows(connection, query)


def recent_messages(connection: Connection, customer_id: int, limit: int = RECENT) -> list[dict[str, Any]]:
    query = (
        select(messages.c.template, messages.c.channel, messages.c.status, messages.c.created_at)
        .where(messages.c.customer_id == customer_id)
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(limit)
    )
    return _rows(connection, query)


def customer_view(uow: SqlUnitOfWork, customer_id: int, recent: int = RECENT) -> dict[str, Any]:
    """Profile, the latest orders and messages, points, feedback and tickets, in one transaction."""
    found = profile(uow.connection, customer_id)
    if found is None:
        raise LookupError(f"no customer {customer_id}")
    account = uow.loyalty.account(customer_id)
    points = None if account is None else {k: account[k] for k in ("balance", "pending", "tier")}
    said = uow.feedback.listed(customer_id=customer_id, limit=20)
    return {
        "profile": found,
        "orders": recent_orders(uow.connection, customer_id, recent),
        "messages": recent_messages(uow.connection, customer_id, recent),
        "loyalty": points,
        "feedback": [{k: v for k, v in row.items() if k != "data"} for row in said],
        "tickets": uow.feedback.tickets(customer_id=customer_id),
    }


def order_facts(connection: Connection, customer_id: int) -> dict[str, Any]:
    """Non-cancelled orders: how many, their net revenue by currency, the first and last."""
    row = connection.execute(
        select(func.count(), func.min(orders.c.placed_at), func.max(orders.c.placed_at),
               func.coalesce(func.sum(orders.c.total - orders.c.refunded), 0), func.max(orders.c.currency))
        .where(orders.c.customer_id == customer_id, orders.c.cancelled_at.is_(None))
    ).one()  # fmt: skip
    return {"orders": int(row[0]), "first_at": row[1], "last_at": row[2], "revenue": int(row[3]),
            "currency": row[4]}  # fmt: skip


def score(connection: Connection, customer_id: int) -> dict[str, Any] | None:
    found = _rows(connection, select(*SCORE).where(customer_scores.c.customer_id == customer_id))
    return found[0] if found else None


def messages_with_events(connection: Connection, customer_id: int, limit: int) -> list[dict[str, Any]]:
    """The newest messages, each with what the customer did with it (opened, clicked...)."""
    query = (
        select(messages.c.id, messages.c.template, messages.c.channel, messages.c.status, messages.c.flow,
               messages.c.created_at)
        .where(messages.c.customer_id == customer_id)
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(limit)
    )  # fmt: skip
    found = _rows(connection, query)
    by_id = {m["id"]: m | {"events": []} for m in found}
    if by_id:
        events = select(message_events.c.message_id, message_events.c.kind, message_events.c.at).where(
            message_events.c.message_id.in_(list(by_id))
        )
        for message_id, kind, at in connection.execute(events.order_by(message_events.c.at)):
            by_id[message_id]["events"].append({"kind": kind, "at": at})
    return list(by_id.values())


# --- lists ---------------------------------------------------------------------------------


def _listing(connection: Connection, query: Select[Any]) -> list[dict[str, Any]]:
    """A page of customers with their order counts, last order and latest scores."""
    people = _rows(connection, query)
    ids = [p["id"] for p in people]
    if not ids:
        return []
    counts = connection.execute(
        select(orders.c.customer_id, func.count(), func.max(orders.c.placed_at))
        .where(orders.c.customer_id.in_(ids), orders.c.cancelled_at.is_(None))
        .group_by(orders.c.customer_id)
    )
    facts = {c: (n, last) for c, n, last in counts}
    scored = connection.execute(
        select(customer_scores.c.customer_id, customer_scores.c.churn_probability,
               customer_scores.c.predicted_clv, customer_scores.c.currency)
        .where(customer_scores.c.customer_id.in_(ids))
    )  # fmt: skip
    scores = {c: (p, v, cur) for c, p, v, cur in scored}
    for person in people:
        n, last = facts.get(person["id"], (0, None))
        churn, clv, currency = scores.get(person["id"], (None, None, None))
        person.update(orders=int(n), last_order_at=last, churn_probability=churn, predicted_clv=clv,
                      currency=currency)  # fmt: skip
    return people


def search(connection: Connection, q: str, offset: int, limit: int) -> list[dict[str, Any]]:
    """Customers by id: with a whole e-mail address, that customer (through the index); else
    those whose e-mail or name contains ``q`` in any case (a scan); all when ``q`` is empty."""
    columns = (customers.c.id, customers.c.email, customers.c.name, customers.c.marketing_consent)
    query = select(*columns).order_by(customers.c.id).offset(offset).limit(limit)
    words = q.strip()
    if EMAIL.fullmatch(words):
        query = query.where(customers.c.email.in_(sorted({words, words.lower()})))
    elif words:
        pattern = "%" + words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                func.lower(customers.c.email).like(pattern, escape="\\"),
                func.lower(customers.c.name).like(pattern, escape="\\"),
            )
        )
    return _listing(connection, query)


def segment_page(connection: Connection, key: str, offset: int, limit: int) -> list[dict[str, Any]]:
    """One page of a segment's stored members (as of the last segments refresh), by id."""
    columns = (customers.c.id, customers.c.email, customers.c.name, customers.c.marketing_consent)
    query = (
        select(*columns)
        .join(segment_members, segment_members.c.customer_id == customers.c.id)
        .where(segment_members.c.segment == key)
        .order_by(customers.c.id)
        .offset(offset)
        .limit(limit)
    )
    return _listing(connection, query)


def member_count(connection: Connection, key: str) -> int:
    query = select(func.count()).select_from(segment_members).where(segment_members.c.segment == key)
    return int(connection.scalar(query) or 0)


def names(connection: Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """E-mail and name of each customer in ``ids``."""
    if not ids:
        return {}
    query = select(customers.c.id, customers.c.email, customers.c.name).where(customers.c.id.in_(list(ids)))
    return {row.id: dict(row._mapping) for row in connection.execute(query)}


def last_refreshed(connection: Connection) -> datetime | None:
    """When segment members were last stored (the newest entry), or None."""
    found: datetime | None = connection.scalar(select(func.max(segment_members.c.entered_at)))
    return found
