"""Webhook deliveries from the store's platform, kept as received.

A delivery is recorded before anything is done with it, and (source, delivery_id) is
unique, so a resent delivery is a no-op decided by the database itself, safe between
concurrent requests on SQLite and PostgreSQL alike. Processing *claims* deliveries by
setting ``processed_at`` where it is still empty, inside the transaction that applies
them: two workers never apply the same delivery, and a rolled-back attempt leaves it
pending for a retry.

States: pending (``processed_at`` empty; ``error`` and ``attempts`` say how earlier tries
failed), processed (``processed_at`` set, no ``error``), rejected (``processed_at`` set
with an ``error``: the payload can never be applied, so it is not retried).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, case, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from retain.domain.money import to_minor
from retain.store.sets import among
from retain.store.tables import orders, webhook_deliveries

ERROR_LENGTH = 1000
_table = webhook_deliveries


@dataclass(frozen=True, slots=True)
class StoredDelivery:
    id: int
    source: str
    delivery_id: str
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class DeliveryState:
    id: int
    received_at: datetime
    processed_at: datetime | None
    attempts: int
    error: str | None

    @property
    def state(self) -> str:
        if self.processed_at is None:
            return "pending"
        return "processed" if self.error is None else "rejected"


class SqlWebhooks:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    def record(
        self, deliveries: Sequence[tuple[str, str, str, bytes]], now: datetime
    ) -> dict[tuple[str, str], int]:
        """Keep deliveries, each (source, delivery_id, topic, payload), in one statement; the
        ids of those kept now, by (source, delivery_id). One kept before is left as it was."""
        if not deliveries:
            return {}
        rows = [
            {"source": s, "delivery_id": d, "topic": t, "payload": p, "received_at": now, "attempts": 0}
            for s, d, t, p in deliveries
        ]
        # Many rows to one statement: SQLAlchemy sends them as multi-row INSERTs.
        found = self.connection.execute(_RECORD[self._postgres], rows)
        return {(source, key): ident for ident, source, key in found}

    def find(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], DeliveryState]:
        """The deliveries kept under these (source, delivery_id)."""
        found: dict[tuple[str, str], DeliveryState] = {}
        for source in sorted({s for s, _ in keys}):
            wanted = sorted({k for s, k in keys if s == source})
            rows = self.connection.execute(
                select(_table.c.delivery_id, *_STATE).where(
                    _table.c.source == source, among(_table.c.delivery_id, wanted, self._postgres)
                )
            )
            found |= {(source, row[0]): DeliveryState(*row[1:]) for row in rows}
        return found

    def states(self, ids: Sequence[int]) -> dict[int, DeliveryState]:
        if not ids:
            return {}
        rows = self.connection.execute(select(*_STATE).where(among(_table.c.id, ids, self._postgres)))
        return {row[0]: DeliveryState(*row) for row in rows}

    def claim(self, ids: Sequence[int], now: datetime) -> list[StoredDelivery]:
        """Mark the still-pending deliveries among ``ids`` processed and return them, oldest
        first; whoever commits the claim is the one who applied them."""
        if not ids:
            return []
        statement = (
            update(_table)
            .where(among(_table.c.id, ids, self._postgres), _table.c.processed_at.is_(None))
            .values(processed_at=now, attempts=_table.c.attempts + 1, error=None)
            .returning(_table.c.id, _table.c.source, _table.c.delivery_id, _table.c.topic, _table.c.payload)
        )
        claimed = [
            StoredDelivery(r[0], r[1], r[2], r[3], bytes(r[4])) for r in self.connection.execute(statement)
        ]
        return sorted(claimed, key=lambda d: d.id)

    def reject(self, delivery: int, error: str) -> None:
        """A claimed delivery that can never be applied: kept, with why, and not retried."""
        self.connection.execute(
            update(_table).where(_table.c.id == delivery).values(error=error[:ERROR_LENGTH] or "rejected")
        )

    def release(self, delivery: int, error: str) -> None:
        """Give a claimed delivery back, pending, with why: its turn has not come yet (a
        refund whose order has not arrived). The claim's attempt still counts."""
        self.connection.execute(
            update(_table)
            .where(_table.c.id == delivery)
            .values(processed_at=None, error=error[:ERROR_LENGTH])
        )

    def fail(self, delivery: int, error: str) -> None:
        """An attempt that failed (its own transaction rolled back): count it, say why."""
        self.connection.execute(
            update(_table)
            .where(_table.c.id == delivery, _table.c.processed_at.is_(None))
            .values(attempts=_table.c.attempts + 1, error=error[:ERROR_LENGTH])
        )

    def pending(self, max_attempts: int, limit: int) -> list[DeliveryState]:
        """Unprocessed deliveries with tries left, oldest first."""
        rows = self.connection.execute(
            select(*_STATE)
            .where(_table.c.processed_at.is_(None), _table.c.attempts < max_attempts)
            .order_by(_table.c.id)
            .limit(limit)
        )
        return [DeliveryState(*row) for row in rows]

    def count(self, source: str | None = None) -> dict[str, int]:
        """Deliveries by state (pending, processed, rejected)."""
        state = case(
            (_table.c.processed_at.is_(None), literal("pending")),
            (_table.c.error.is_(None), literal("processed")),
            else_=literal("rejected"),
        )
        query = select(state, func.count()).group_by(state)
        if source is not None:
            query = query.where(_table.c.source == source)
        return {str(name): int(n) for name, n in self.connection.execute(query)}

    # -- refunds ---------------------------------------------------------------------

    def cover(self, source: str, deliveries: Sequence[tuple[str, str, bytes]], now: datetime) -> None:
        """Record deliveries that a fuller one already applied, as processed: a refund an
        order's own payload listed makes that refund's webhook, earlier or later, a no-op.
        Each item is (delivery_id, topic, payload)."""
        if not deliveries:
            return
        keys = [key for key, _, _ in deliveries]
        self.connection.execute(
            update(_table)
            .where(
                _table.c.source == source,
                among(_table.c.delivery_id, keys, self._postgres),
                _table.c.processed_at.is_(None),
            )
            .values(processed_at=now, error=None)
        )
        for key, topic, payload in deliveries:
            self._insert_processed(source, key, topic, payload, now)

    def _insert_processed(self, source: str, key: str, topic: str, payload: bytes, now: datetime) -> None:
        dialect = postgresql if self._postgres else sqlite
        values: dict[str, Any] = {
            "source": source, "delivery_id": key, "topic": topic, "payload": payload,
            "received_at": now, "processed_at": now, "attempts": 0,
        }  # fmt: skip
        self.connection.execute(
            dialect.insert(_table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["source", "delivery_id"])
        )

    def orders_by_key(self, keys: Sequence[str]) -> list[Any]:
        """The stored orders imported under these keys: external id, id and customer."""
        query = select(orders.c.external_id, orders.c.id, orders.c.customer_id)
        return list(self.connection.execute(query.where(orders.c.external_id.in_(list(keys)))))

    def add_refund(self, order_key: str, amount: Decimal, currency: str | None) -> str | None:
        """Add a refund of ``amount`` to the order imported as ``order_key``; None when
        done, else why not (``unknown order`` is worth retrying: the order may come later).

        The refunded amount is capped at the order's total; the financial status becomes
        ``refunded`` or ``partially_refunded``. The content hash is cleared, so the next
        import or webhook of the whole order is written whatever it says.
        """
        found = self.connection.execute(
            select(orders.c.id, orders.c.currency, orders.c.total, orders.c.refunded).where(
                orders.c.external_id == order_key
            )
        ).first()
        if found is None:
            return "unknown order"
        order_id, order_currency, total, refunded = found
        if currency is not None and currency.upper() != order_currency:
            return f"refund in {currency.upper()}, order in {order_currency}"
        try:
            minor = to_minor(amount, order_currency)
        except ValueError as error:
            return f"unreadable refund amount: {error}"
        if minor <= 0:
            return None
        refunded = min(total, refunded + minor)
        status = "refunded" if refunded >= total else "partially_refunded"
        self.connection.execute(
            update(orders)
            .where(orders.c.id == order_id)
            .values(refunded=refunded, financial_status=status, content_hash="")
        )
        return None


_STATE = (
    _table.c.id,
    _table.c.received_at,
    _table.c.processed_at,
    _table.c.attempts,
    _table.c.error,
)
# Kept once: compiling the statement would cost more than running it.
_RECORD = {
    postgres: (postgresql if postgres else sqlite)
    .insert(_table)
    .on_conflict_do_nothing(index_elements=["source", "delivery_id"])
    .returning(_table.c.id, _table.c.source, _table.c.delivery_id)
    for postgres in (False, True)
}
