"""Messages in the store: who may receive them, what was sent, and what recipients did."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from retain.domain.attribution import Purchase, Touch, attribute
from retain.domain.money import display_money
from retain.domain.outreach import Contact, split_name
from retain.domain.personalization import OrderView, ProductView
from retain.store.sets import chunks
from retain.store.tables import (
    contact_preferences,
    customers,
    message_events,
    messages,
    order_lines,
    orders,
    products,
    suppressions,
)


class SqlOutreach:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def contacts(
        self,
        customer_ids: Sequence[int],
        since: datetime | None = None,
        flow: str | None = None,
        flow_since: datetime | None = None,
    ) -> list[Contact]:
        """Each known customer of ``customer_ids``, in that order, with consent, preferences,
        suppression, the time of their latest marketing message, and how many marketing
        messages they got since ``since`` (and from ``flow`` since ``flow_since``)."""
        found: dict[int, Contact] = {}
        for part in chunks(sorted(set(customer_ids))):
            recent = self._recent(part, since, None) if since else {}
            from_flow = self._recent(part, flow_since, flow) if flow and flow_since else {}
            last_marketing = (
                select(messages.c.customer_id, func.max(messages.c.created_at).label("at"))
                .where(
                    messages.c.customer_id.in_(part),
                    messages.c.status == "sent",
                    messages.c.topic != "transactional",
                )
                .group_by(messages.c.customer_id)
                .subquery()
            )
            query = (
                select(
                    customers.c.id, customers.c.email, customers.c.name, customers.c.marketing_consent,
                    contact_preferences.c.muted_topics, contact_preferences.c.frequency,
                    suppressions.c.reason, last_marketing.c.at,
                )
                .outerjoin(contact_preferences, contact_preferences.c.customer_id == customers.c.id)
                .outerjoin(suppressions, suppressions.c.address == func.lower(customers.c.email))
                .outerjoin(last_marketing, last_marketing.c.customer_id == customers.c.id)
                .where(customers.c.id.in_(part))
            )  # fmt: skip
            for row in self.connection.execute(query):
                first, last = split_name(row.name)
                found[row.id] = Contact(
                    customer_id=row.id,
                    email=row.email,
                    first_name=first,
                    last_name=last,
                    marketing_consent=row.marketing_consent,
                    muted_topics=frozenset(row.muted_topics or ()),
                    frequency=row.frequency or "normal",
                    suppressed=row.reason,
                    last_marketing_at=row.at,
                    recent_marketing=recent.get(row.id, 0),
                    recent_from_flow=from_flow.get(row.id, 0),
                )
        return [found[c] for c in customer_ids if c in found]

    def _recent(self, part: Sequence[int], since: datetime, flow: str | None) -> dict[int, int]:
        query = (
            select(messages.c.customer_id, func.count())
            .where(
                messages.c.customer_id.in_(part), messages.c.status == "sent", messages.c.created_at >= since
            )
            .group_by(messages.c.customer_id)
        )
        query = (
            query.where(messages.c.flow == flow) if flow else query.where(messages.c.topic != "transactional")
        )
        return {customer: int(count) for customer, count in self.connection.execute(query)}

    def last_orders(self, customer_ids: Sequence[int], max_products: int = 4) -> dict[int, OrderView]:
        """Each customer's latest order that was not cancelled, with its products."""
        latest: dict[int, Any] = {}
        for part in chunks(sorted(set(customer_ids))):
            newest = (
                select(orders.c.customer_id, func.max(orders.c.placed_at).label("at"))
                .where(orders.c.customer_id.in_(part), orders.c.cancelled_at.is_(None))
                .group_by(orders.c.customer_id)
                .subquery()
            )
            query = select(orders).join(
                newest, (newest.c.customer_id == orders.c.customer_id) & (newest.c.at == orders.c.placed_at)
            )
            for row in self.connection.execute(query.order_by(orders.c.id)):
                latest.setdefault(row.customer_id, row)
        lines: dict[int, list[ProductView]] = {}
        by_order = {row.id: row for row in latest.values()}
        for part in chunks(sorted(by_order)):
            query = (
                select(
                    order_lines.c.order_id, order_lines.c.title, order_lines.c.unit_price, products.c.category
                )
                .outerjoin(products, products.c.id == order_lines.c.product_id)
                .where(order_lines.c.order_id.in_(part))
                .order_by(order_lines.c.order_id, order_lines.c.position)
            )
            for line in self.connection.execute(query):
                bucket = lines.setdefault(line.order_id, [])
                if len(bucket) < max_products:
                    currency = by_order[line.order_id].currency
                    price = display_money(line.unit_price, currency)
                    bucket.append(ProductView(title=line.title, category=line.category, price=price))
        return {
            customer: OrderView(
                number=row.external_id,
                placed_on=row.placed_at.date(),
                total=display_money(row.total, row.currency),
                products=tuple(lines.get(row.id, ())),
            )
            for customer, row in latest.items()
        }

    def products(self, product_ids: Sequence[int]) -> dict[int, ProductView]:
        found: dict[int, ProductView] = {}
        for part in chunks(sorted(set(product_ids))):
            query = select(
                products.c.id, products.c.title, products.c.category, products.c.price, products.c.currency
            ).where(products.c.id.in_(part))
            for row in self.connection.execute(query):
                price = (
                    display_money(row.price, row.currency) if row.price is not None and row.currency else None
                )
                found[row.id] = ProductView(title=row.title, category=row.category, price=price)
        return found

    def known_keys(self, keys: Sequence[str]) -> set[str]:
        """The keys of ``keys`` already recorded as sent, skipped or refused for good; a key
        that failed for a while may be tried again."""
        known: set[str] = set()
        for part in chunks(list(keys)):
            query = select(messages.c.key).where(
                messages.c.key.in_(part), messages.c.status != "temporary_failure"
            )
            known.update(self.connection.scalars(query))
        return known

    def record(self, rows: Sequence[dict[str, Any]]) -> None:
        """Store what became of each message; a retried key replaces its earlier failure."""
        if not rows:
            return
        keys = [row["key"] for row in rows]
        stale: list[str] = []
        for part in chunks(keys):
            stale.extend(self.connection.scalars(select(messages.c.key).where(messages.c.key.in_(part))))
        for row in rows:
            if row["key"] in stale:
                self.connection.execute(update(messages).where(messages.c.key == row["key"]).values(**row))
        fresh = [row for row in rows if row["key"] not in set(stale)]
        for part in chunks(fresh):
            self.connection.execute(insert(messages), list(part))

    def suppress(self, address: str, reason: str, detail: str, now: datetime) -> bool:
        """Stop every message to ``address``; False when it was suppressed already."""
        address = address.strip().lower()
        exists = self.connection.scalar(
            select(suppressions.c.address).where(suppressions.c.address == address)
        )
        if exists:
            return False
        self.connection.execute(
            insert(suppressions).values(address=address, reason=reason, detail=detail[:1000], created_at=now)
        )
        return True

    def message_id(self, key: str) -> tuple[int, int | None, str | None] | None:
        """The id, customer and address of the message with ``key``."""
        row = self.connection.execute(
            select(messages.c.id, messages.c.customer_id, messages.c.address).where(messages.c.key == key)
        ).first()
        return None if row is None else (row.id, row.customer_id, row.address)

    def add_event(self, key: str, kind: str, at: datetime, url: str | None = None) -> bool:
        """Record what a recipient or a server did with a message; False for an unknown key."""
        found = self.message_id(key)
        if found is None:
            return False
        self.connection.execute(insert(message_events).values(message_id=found[0], kind=kind, at=at, url=url))
        return True

    def unsubscribe(self, customer_id: int, now: datetime, source: str) -> bool:
        """Withdraw a customer's marketing consent; False for an unknown customer."""
        result = self.connection.execute(
            update(customers)
            .where(customers.c.id == customer_id)
            .values(marketing_consent=False, consent_source=source, consent_at=now)
        )
        return result.rowcount > 0

    def preferences(self, customer_id: int) -> tuple[bool | None, frozenset[str], str] | None:
        """Consent, muted topics and frequency of a customer; None for an unknown one."""
        row = self.connection.execute(
            select(
                customers.c.marketing_consent,
                contact_preferences.c.muted_topics,
                contact_preferences.c.frequency,
            )
            .outerjoin(contact_preferences, contact_preferences.c.customer_id == customers.c.id)
            .where(customers.c.id == customer_id)
        ).first()
        if row is None:
            return None
        return row.marketing_consent, frozenset(row.muted_topics or ()), row.frequency or "normal"

    def set_preferences(
        self, customer_id: int, subscribed: bool, muted: Iterable[str], frequency: str, now: datetime
    ) -> None:
        self.connection.execute(
            update(customers)
            .where(customers.c.id == customer_id)
            .values(marketing_consent=subscribed, consent_source="preference page", consent_at=now)
        )
        values = {"muted_topics": sorted(set(muted)), "frequency": frequency, "updated_at": now}
        done = self.connection.execute(
            update(contact_preferences)
            .where(contact_preferences.c.customer_id == customer_id)
            .values(**values)
        )
        if done.rowcount == 0:
            self.connection.execute(insert(contact_preferences).values(customer_id=customer_id, **values))

    def recent_buyers(self, since: datetime) -> list[int]:
        """Customers with an order placed at or after ``since``, not cancelled."""
        query = (
            select(orders.c.customer_id)
            .where(orders.c.placed_at >= since, orders.c.cancelled_at.is_(None))
            .distinct()
            .order_by(orders.c.customer_id)
        )
        return list(self.connection.scalars(query))

    def find_customers(self, identifiers: Sequence[str]) -> dict[str, int]:
        """Customer ids by external id or e-mail (any case); unknown identifiers are left out."""
        wanted = list(dict.fromkeys(identifiers))
        lowered = [i.lower() for i in wanted]
        query = select(customers.c.id, customers.c.external_id, customers.c.email).where(
            customers.c.external_id.in_(wanted) | func.lower(customers.c.email).in_(lowered)
        )
        by_key: dict[str, int] = {}
        for row in self.connection.execute(query):
            if row.external_id:
                by_key.setdefault(row.external_id, row.id)
            if row.email:
                by_key.setdefault(row.email.lower(), row.id)
        return {
            i: by_key[i] if i in by_key else by_key[i.lower()]
            for i in wanted
            if i in by_key or i.lower() in by_key
        }

    def report(self, window: timedelta) -> list[dict[str, Any]]:
        """Per template: messages by outcome, what recipients did, and the orders placed within
        ``window`` after an open or a click (each order to its latest such message)."""
        counts: dict[str, dict[str, Any]] = {}
        status_query = select(messages.c.template, messages.c.status, func.count()).group_by(
            messages.c.template, messages.c.status
        )
        for template, status, count in self.connection.execute(status_query):
            row = counts.setdefault(template, _empty_report(template))
            row["sent" if status == "sent" else "skipped" if status == "skipped" else "failed"] += count
        event_query = (
            select(messages.c.template, message_events.c.kind, func.count(func.distinct(messages.c.id)))
            .join(messages, messages.c.id == message_events.c.message_id)
            .group_by(messages.c.template, message_events.c.kind)
        )
        named = {"open": "opened", "click": "clicked", "unsubscribe": "unsubscribed", "bounce": "bounced",
                 "complaint": "bounced"}  # fmt: skip
        for template, kind, count in self.connection.execute(event_query):
            counts.setdefault(template, _empty_report(template))[named[kind]] += count
        touches = [
            Touch(row.id, row.customer_id, row.at, row.template)
            for row in self.connection.execute(
                select(messages.c.id, messages.c.customer_id, messages.c.template, message_events.c.at)
                .join(messages, messages.c.id == message_events.c.message_id)
                .where(message_events.c.kind.in_(("open", "click")), messages.c.customer_id.is_not(None))
            )
        ]
        if touches:
            first = min(t.at for t in touches)
            who = sorted({t.customer_id for t in touches})
            placed: list[Purchase] = []
            for part in chunks(who):
                query = select(
                    orders.c.id,
                    orders.c.customer_id,
                    orders.c.placed_at,
                    orders.c.total,
                    orders.c.refunded,
                    orders.c.currency,
                ).where(orders.c.customer_id.in_(part), orders.c.placed_at >= first)
                query = query.where(orders.c.cancelled_at.is_(None))  # fmt: skip
                placed.extend(
                    Purchase(r.id, r.customer_id, r.placed_at, r.total - r.refunded, r.currency)
                    for r in self.connection.execute(query)
                )
            templates = {t.message_id: t.template for t in touches}
            revenue: dict[str, dict[str, int]] = {}
            for order, message in attribute(touches, placed, window).items():
                template = templates[message]
                counts[template]["orders"] += 1
                money = revenue.setdefault(template, {})
                money[order.currency] = money.get(order.currency, 0) + order.net
            for template, money in revenue.items():
                counts[template]["revenue"] = ", ".join(
                    display_money(amount, currency) for currency, amount in sorted(money.items())
                )
        return [counts[t] for t in sorted(counts)]


def _empty_report(template: str) -> dict[str, Any]:
    return {
        "template": template, "sent": 0, "skipped": 0, "failed": 0, "opened": 0, "clicked": 0,
        "unsubscribed": 0, "bounced": 0, "orders": 0, "revenue": "-",
    }  # fmt: skip
