from __future__ import annotations

from retain.bootstrap import App
from retain.ingest.reader import read_orders
from retain.service.imports import import_orders
from tests.conftest import DATA
from tests.signin import member


def test_the_home_page_shows_the_store_figures(sqlite_app: App) -> None:
    import_orders(read_orders(DATA / "shopify" / "orders_export.csv"), sqlite_app.unit_of_work())
    page = member(sqlite_app).get("/")
    assert page.status_code == 200
    assert 'data-figure="customers">3<' in page.text
    assert 'data-figure="orders">3<' in page.text
    assert 'data-figure="revenue">USD 98.05<' in page.text
    assert 'data-figure="date-range">2025-01-15 to 2025-03-10<' in page.text
    assert "No orders imported yet" not in page.text


def test_an_empty_store_says_how_to_import(sqlite_app: App) -> None:
    page = member(sqlite_app).get("/")
    assert "No orders imported yet" in page.text
    assert "retain import orders" in page.text


def test_styles_are_served_from_the_package(sqlite_app: App) -> None:
    client = member(sqlite_app)
    page = client.get("/")
    assert "http" not in page.text  # nothing from a CDN or any other host
    assert 'href="/static/retain.css"' in page.text
    assert client.get("/static/retain.css").status_code == 200
