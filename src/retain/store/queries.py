"""Read-side queries the CLI and dashboard share."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from retain.domain.summary import StoreSummary
from retain.store.tables import customers, orders


def store_summary(engine: Engine) -> StoreSummary:
    kept = orders.c.cancelled_at.is_(None)
    with engine.connect() as connection:
        customer_count = connection.scalar(select(func.count()).select_from(customers)) or 0
        order_count, first, last = connection.execute(
            select(func.count(), func.min(orders.c.placed_at), func.max(orders.c.placed_at)).where(kept)
        ).one()
        revenue = connection.execute(
            select(orders.c.currency, func.sum(orders.c.total - orders.c.refunded))
            .where(kept)
            .group_by(orders.c.currency)
        ).all()
    return StoreSummary(
        customers=customer_count,
        orders=order_count,
        revenue={currency: int(amount) for currency, amount in revenue},
        first_order_at=first,
        last_order_at=last,
    )


def store_currency(engine: Engine) -> str | None:
    """The currency most orders were placed in, or None before any import."""
    with engine.connect() as connection:
        return connection.scalar(
            select(orders.c.currency).group_by(orders.c.currency).order_by(func.count().desc()).limit(1)
        )
