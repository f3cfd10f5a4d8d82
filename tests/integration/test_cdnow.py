"""The CDNOW data set imports with its published counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from retain.bootstrap import App
from retain.ingest.reader import read_orders
from retain.service.imports import import_orders
from retain.store.tables import customers, orders
from tests.conftest import DATA


@pytest.mark.parametrize(
    ("name", "customer_count", "order_count", "revenue_cents"),
    [("CDNOW_master.txt", 23_570, 69_659, None), ("CDNOW_sample.txt", 2_357, 6_919, None)],
)
def test_cdnow_files_import_with_their_published_counts(
    app: App, name: str, customer_count: int, order_count: int, revenue_cents: int | None
) -> None:
    parsed = read_orders(DATA / "cdnow" / name)
    assert parsed.format == "cdnow"
    result = import_orders(parsed, app.unit_of_work())
    assert result.counts.customers_created == customer_count
    assert result.counts.orders_created == order_count
    with app.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(customers)) == customer_count
        assert connection.scalar(select(func.count()).select_from(orders)) == order_count
        first, last = connection.execute(
            select(func.min(orders.c.placed_at), func.max(orders.c.placed_at))
        ).one()
    assert first == datetime(1997, 1, 1, tzinfo=UTC)
    assert (last.year, last.month) == (1998, 6)


def test_the_sample_keys_customers_by_their_master_id(sqlite_app: App) -> None:
    app = sqlite_app
    import_orders(read_orders(DATA / "cdnow" / "CDNOW_sample.txt"), app.unit_of_work())
    with app.engine.connect() as connection:
        rows = connection.execute(
            select(orders.c.placed_at, orders.c.total, orders.c.item_count)
            .join(customers)
            .where(customers.c.external_id == "00004")
            .order_by(orders.c.placed_at)
        ).all()
    # The sample's first lines: 00004 0001 19970101 2 29.33 / 19970118 2 29.73 / 19970802 1 14.96
    assert [(r.placed_at.date().isoformat(), r.total, r.item_count) for r in rows[:3]] == [
        ("1997-01-01", 2933, 2), ("1997-01-18", 2973, 2), ("1997-08-02", 1496, 1),
    ]  # fmt: skip
