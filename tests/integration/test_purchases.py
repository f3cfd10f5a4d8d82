"""What recommendations learn from, read the same way from SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select

from retain.analytics.engine import PURCHASES_SCHEMA, read_purchases
from retain.bootstrap import App
from retain.ingest.reader import read_orders
from retain.service.imports import import_orders
from retain.store.tables import order_lines, orders
from tests.conftest import DATA


def test_purchases_are_the_product_lines_of_orders_not_cancelled(app: App) -> None:
    import_orders(read_orders(DATA / "shopify" / "orders_export.csv"), app.unit_of_work())
    purchases = read_purchases(app.url)
    assert purchases.schema == PURCHASES_SCHEMA
    with app.engine.connect() as connection:
        expected = connection.scalar(
            select(func.count())
            .select_from(order_lines.join(orders, orders.c.id == order_lines.c.order_id))
            .where(orders.c.cancelled_at.is_(None), order_lines.c.product_id.is_not(None))
        )
        first = connection.execute(
            select(orders.c.customer_id, orders.c.placed_at).order_by(orders.c.placed_at)
        ).first()
    assert expected
    assert purchases.num_rows == expected
    assert first is not None
    earliest = min(purchases["placed_at"].to_pylist())
    assert earliest == first.placed_at.replace(tzinfo=None)  # UTC, without a zone
