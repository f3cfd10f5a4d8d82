"""Customer profiles and the product catalog, imported beside the orders."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from retain.bootstrap import App
from retain.ingest.directory import read_customers, read_products
from retain.ingest.reader import read_orders
from retain.service.imports import InvalidRowsError, import_customers, import_orders, import_products
from retain.store.tables import customers, products
from tests.conftest import DATA

CUSTOMERS = DATA / "directory" / "customers.csv"
PRODUCTS = DATA / "directory" / "products_export.csv"
AS_OF = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)


def load_orders(app: App) -> None:
    import_orders(read_orders(DATA / "shopify" / "orders_export.csv"), app.unit_of_work())


def rows(app: App, table: object) -> dict[str, object]:
    with app.engine.connect() as connection:
        return {r.email if table is customers else r.key: r for r in connection.execute(select(table))}  # type: ignore[arg-type]


def test_a_customer_file_enriches_the_customers_orders_created(app: App) -> None:
    load_orders(app)
    result = import_customers(read_customers(CUSTOMERS), app.unit_of_work(), AS_OF)
    assert (result.counts.customers_created, result.counts.customers_updated) == (1, 2)
    people = rows(app, customers)
    assert len(people) == 4  # Maria and John matched by e-mail, Ana is new; Li untouched
    maria = people["maria.garcia@example.com"]
    assert maria.external_id == "C-1"  # type: ignore[attr-defined]
    assert maria.birthday == date(1988, 4, 12)  # type: ignore[attr-defined]
    assert maria.timezone == "America/New_York"  # type: ignore[attr-defined]
    assert maria.attributes == {"Preferred roast": "light"}  # type: ignore[attr-defined]
    # The file states her consent now; it overrides the 'no' of her last order.
    assert maria.marketing_consent is True  # type: ignore[attr-defined]
    assert maria.consent_at == AS_OF  # type: ignore[attr-defined]
    assert maria.consent_source == "customer import"  # type: ignore[attr-defined]


def test_empty_cells_never_erase_what_is_known(app: App) -> None:
    load_orders(app)
    import_customers(read_customers(CUSTOMERS), app.unit_of_work(), AS_OF)
    john = rows(app, customers)["john.smith@example.org"]
    assert john.marketing_consent is False  # type: ignore[attr-defined]  # from his order: the file is silent
    assert john.consent_source == "order import"  # type: ignore[attr-defined]
    assert john.name == "John Smith"  # type: ignore[attr-defined]


def test_importing_a_customer_file_twice_changes_nothing(app: App) -> None:
    import_customers(read_customers(CUSTOMERS), app.unit_of_work(), AS_OF)
    again = import_customers(read_customers(CUSTOMERS), app.unit_of_work(), AS_OF)
    assert (again.counts.customers_created, again.counts.customers_updated) == (0, 0)


def test_orders_imported_after_profiles_find_the_same_customers(app: App) -> None:
    import_customers(read_customers(CUSTOMERS), app.unit_of_work(), AS_OF)
    load_orders(app)
    with app.engine.connect() as connection:
        assert len(connection.execute(select(customers.c.id)).all()) == 4  # no duplicate by e-mail
    people = rows(app, customers)
    assert sorted(people) == [
        "ana.lopez@example.net", "john.smith@example.org", "li.wei@example.net", "maria.garcia@example.com",
    ]  # fmt: skip
    assert json.dumps(people["maria.garcia@example.com"].attributes) == '{"Preferred roast": "light"}'  # type: ignore[attr-defined]
    # Her orders state consent earlier than the file did: the file's statement and its
    # source stay.
    assert people["maria.garcia@example.com"].consent_at == AS_OF  # type: ignore[attr-defined]
    assert people["maria.garcia@example.com"].consent_source == "customer import"  # type: ignore[attr-defined]


def test_bad_customer_rows_are_refused_with_their_line(tmp_path: Path, app: App) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "email,birthday,timezone,accepts_marketing\n"
        "a@example.com,1990-01-01,Mars/Olympus,yes\n"
        "not-an-email,1991-02-03,UTC,maybe\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidRowsError) as caught:
        import_customers(read_customers(path), app.unit_of_work(), AS_OF)
    assert [(e.line, e.reason) for e in caught.value.errors] == [
        (2, "unknown time zone 'Mars/Olympus'"),
        (3, "invalid e-mail 'not-an-email'; unreadable accepts_marketing: 'maybe'"),
    ]


def test_a_product_export_fills_the_catalog_with_categories(app: App) -> None:
    load_orders(app)
    result = import_products(read_products(PRODUCTS, "USD"), app.unit_of_work())
    catalog = rows(app, products)
    assert (result.counts.products_created, result.counts.products_updated) == (1, 3)
    # Variant rows inherit their product's title and type.
    assert catalog["COF-ETH-1KG"].title == "Ethiopia Yirgacheffe 250g"  # type: ignore[attr-defined]
    assert catalog["COF-ETH-1KG"].category == "Coffee"  # type: ignore[attr-defined]
    assert catalog["GEAR-DRIP"].price == 2600  # type: ignore[attr-defined]
    assert catalog["TEA-SEN-100"].category == "Tea"  # type: ignore[attr-defined]
    again = import_products(read_products(PRODUCTS, "USD"), app.unit_of_work())
    assert (again.counts.products_created, again.counts.products_updated) == (0, 0)
