"""A deterministic synthetic store: Kettle & Crema, a specialty coffee and tea shop.

Customers follow the BG/NBD story (buy till you die): each has a Gamma-distributed purchase
rate and, after every purchase, a Beta-distributed chance of never coming back. Purchases
happen in "operational time", which runs faster in November and December and slower in
summer, so mapping it back to the calendar gives seasonality without any per-order logic.

Everything is drawn as whole numpy arrays from one ``numpy.random.default_rng(seed)`` and
written through Polars, so a million line items take seconds and the same seed gives the
same bytes. Money is integer cents throughout so the totals add up exactly.

The stages draw from that one generator in turn, so the order of the calls below is part of
the output: reordering them changes every file for every seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from retain.demo.behaviour import simulate_customers
from retain.demo.catalog import build_catalog
from retain.demo.columns import CURRENCY
from retain.demo.export import (
    CUSTOMERS_FILE,
    ORDER_HEADER,
    ORDERS_FILE,
    PRODUCTS_FILE,
    customer_table,
    product_table,
    write_orders,
)
from retain.demo.orders import fill_orders, simulate_orders
from retain.demo.seasons import Calendar
from retain.demo.settlement import settle_orders
from retain.demo.text import STORE_OFFSET

__all__ = [
    "CURRENCY",
    "CUSTOMERS_FILE",
    "MAX_CUSTOMERS",
    "ORDERS_FILE",
    "ORDER_HEADER",
    "PRODUCTS_FILE",
    "STORE_OFFSET",
    "GeneratedStore",
    "generate_store",
]

MAX_CUSTOMERS = 1_000_000


@dataclass(frozen=True)
class GeneratedStore:
    orders_csv: Path  # Shopify order export format
    customers_csv: Path  # customers file
    products_csv: Path  # Shopify product export format
    customers: int  # customers who placed at least one order
    orders: int
    line_items: int


def generate_store(
    out_dir: Path,
    *,
    customers: int = 5000,
    seed: int = 7,
    start: date = date(2023, 1, 1),
    end: date = date(2025, 12, 31),
    max_line_items: int | None = None,
) -> GeneratedStore:
    """Write a believable store's orders, customers and products to ``out_dir``.

    ``max_line_items`` stops after that many line items, counting whole orders only, so the
    files may hold a few fewer; the earliest orders are the ones kept.
    """
    _check_arguments(customers, start, end, max_line_items)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    calendar = Calendar.build(start, end)
    catalog = build_catalog()
    people = simulate_customers(rng, customers, calendar, catalog)
    orders = simulate_orders(rng, people, calendar, max_line_items)
    orders, lines = fill_orders(rng, orders, people, catalog, max_line_items)
    order_frame = settle_orders(rng, orders, lines, people, catalog, calendar)
    paths = out_dir / ORDERS_FILE, out_dir / CUSTOMERS_FILE, out_dir / PRODUCTS_FILE
    write_orders(paths[0], lines, order_frame, people.frame, orders.customer, catalog)
    buyers = orders.customer[orders.first]  # in order of their first purchase
    customer_table(people.frame[buyers]).write_csv(paths[1])
    product_table(catalog).write_csv(paths[2])
    return GeneratedStore(*paths, customers=int(buyers.size), orders=orders.count, line_items=lines.count)


def _check_arguments(customers: int, start: date, end: date, max_line_items: int | None) -> None:
    if isinstance(customers, bool) or not isinstance(customers, int) or not 1 <= customers <= MAX_CUSTOMERS:
        raise ValueError(f"customers must be a whole number from 1 to {MAX_CUSTOMERS:,}, not {customers!r}")
    if not start < end:
        raise ValueError(f"start ({start}) must be before end ({end})")
    if max_line_items is not None and (
        isinstance(max_line_items, bool) or not isinstance(max_line_items, int) or max_line_items < 1
    ):
        raise ValueError(f"max_line_items must be a positive whole number or None, not {max_line_items!r}")
