"""Writing the store: Shopify's order export, a customers file and Shopify's product export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from retain.demo.addresses import STATES
from retain.demo.arrays import BoolArray, IntArray
from retain.demo.catalog import Catalog
from retain.demo.categories import CATEGORIES
from retain.demo.columns import birthday, email, line_cells, order_cells, phone
from retain.demo.orders import Lines
from retain.demo.people import BREW_METHODS, FIRST_NAMES, LAST_NAMES, ROASTS
from retain.demo.settlement import FIRST_ORDER_NUMBER
from retain.demo.text import lookup, slug, yes_no, zero_padded

ORDERS_FILE = "orders_export.csv"
CUSTOMERS_FILE = "customers.csv"
PRODUCTS_FILE = "products_export.csv"
ORDER_HEADER: tuple[str, ...] = (  # Shopify's order export, column for column
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
    "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street", "Billing Address1",
    "Billing Address2", "Billing Company", "Billing City", "Billing Zip", "Billing Province",
    "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street", "Shipping Address1",
    "Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip", "Shipping Province",
    "Shipping Country", "Shipping Phone", "Notes", "Note Attributes", "Cancelled at", "Payment Method",
    "Payment Reference", "Refunded Amount", "Vendor", "Outstanding Balance", "Employee", "Location",
    "Device ID", "Id", "Tags", "Risk Level", "Source", "Lineitem discount", "Tax 1 Name", "Tax 1 Value",
    "Tax 2 Name", "Tax 2 Value", "Tax 3 Name", "Tax 3 Value", "Tax 4 Name", "Tax 4 Value", "Tax 5 Name",
    "Tax 5 Value", "Phone", "Receipt Number", "Duties", "Billing Province Name", "Shipping Province Name",
    "Payment ID", "Payment Terms Name", "Next Payment Due At", "Payment References",
)  # fmt: skip
_WRITE_BATCH = 100_000  # orders formatted at a time
# Export columns that repeat another column of the same row.
_COPIES = {
    "Phone": "Billing Phone",
    "Payment References": "Payment Reference",
    **{
        f"Shipping {part}": f"Billing {part}"
        for part in ("Name", "Street", "Address1", "Address2", "City", "Zip", "Province", "Country", "Phone")
    },
    "Shipping Province Name": "Billing Province Name",
}


def write_orders(
    path: Path,
    lines: Lines,
    order_frame: pl.DataFrame,
    customer_frame: pl.DataFrame,
    buyer: IntArray,
    catalog: Catalog,
) -> None:
    """Write slices of orders one after another, so memory stays flat however big the store."""
    count = order_frame.height
    fulfilled = order_frame["fulfilled_at"].to_numpy() >= 0
    with path.open("wb") as sink:
        for batch, low in enumerate(range(0, max(count, 1), _WRITE_BATCH)):  # once even with no orders
            first, end = np.searchsorted(lines.order, [low, min(low + _WRITE_BATCH, count)])
            taken = slice(int(first), int(end))
            order_slice = pl.concat(
                [order_frame.slice(low, _WRITE_BATCH), customer_frame[buyer[low : low + _WRITE_BATCH]]],
                how="horizontal",
            )
            line_slice = _line_slice(lines, taken, low, fulfilled)
            _export_rows(line_slice, order_slice, catalog).write_csv(sink, include_header=batch == 0)


def _line_slice(lines: Lines, taken: slice, first_order: int, fulfilled: BoolArray) -> pl.DataFrame:
    order = lines.order[taken]
    return pl.DataFrame(
        {
            "order": order - first_order,  # position within the slice of orders
            "order_number": order + FIRST_ORDER_NUMBER,
            "product": lines.product[taken],
            "quantity": lines.quantity[taken],
            "line_discount": lines.discount[taken],
            "fulfilled": fulfilled[order],
        }
    )


def _export_rows(line_slice: pl.DataFrame, order_slice: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Export rows for a slice: line cells on every row, order cells on each order's first row."""
    order_text = order_slice.select([expr.alias(name) for name, expr in order_cells().items()])
    order = pl.col("order")
    first_row = order != order.shift(1).fill_null(-1)
    line_text = line_slice.select(
        *[expr.alias(name) for name, expr in line_cells(catalog).items()],
        pl.when(first_row).then(order).cast(pl.UInt32).alias("__first_of"),
    )
    # Gathering with a null index gives a row of nulls: the empty order cells of later rows.
    rows = pl.concat([line_text, order_text[line_text["__first_of"]]], how="horizontal")
    return rows.select(_export_column(name, rows.columns) for name in ORDER_HEADER)


def _export_column(name: str, available: list[str]) -> pl.Expr:
    if name in available:
        return pl.col(name)
    if name in _COPIES:
        return pl.col(_COPIES[name]).alias(name)
    return pl.lit(None, pl.String).alias(name)


def customer_table(buyers: pl.DataFrame) -> pl.DataFrame:
    # Numbered in order of first purchase, so C000001 is the store's first customer.
    return buyers.with_row_index("rank", offset=1).select(
        pl.format("C{}", zero_padded(pl.col("rank"), 6)).alias("customer_id"),
        email().alias("email"),
        lookup(FIRST_NAMES, pl.col("first")).alias("first_name"),
        lookup(LAST_NAMES, pl.col("last")).alias("last_name"),
        phone().alias("phone"),
        birthday().alias("birthday"),
        lookup([s.timezone for s in STATES], pl.col("state")).alias("timezone"),
        yes_no(pl.col("consent")).alias("accepts_marketing"),
        lookup(ROASTS, pl.col("roast")).alias("preferred_roast"),
        lookup(BREW_METHODS, pl.col("brew")).alias("brew_method"),
    )


def product_table(catalog: Catalog) -> pl.DataFrame:
    category = catalog.category.tolist()
    return pl.DataFrame(
        {
            "Handle": [slug(title, "-") for title in catalog.titles],
            "Title": catalog.titles,
            "Body (HTML)": [f"<p>{CATEGORIES[c].blurb}</p>" for c in category],
            "Vendor": catalog.vendors,
            "Type": [CATEGORIES[c].name for c in category],
            "Tags": [CATEGORIES[c].tags for c in category],
            "Published": ["true"] * catalog.size,
            "Variant SKU": catalog.skus,
            "Variant Price": catalog.prices,
            "Status": ["active"] * catalog.size,
        }
    )
