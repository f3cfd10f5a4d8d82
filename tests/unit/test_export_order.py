"""An export whose orders' rows are listed together takes the import's faster paths (each
order's id, currency, line places and totals read off its first row's run); one whose rows
are mixed takes the general ones. Both must read the same orders."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from retain.demo.generator import generate_store
from retain.ingest.reader import read_orders
from retain.service.batch import OrderBatch


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("store")
    return generate_store(folder, customers=150, seed=11).orders_csv


def _mixed(export: Path, out: Path) -> Path:
    """The same rows with the orders taken in pairs and the second one's first row moved up
    behind the first one's: A1 B1 A2 B2 rather than A1 A2 B1 B2. Every order's first row
    still leads its other rows, and the orders' first rows keep their order."""
    with export.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    name = header.index("Name")
    orders: dict[str, list[list[str]]] = {}
    for row in rows:
        orders.setdefault(row[name], []).append(row)
    groups = list(orders.values())
    mixed: list[list[str]] = []
    for first, second in zip(groups[::2], groups[1::2], strict=False):
        mixed += [first[0], second[0], *first[1:], *second[1:]]
    if len(groups) % 2:
        mixed += groups[-1]
    with out.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *mixed])
    return out


def _frames(batch: OrderBatch) -> dict[str, pl.DataFrame]:
    return {
        "customers": batch.customers.sort("customer_key"),
        "products": batch.products.sort("product_key"),
        "orders": batch.orders.sort("external_id"),
        "lines": batch.lines.sort("order_external_id", "position"),
    }


def test_an_export_with_each_orders_rows_together_reads_as_one_with_them_mixed(
    export: Path, tmp_path: Path
) -> None:
    together = read_orders(export, "shopify")
    mixed = read_orders(_mixed(export, tmp_path / "mixed.csv"), "shopify")
    assert together.rejects.height == mixed.rejects.height == 0
    assert together.batch.orders.height > 100
    assert together.batch.lines.height > together.batch.orders.height  # orders of several lines
    for name, frame in _frames(together.batch).items():
        other = _frames(mixed.batch)[name]
        assert frame.equals(other), name
