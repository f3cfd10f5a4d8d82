"""Read-side queries of the JSON API: pages of customers, orders, events, messages, codes,
feedback, tickets, points and scores, filtered in SQL.

Every list is a keyset page: rows after the last id the client saw, one more than asked for
so the caller knows whether another page follows. Ids never change, so walking the pages
neither repeats nor misses a row, whatever is written meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, or_, select

from retain.store.tables import (
    customer_events,
    customer_scores,
    customers,
    discount_codes,
    feedback,
    loyalty_ledger,
    messages,
    order_lines,
    orders,
    segment_members,
    tickets,
)

RECENT = 10  # orders and messages in a customer's 360 view


@dataclass(frozen=True)
class Slice:
    rows: list[dict[str, Any]]
    more: bool  # another page follows the last row


def page(
    connection: Connection, query: Select[Any], key: Any, after: int | None, limit: int, newest_first: bool
) -> Slice:
    """``limit`` rows of ``query`` after the row whose ``key`` is ``after``, by ``key``."""
    if after is not None:
        query = query.where(key < after if newest_first else key > after)
    query = query.order_by(key.desc() if newest_first else key).limit(limit + 1)
    rows = [dict(row._mapping) for row in connection.execute(query)]
    return Slice(rows[:limit], len(rows) > limit)


def _kept_orders() -> Any:
    return (orders.c.customer_id == customers.c.id) & orders.c.cancelled_at.is_(None)


CUSTOMER = (customers.c.id, customers.c.external_id, customers.c.email, customers.c.name, customers.c.phone,
            customers.c.created_at, customers.c.marketing_consent)  # fmt: skip


def customers_page(
    connection: Connection,
    *,
    q: str | None,
    segment: str | None,
    min_orders: int | None,
    after: int | None,
    limit: int,
) -> Slice:
    """Customers by id, with their order count and last order; ``q`` is a part of the e-mail
    or the name, in any case."""
    placed = select(func.count()).where(_kept_orders()).scalar_subquery()
    last = select(func.max(orders.c.placed_at)).where(_kept_orders()).scalar_subquery()
    query = select(*CUSTOMER, placed.label("orders"), last.label("last_order_at"))
    if q:
        words = q.lower()
        query = query.where(
            or_(
                func.lower(customers.c.email).contains(words, autoescape=True),
                func.lower(customers.c.name).contains(words, autoescape=True),
            )
        )
    if segment is not None:
        members = select(segment_members.c.customer_id).where(segment_members.c.segment == segment)
        query = query.where(customers.c.id.in_(members))
    if min_orders is not None:
        query = query.where(placed >= min_orders)
    return page(connection, query, customers.c.id, after, limit, newest_first=False)


def customer_profile(connection: Connection, customer_id: int) -> dict[str, Any] | None:
    columns = (*CUSTOMER, customers.c.timezone, customers.c.consent_source, customers.c.consent_at)
    row = connection.execute(select(*columns).where(customers.c.id == customer_id)).first()
    return None if row is None else dict(row._mapping)


def recent_orders(connection: Connection, customer_id: int, limit: int = RECENT) -> list[dict[str, Any]]:
    query = (
        select(orders.c.id, orders.c.external_id, orders.c.placed_at, orders.c.total, orders.c.refunded,
               orders.c.currency, orders.c.financial_status, orders.c.cancelled_at)
        .where(orders.c.customer_id == customer_id)
        .order_by(orders.c.placed_at.desc(), orders.c.id.desc())
        .limit(limit)
    )  # fmt: skip
    return [dict(row._mapping) for row in connection.execute(query)]


MESSAGE = (messages.c.id, messages.c.customer_id, messages.c.template, messages.c.topic, messages.c.channel,
           messages.c.status, messages.c.flow, messages.c.attempts, messages.c.created_at)  # fmt: skip


def recent_messages(connection: Connection, customer_id: int, limit: int = RECENT) -> list[dict[str, Any]]:
    query = (
        select(*MESSAGE)
        .where(messages.c.customer_id == customer_id)
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in connection.execute(query)]


def segments_of(connection: Connection, customer_id: int) -> list[str]:
    query = (
        select(segment_members.c.segment)
        .where(segment_members.c.customer_id == customer_id)
        .order_by(segment_members.c.segment)
    )
    return list(connection.scalars(query))


def score_of(connection: Connection, customer_id: int) -> dict[str, Any] | None:
    row = connection.execute(
        select(customer_scores).where(customer_scores.c.customer_id == customer_id)
    ).first()
    return None if row is None else dict(row._mapping)


def scores_page(
    connection: Connection, *, min_churn_probability: float | None, after: int | None, limit: int
) -> Slice:
    query = select(customer_scores)
    if min_churn_probability is not None:
        query = query.where(customer_scores.c.churn_probability >= min_churn_probability)
    return page(connection, query, customer_scores.c.customer_id, after, limit, newest_first=False)


ORDER = (orders.c.id, orders.c.external_id, orders.c.customer_id, orders.c.placed_at, orders.c.currency,
         orders.c.subtotal, orders.c.discounts, orders.c.shipping, orders.c.tax, orders.c.total,
         orders.c.refunded, orders.c.financial_status, orders.c.paid_at, orders.c.cancelled_at,
         orders.c.discount_codes, orders.c.tags, orders.c.source, orders.c.item_count)  # fmt: skip


def orders_page(
    connection: Connection,
    *,
    customer_id: int | None,
    since: datetime | None,
    until: datetime | None,
    status: str | None,
    after: int | None,
    limit: int,
) -> Slice:
    """Orders by id; ``status`` is the payment status, or ``cancelled``."""
    query = select(*ORDER)
    if customer_id is not None:
        query = query.where(orders.c.customer_id == customer_id)
    if since is not None:
        query = query.where(orders.c.placed_at >= since)
    if until is not None:
        query = query.where(orders.c.placed_at < until)
    if status == "cancelled":
        query = query.where(orders.c.cancelled_at.is_not(None))
    elif status is not None:
        query = query.where(orders.c.financial_status == status, orders.c.cancelled_at.is_(None))
    return page(connection, query, orders.c.id, after, limit, newest_first=False)


def order(connection: Connection, key: int | str) -> dict[str, Any] | None:
    """An order by id or by the store's number, with its lines."""
    rule = orders.c.id == key if isinstance(key, int) else orders.c.external_id == key
    row = connection.execute(select(*ORDER).where(rule)).first()
    if row is None:
        return None
    found = dict(row._mapping)
    lines = (
        select(order_lines.c.position, order_lines.c.sku, order_lines.c.title, order_lines.c.quantity,
               order_lines.c.unit_price, order_lines.c.line_discount)
        .where(order_lines.c.order_id == found["id"])
        .order_by(order_lines.c.position)
    )  # fmt: skip
    found["lines"] = [dict(line._mapping) for line in connection.execute(lines)]
    return found


