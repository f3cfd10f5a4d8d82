"""Discount codes in the store: issued in batches, redeemed by the orders that carry them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from retain.domain.discounts import DiscountError, DiscountSpec, codes_in, new_code, normalise
from retain.store.tables import customers, discount_codes, orders

CHUNK = 5_000


class SqlDiscountCodes:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def issue(self, spec: DiscountSpec, owners: Sequence[int | None], now: datetime) -> list[str]:
        """One new code per entry of ``owners`` (a customer id, or None for anyone)."""
        wanted = sorted({o for o in owners if o is not None})
        known: set[int] = set()
        for start in range(0, len(wanted), CHUNK):
            part = wanted[start : start + CHUNK]
            known.update(self.connection.scalars(select(customers.c.id).where(customers.c.id.in_(part))))
        if unknown := [o for o in wanted if o not in known]:
            raise DiscountError(f"customer_ids: no customer {', '.join(map(str, unknown[:5]))}")
        codes = self._fresh(len(owners))
        rows = [
            {
                "code": normalise(code), "kind": spec.kind, "value": spec.value, "currency": spec.currency,
                "minimum_order": spec.minimum_order, "expires_at": spec.expires_at, "purpose": spec.purpose,
                "customer_id": owner, "created_at": now,
            }
            for code, owner in zip(codes, owners, strict=True)
        ]  # fmt: skip
        for start in range(0, len(rows), CHUNK):
            self.connection.execute(insert(discount_codes), rows[start : start + CHUNK])
        return codes

    def _fresh(self, count: int) -> list[str]:
        """``count`` codes not yet in the store (a clash is vanishingly rare, but possible)."""
        codes: dict[str, str] = {}
        while len(codes) < count:
            wanted = {normalise(c): c for c in (new_code() for _ in range(count - len(codes)))}
            taken: set[str] = set()
            keys = list(wanted)
            for start in range(0, len(keys), CHUNK):
                query = select(discount_codes.c.code).where(
                    discount_codes.c.code.in_(keys[start : start + CHUNK])
                )
                taken.update(self.connection.scalars(query))
            codes.update((k, v) for k, v in wanted.items() if k not in taken)
        return list(codes.values())[:count]

    def redeem(self) -> int:
        """Mark each unredeemed code used by the first order that carries it, placed after the
        code was issued and not cancelled; returns how many were redeemed."""
        unredeemed = select(discount_codes.c.code, discount_codes.c.created_at).where(
            discount_codes.c.redeemed_at.is_(None)
        )
        open_codes: dict[str, datetime] = {row[0]: row[1] for row in self.connection.execute(unredeemed)}
        if not open_codes:
            return 0
        candidates = self.connection.execute(
            select(orders.c.id, orders.c.placed_at, orders.c.discount_codes)
            .where(
                orders.c.discount_codes.is_not(None),
                orders.c.cancelled_at.is_(None),
                orders.c.placed_at >= min(open_codes.values()),
            )
            .order_by(orders.c.placed_at, orders.c.id)
        )
        used: dict[str, tuple[int, datetime]] = {}
        for order_id, placed_at, text in candidates:
            for code in codes_in(text):
                if code in open_codes and code not in used and placed_at >= open_codes[code]:
                    used[code] = (order_id, placed_at)
        if used:
            statement = (
                update(discount_codes)
                .where(discount_codes.c.code == bindparam("key"), discount_codes.c.redeemed_at.is_(None))
                .values(redeemed_at=bindparam("at"), order_id=bindparam("order"))
            )
            self.connection.execute(
                statement, [{"key": c, "order": o, "at": at} for c, (o, at) in used.items()]
            )
        return len(used)

    def listing(self, unredeemed_only: bool = False) -> list[dict[str, object]]:
        query = select(discount_codes).order_by(discount_codes.c.id)
        if unredeemed_only:
            query = query.where(discount_codes.c.redeemed_at.is_(None))
        return [dict(row._mapping) for row in self.connection.execute(query)]
