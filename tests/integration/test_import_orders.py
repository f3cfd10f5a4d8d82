"""The order importer against a real database: SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from retain.bootstrap import App
from retain.ingest.reader import ReadOptions, read_orders
from retain.service.imports import InvalidRowsError, import_orders
from retain.store import bulk
from retain.store.tables import customer_events, customers, order_lines, orders, products
from tests.conftest import DATA

SHOPIFY = DATA / "shopify" / "orders_export.csv"
UPDATED = DATA / "shopify" / "orders_export_updated.csv"


def load(app: App, path: Path, **kwargs: object) -> object:
    return import_orders(read_orders(path), app.unit_of_work(), **kwargs)  # type: ignore[arg-type]


def count(app: App, table: object) -> int:
    with app.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


def snapshot(app: App) -> dict[str, int]:
    return {t.name: count(app, t) for t in (customers, products, orders, order_lines)}


def test_a_shopify_export_becomes_customers_orders_and_lines(app: App) -> None:
    load(app, SHOPIFY)
    assert snapshot(app) == {"customers": 3, "products": 4, "orders": 4, "order_lines": 6}
    with app.engine.connect() as connection:
        first = connection.execute(select(orders).where(orders.c.external_id == "5100000001")).one()
        maria = connection.execute(
            select(customers).where(customers.c.email == "maria.garcia@example.com")
        ).one()
    assert first.placed_at == datetime(2025, 1, 15, 14, 12, 47, tzinfo=UTC)
    assert (first.subtotal, first.taxes if hasattr(first, "taxes") else first.tax, first.total) == (
        5200,
        416,
        5616,
    )
    assert first.item_count == 3
    # Maria's consent comes from her newest order, which said no.
    assert maria.marketing_consent is False
    assert maria.consent_at == datetime(2025, 3, 10, 17, 0, tzinfo=UTC)
    assert maria.created_at == datetime(2025, 1, 15, 14, 12, 47, tzinfo=UTC)


def test_cancelled_and_refunded_orders_keep_their_state(app: App) -> None:
    load(app, SHOPIFY)
    with app.engine.connect() as connection:
        rows = {r.external_id: r for r in connection.execute(select(orders))}
    assert rows["5100000004"].cancelled_at == datetime(2025, 3, 11, 1, 0, tzinfo=UTC)
    assert rows["5100000003"].refunded == 1400
    assert rows["5100000003"].financial_status == "partially_refunded"
    assert rows["5100000002"].discount_codes == "WELCOME10"


def test_importing_the_same_file_twice_changes_nothing(app: App) -> None:
    load(app, SHOPIFY)
    before = snapshot(app)
    result = load(app, SHOPIFY)
    assert snapshot(app) == before
    counts = result.counts  # type: ignore[attr-defined]
    assert (counts.orders_created, counts.orders_updated, counts.orders_unchanged) == (0, 0, 4)
    assert (counts.customers_created, counts.customers_updated, counts.lines_written) == (0, 0, 0)


def test_an_updated_export_updates_changed_orders_only(app: App) -> None:
    load(app, SHOPIFY)
    result = load(app, UPDATED)
    counts = result.counts  # type: ignore[attr-defined]
    assert (counts.orders_created, counts.orders_updated, counts.orders_unchanged) == (1, 1, 3)
    with app.engine.connect() as connection:
        refunded = connection.execute(select(orders).where(orders.c.external_id == "5100000002")).one()
        john = connection.execute(
            select(customers).where(customers.c.email == "john.smith@example.org")
        ).one()
    assert (refunded.financial_status, refunded.refunded) == ("refunded", 1507)
    assert john.marketing_consent is True  # his newer order opted in
    assert snapshot(app) == {"customers": 3, "products": 4, "orders": 5, "order_lines": 7}


def test_a_file_with_bad_rows_commits_nothing(app: App) -> None:
    with pytest.raises(InvalidRowsError) as caught:
        load(app, DATA / "malformed" / "bad_date.csv")
    assert [(e.line, e.reason) for e in caught.value.errors] == [
        (5, "unreadable date in Created at: '2025-02-30 10:00:00 +0100'")
    ]
    assert snapshot(app) == {"customers": 0, "products": 0, "orders": 0, "order_lines": 0}


def test_skipping_invalid_rows_imports_the_rest_and_reports_rejects(app: App, tmp_path: Path) -> None:
    written = []
    result = load(
        app, DATA / "malformed" / "negative_quantity.csv", skip_invalid=True, write_rejects=written.append
    )
    assert result.rows_rejected == 2  # type: ignore[attr-defined]
    assert count(app, orders) == 3
    rejects = written[0]
    assert rejects["line"].to_list() == [2, 4]
    assert rejects["reason"].to_list() == [
        "another row of order 5100000001 is invalid",
        "negative quantity in Lineitem quantity: -1",
    ]
    assert rejects["Lineitem name"].to_list() == ["Ethiopia Yirgacheffe 250g", "Ceramic Pour-Over Dripper"]


def test_a_failure_while_writing_leaves_the_database_as_it_was(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(app, SHOPIFY)
    before = snapshot(app)

    def crash(*args: object) -> None:
        raise KeyboardInterrupt  # as when Ctrl-C lands after orders were written

    monkeypatch.setattr(bulk.BulkOrderWriter, "_lines", crash)
    with pytest.raises(KeyboardInterrupt):
        load(app, UPDATED)
    assert snapshot(app) == before
    with app.engine.connect() as connection:
        status = connection.scalar(
            select(orders.c.financial_status).where(orders.c.external_id == "5100000002")
        )
    assert status == "paid"


def test_a_generic_csv_of_order_lines_is_read_through_a_mapping(app: App, tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_text(
        "Invoice;Client;Day;Article;Qty;Price\n"
        "A-1;C7;31/01/2025;Mug;2;9,50\n"
        "A-1;C7;31/01/2025;Tea;1;4,00\n"
        "A-2;C8;01/02/2025;Mug;1;9,50\n".replace("9,50", "9.50").replace("4,00", "4.00"),
        encoding="utf-8",
    )
    options = ReadOptions(
        mapping={"order_key": "Invoice", "customer_id": "Client", "placed_at": "Day", "title": "Article",
                 "quantity": "Qty", "unit_price": "Price"},
        currency="EUR", timezone="Europe/Paris", date_format="%d/%m/%Y",
    )  # fmt: skip
    import_orders(read_orders(path, "csv", options), app.unit_of_work())
    with app.engine.connect() as connection:
        rows = connection.execute(select(orders).order_by(orders.c.external_id)).all()
    assert [(r.external_id, r.total, r.currency, r.item_count) for r in rows] == [
        ("A-1", 2300, "EUR", 3),
        ("A-2", 950, "EUR", 1),
    ]
    assert rows[0].placed_at == datetime(2025, 1, 30, 23, 0, tzinfo=UTC)


def test_a_generic_csv_without_order_ids_is_still_idempotent(app: App, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "customer_id,date,amount\n1,2025-01-01,10.00\n1,2025-01-01,12.00\n2,2025-01-02,5.00\n",
        encoding="utf-8",
    )
    for _ in range(2):
        import_orders(read_orders(path, options=ReadOptions(currency="USD")), app.unit_of_work())
    assert count(app, orders) == 3
    assert count(app, customers) == 2


def events(app: App) -> list[tuple[str, str, int]]:
    with app.engine.connect() as connection:
        rows = connection.execute(
            select(customer_events.c.event, customer_events.c.ref, customer_events.c.customer_id).order_by(
                customer_events.c.id
            )
        )
        return [(event, ref, customer) for event, ref, customer in rows]


def test_an_export_that_shows_a_payment_or_a_refund_records_it_once_for_the_flows(
    app: App, tmp_path: Path
) -> None:
    pending = tmp_path / "pending.csv"
    pending.write_text(
        SHOPIFY.read_text(encoding="utf-8").replace(
            "#1002,john.smith@example.org,paid,2025-02-01 18:40:10 +0100,",
            "#1002,john.smith@example.org,pending,,",
        ),
        encoding="utf-8",
    )
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    load(app, pending, now=at)
    assert events(app) == []  # a first import is history, not news
    load(app, SHOPIFY, now=at)
    with app.engine.connect() as connection:
        order = connection.execute(select(orders).where(orders.c.external_id == "5100000002")).one()
        when = connection.scalar(select(customer_events.c.at))
    assert events(app) == [("order_paid", str(order.id), order.customer_id)]
    assert when is not None
    assert when.replace(tzinfo=UTC) == at
    result = load(app, UPDATED, now=at)
    assert [(c.newly_paid, c.refunded_before, c.refunded_now) for c in result.counts.changes] == [  # type: ignore[attr-defined]
        (False, 0, 1507)
    ]
    refund = ("refunded", f"{order.id}:import:1507", order.customer_id)
    assert events(app) == [("order_paid", str(order.id), order.customer_id), refund]
    load(app, UPDATED, now=at)
    load(app, SHOPIFY, now=at)  # an older export again: a smaller refund is no news
    load(app, UPDATED, now=at)  # and the same refund seen anew is the same event
    assert events(app) == [("order_paid", str(order.id), order.customer_id), refund]