def events_page(
    connection: Connection,
    *,
    customer_id: int | None,
    event: str | None,
    since: datetime | None,
    after: int | None,
    limit: int,
) -> Slice:
    """Customer events, newest first."""
    query = select(customer_events)
    if customer_id is not None:
        query = query.where(customer_events.c.customer_id == customer_id)
    if event is not None:
        query = query.where(customer_events.c.event == event)
    if since is not None:
        query = query.where(customer_events.c.at >= since)
    return page(connection, query, customer_events.c.id, after, limit, newest_first=True)


def event_by_ref(connection: Connection, event: str, ref: str) -> dict[str, Any] | None:
    query = select(customer_events).where(customer_events.c.event == event, customer_events.c.ref == ref)
    row = connection.execute(query).first()
    return None if row is None else dict(row._mapping)


def messages_page(
    connection: Connection,
    *,
    customer_id: int | None,
    template: str | None,
    status: str | None,
    after: int | None,
    limit: int,
) -> Slice:
    """Messages, newest first, without the address they went to."""
    query = select(*MESSAGE)
    for column, value in ((messages.c.customer_id, customer_id), (messages.c.template, template),
                          (messages.c.status, status)):  # fmt: skip
        if value is not None:
            query = query.where(column == value)
    return page(connection, query, messages.c.id, after, limit, newest_first=True)


def codes_page(
    connection: Connection,
    *,
    purpose: str | None,
    redeemed: bool | None,
    customer_id: int | None,
    after: int | None,
    limit: int,
) -> Slice:
    query = select(discount_codes)
    if purpose is not None:
        query = query.where(discount_codes.c.purpose == purpose)
    if customer_id is not None:
        query = query.where(discount_codes.c.customer_id == customer_id)
    if redeemed is not None:
        column = discount_codes.c.redeemed_at
        query = query.where(column.is_not(None) if redeemed else column.is_(None))
    return page(connection, query, discount_codes.c.id, after, limit, newest_first=False)


FEEDBACK = tuple(c for c in feedback.c if c.name != "data")


def feedback_page(
    connection: Connection,
    *,
    filters: dict[str, str | int | None],
    after: int | None,
    limit: int,
) -> Slice:
    """Feedback, newest first; ``filters`` names columns (source, survey, team, category,
    customer_id) and the value each must have."""
    query = select(*FEEDBACK)
    for name, value in filters.items():
        if value is not None:
            query = query.where(feedback.c[name] == value)
    return page(connection, query, feedback.c.id, after, limit, newest_first=True)


def feedback_item(connection: Connection, feedback_id: int) -> dict[str, Any] | None:
    row = connection.execute(select(*FEEDBACK).where(feedback.c.id == feedback_id)).first()
    return None if row is None else dict(row._mapping)


def tickets_page(
    connection: Connection,
    *,
    status: Sequence[str],
    assignee: str | None,
    team: str | None,
    customer_id: int | None,
    after: int | None,
    limit: int,
) -> Slice:
    query = select(tickets)
    if status:
        query = query.where(tickets.c.status.in_(list(status)))
    for column, value in ((tickets.c.assignee, assignee), (tickets.c.team, team),
                          (tickets.c.customer_id, customer_id)):  # fmt: skip
        if value is not None:
            query = query.where(column == value)
    return page(connection, query, tickets.c.id, after, limit, newest_first=False)


def ledger_page(connection: Connection, customer_id: int, after: int | None, limit: int) -> Slice:
    """A member's points entries, newest first."""
    query = select(loyalty_ledger).where(loyalty_ledger.c.customer_id == customer_id)
    return page(connection, query, loyalty_ledger.c.id, after, limit, newest_first=True)


def customer_exists(connection: Connection, customer_id: int) -> bool:
    return connection.scalar(select(customers.c.id).where(customers.c.id == customer_id)) is not None
