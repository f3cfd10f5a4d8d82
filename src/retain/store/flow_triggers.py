"""What starts flows, read from the store: events, segment changes, dates and scores; and
the facts about customers that entry and branch conditions test."""

from __future__ import annotations

import operator
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, extract, func, insert, not_, or_, select

from retain.domain.conditions import Condition, Group
from retain.domain.flow_runs import Event
from retain.domain.money import exponent, to_decimal
from retain.store.sets import among, chunks, rows_among, stamp, utc
from retain.store.tables import customer_events, customer_scores, customers, orders, segment_changes

ORDER_FACTS = frozenset(
    {"orders", "revenue", "average_order_value", "days_since_first_order", "days_since_last_order"}
)
SCORE_FACTS = frozenset({"p_alive", "churn_probability", "predicted_orders", "predicted_clv"})
_ORDER_FACTS = (
    "SELECT customer_id, count(*), sum(total - refunded), min(placed_at), max(placed_at), max(currency)"
    " FROM orders WHERE customer_id {ids} AND cancelled_at IS NULL AND placed_at <= ? GROUP BY customer_id"
)
_FIRST_ORDERS = (
    "SELECT customer_id, id FROM orders WHERE customer_id {ids} AND cancelled_at IS NULL"
    " ORDER BY customer_id, placed_at, id"
)
_ORDER_COUNTS = (
    "SELECT customer_id, count(*) FROM orders"
    " WHERE customer_id {ids} AND cancelled_at IS NULL AND placed_at <= ? GROUP BY customer_id"
)
_SCORE_FACTS = (
    "SELECT customer_id, p_alive, churn_probability, predicted_orders, predicted_clv"
    " FROM customer_scores WHERE customer_id {ids}"
)


class SqlTriggers:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    def record_orders(self, since: datetime, until: datetime) -> int:
        """Add an ``order_placed`` event for each order placed in (since, until] and not yet
        recorded, with the order's total, item count and whether it was the customer's
        first; returns how many were added."""
        placed = self.connection.execute(
            select(
                orders.c.id, orders.c.customer_id, orders.c.placed_at, orders.c.total, orders.c.currency,
                orders.c.item_count,
            )
            .where(orders.c.placed_at > since, orders.c.placed_at <= until, orders.c.cancelled_at.is_(None))
            .order_by(orders.c.placed_at, orders.c.id)
        ).all()  # fmt: skip
        if not placed:
            return 0
        known: set[str] = set()
        refs = [str(row.id) for row in placed]
        for part in chunks(refs):
            query = select(customer_events.c.ref).where(
                customer_events.c.event == "order_placed", among(customer_events.c.ref, part, self._postgres)
            )
            known.update(self.connection.scalars(query))
        fresh = [row for row in placed if str(row.id) not in known]
        firsts = self._first_orders(sorted({row.customer_id for row in fresh}))
        rows = [
            {
                "customer_id": row.customer_id, "event": "order_placed", "at": row.placed_at,
                "ref": str(row.id),
                "data": {
                    "order_id": row.id,
                    "order_total": float(to_decimal(row.total, row.currency)),
                    "order_items": row.item_count,
                    "first_order": firsts.get(row.customer_id) == row.id,
                },
            }
            for row in fresh
        ]  # fmt: skip
        for part in chunks(rows):
            self.connection.execute(insert(customer_events), list(part))
        return len(rows)

    def _first_orders(self, customer_ids: Sequence[int]) -> dict[int, int]:
        """Each customer's first order that was not cancelled (the earliest, then lowest id)."""
        first: dict[int, int] = {}
        for customer, order in rows_among(self.connection, _FIRST_ORDERS, customer_ids):
            first.setdefault(customer, order)
        return first

    def events_after(self, last_id: int, limit: int = 50_000) -> list[Event]:
        rows = self.connection.execute(
            select(customer_events)
            .where(customer_events.c.id > last_id)
            .order_by(customer_events.c.id)
            .limit(limit)
        )
        return [Event(r.id, r.customer_id, r.event, r.at, dict(r.data or {})) for r in rows]

    def segment_changes_after(self, last_id: int, limit: int = 100_000) -> list[tuple[int, str, int, str]]:
        """(id, segment, customer, change) after ``last_id``."""
        rows = self.connection.execute(
            select(
                segment_changes.c.id,
                segment_changes.c.segment,
                segment_changes.c.customer_id,
                segment_changes.c.change,
            )
            .where(segment_changes.c.id > last_id)
            .order_by(segment_changes.c.id)
            .limit(limit)
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def on_date(self, field: str, day: date) -> list[int]:
        """Customers whose ``field`` falls on ``day``: a birthday or first-order anniversary
        (same month and day, a later year), or the expected date of the next order."""
        if field == "birthday":
            query = select(customers.c.id).where(
                extract("month", customers.c.birthday) == day.month,
                extract("day", customers.c.birthday) == day.day,
            )
        elif field == "first_order_anniversary":
            return self._first_order_anniversaries(day)
        elif field == "expected_next_order":
            query = select(customer_scores.c.customer_id).where(customer_scores.c.expected_next_order == day)
        else:
            raise ValueError(f"no customer date {field!r}")
        return sorted(self.connection.scalars(query).all())

    def _first_order_anniversaries(self, day: date) -> list[int]:
        """Customers whose first order that was not cancelled fell on ``day``'s month and
        day, in an earlier year (month and day as the database reads them).

        Grouping every order by customer read the whole table each day; only customers
        with an order within a day of that date in some year can qualify (a day either side
        for the database's time zone), found through the index on ``placed_at``, and only
        their orders are grouped."""
        earliest = self.connection.scalar(select(func.min(orders.c.placed_at)))
        if earliest is None:
            return []
        windows = []
        for year in range(earliest.year - 1, day.year):
            try:
                start = datetime.combine(day.replace(year=year), time(), tzinfo=UTC) - timedelta(days=1)
            except ValueError:  # 29 February, in a year without one
                continue
            windows.append(and_(orders.c.placed_at >= start, orders.c.placed_at < start + timedelta(days=3)))
        if not windows:
            return []
        near = select(orders.c.customer_id).where(or_(*windows), orders.c.cancelled_at.is_(None))
        candidates = sorted(set(self.connection.scalars(near)))
        found: list[int] = []
        for part in chunks(candidates):
            first = (
                select(orders.c.customer_id, func.min(orders.c.placed_at).label("first_at"))
                .where(among(orders.c.customer_id, part, self._postgres), orders.c.cancelled_at.is_(None))
                .group_by(orders.c.customer_id)
                .subquery()
            )
            query = select(first.c.customer_id).where(
                extract("month", first.c.first_at) == day.month,
                extract("day", first.c.first_at) == day.day,
                extract("year", first.c.first_at) < day.year,
            )
            found.extend(self.connection.scalars(query))
        return sorted(found)

    def scored(
        self,
        score: str,
        above: float | None,
        below: float | None,
        entry: Condition | None = None,
        currency: str = "USD",
    ) -> list[int]:
        """Customers whose ``score`` is above or below the threshold; with ``entry``, a rule
        over score fields only, just those it admits (read in the same query, rather than
        fetching facts for every customer past the threshold)."""
        column = customer_scores.c[score]
        conditions: list[ColumnElement[bool]] = []
        if above is not None:
            conditions.append(column > above)
        if below is not None:
            conditions.append(column < below)
        if entry is not None:
            conditions.append(_score_rule(entry, 10 ** exponent(currency)))
        query = select(customer_scores.c.customer_id).where(and_(*conditions))
        return sorted(self.connection.scalars(query).all())

    def everyone(self) -> list[int]:
        return sorted(self.connection.scalars(select(customers.c.id)).all())

    def facts(
        self, customer_ids: Sequence[int], now: datetime, currency: str, fields: Collection[str] | None = None
    ) -> dict[int, dict[str, Any]]:
        """What conditions may test about each customer, as of ``now``: order counts and
        revenue (in the currency's major unit, net of refunds), days since the first and
        last order, and the latest scores; only the kinds ``fields`` names, when given, and
        of the order facts only the count when that is the one named."""
        found: dict[int, dict[str, Any]] = {c: {} for c in customer_ids}
        wanted = set(fields) if fields is not None else ORDER_FACTS | SCORE_FACTS
        ids = sorted(found)
        if wanted & ORDER_FACTS == {"orders"}:  # a count alone: no sums or times to read and convert
            for customer, count in rows_among(
                self.connection, _ORDER_COUNTS, ids, stamp(now, self.connection)
            ):
                found[customer]["orders"] = int(count)
        elif wanted & ORDER_FACTS:
            rows = rows_among(self.connection, _ORDER_FACTS, ids, stamp(now, self.connection))
            units: dict[str, int] = {}  # minor units in a major one, per currency
            for customer, count, net, first, last, spent in rows:
                if spent not in units:
                    units[spent] = 10 ** exponent(spent)
                # Both divisions round the same fraction once: the float of to_decimal's value.
                revenue = int(net or 0) / units[spent]
                found[customer].update(
                    orders=int(count), revenue=revenue, average_order_value=revenue / int(count),
                    days_since_first_order=(now - utc(first)).days,
                    days_since_last_order=(now - utc(last)).days,
                )  # fmt: skip
        if wanted & SCORE_FACTS:
            for customer, p_alive, churn, predicted, clv in rows_among(self.connection, _SCORE_FACTS, ids):
                found[customer].update(
                    p_alive=p_alive, churn_probability=churn, predicted_orders=predicted,
                    predicted_clv=float(to_decimal(clv, currency)),
                )  # fmt: skip
        if wanted & ORDER_FACTS:
            for customer in found:
                found[customer].setdefault("orders", 0)
        return found

    def timezones(self, customer_ids: Sequence[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        for part in chunks(sorted(set(customer_ids))):
            query = select(customers.c.id, customers.c.timezone).where(
                among(customers.c.id, part, self._postgres), customers.c.timezone.is_not(None)
            )
            found.update((c, tz) for c, tz in self.connection.execute(query))
        return found


def _score_rule(condition: Condition, power: int) -> ColumnElement[bool]:
    """A rule over score fields as SQL on ``customer_scores`` (money in minor units there)."""
    if isinstance(condition, Group):
        parts = [_score_rule(child, power) for child in condition.children]
        if condition.mode == "not":
            return not_(parts[0])
        return and_(*parts) if condition.mode == "all" else or_(*parts)
    column = customer_scores.c[condition.field]
    scale = power if condition.field == "predicted_clv" else 1
    value: Any = condition.value
    if condition.op in ("in", "not in"):
        values = [v * scale for v in value]
        return column.in_(values) if condition.op == "in" else column.not_in(values)
    compare = {"=": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge,
               "<": operator.lt, "<=": operator.le}[condition.op]  # fmt: skip
    return compare(column, value * scale)  # type: ignore[no-any-return]
