"""Any CSV of orders or order lines, with a column mapping the user can override.

Without ``--map``, columns are recognised by common names (``order_id``, ``date``,
``amount``...). Rows sharing an order id are the lines of one order; without an order id,
each row is an order identified by its customer, its date and its rank among that
customer's rows of the same date, so re-importing the file finds the same orders.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from retain.ingest.canonical import FIELDS, ParseSpec, canonical, first_row_of_order
from retain.ingest.columns import match_columns
from retain.ingest.files import ImportFileError
from retain.ingest.table import RECORD, read_strings

NAME = "csv"

ALIASES: dict[str, tuple[str, ...]] = {
    "order_key": (
        "order_id",
        "order id",
        "order",
        "order_number",
        "order number",
        "invoice",
        "invoiceno",
        "invoice_id",
        "transaction_id",
    ),
    "customer_id": ("customer_id", "customer id", "customer", "customer_number", "client_id", "user_id"),
    "email": ("email", "e-mail", "customer_email", "email_address"),
    "name": ("name", "customer_name", "full_name"),
    "phone": ("phone", "phone_number", "telephone"),
    "accepts_marketing": ("accepts_marketing", "marketing_consent", "opt_in"),
    "placed_at": (
        "placed_at",
        "order_date",
        "date",
        "created_at",
        "invoicedate",
        "invoice_date",
        "timestamp",
        "purchase_date",
    ),
    "currency": ("currency", "currency_code"),
    "subtotal": ("subtotal",),
    "discounts": ("discounts", "discount", "discount_amount"),
    "shipping": ("shipping", "shipping_amount"),
    "tax": ("tax", "taxes", "vat"),
    "total": ("total", "order_total", "amount", "revenue", "sales", "value"),
    "refunded": ("refunded", "refunded_amount", "refund"),
    "financial_status": ("financial_status", "status", "payment_status"),
    "paid_at": ("paid_at",),
    "cancelled_at": ("cancelled_at", "canceled_at"),
    "discount_codes": ("discount_codes", "discount_code", "coupon"),
    "tags": ("tags",),
    "source": ("source", "channel"),
    "item_count": ("item_count", "items"),
    "sku": ("sku", "product_id", "stockcode", "stock_code", "item_id"),
    "title": ("product", "product_name", "title", "description", "item", "item_name"),
    "category": ("category", "product_category", "product_type"),
    "quantity": ("quantity", "qty"),
    "unit_price": ("unit_price", "price", "unitprice", "item_price"),
    "line_discount": ("line_discount",),
}

# Tried in order; the first that reads every sampled date wins.
DATE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M:%S%#z",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S%#z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y%m%d",
    "%Y/%m/%d",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d-%m-%Y",
)


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``["customer_id=Id", "total=Price"]`` -> ``{"customer_id": "Id", "total": "Price"}``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        field, column = field.strip(), column.strip()
        if not sep or not field or not column:
            raise ImportFileError(f"--map {pair!r}: expected FIELD=COLUMN, for example total=Price")
        if field not in FIELDS:
            raise ImportFileError(f"--map {pair!r}: unknown field {field!r}; fields are: {', '.join(FIELDS)}")
        mapping[field] = column
    return mapping


def detect_date_format(values: pl.Series, column: str) -> str:
    """The format that reads the most sampled dates; rows it cannot read are reported as bad."""
    cleaned = values.drop_nulls().str.strip_chars()
    sample = cleaned.filter(cleaned != "").head(2000)
    if sample.len() == 0:
        raise ImportFileError(f"column {column!r} has no dates")
    read = {f: sample.len() - sample.str.to_datetime(f, strict=False).null_count() for f in DATE_FORMATS}
    most = max(read.values())
    if most == 0:
        raise ImportFileError(
            f"could not recognise the date format of column {column!r} (e.g. {sample[0]!r}); "
            "pass --date-format, for example --date-format '%d %b %Y'"
        )
    best = [f for f in DATE_FORMATS if read[f] == most]
    if best[0][:2] in ("%d", "%m") and {f[:2] for f in best} >= {"%d", "%m"}:
        raise ImportFileError(
            f"dates in {column!r} read both day-first and month-first (e.g. {sample[0]!r}); "
            "pass --date-format, for example --date-format %d/%m/%Y"
        )
    return best[0]


def read(
    source: Path,
    header: list[str],
    delimiter: str,
    mapping: dict[str, str],
    *,
    date_format: str | None,
    timezone: str,
    currency: str | None,
) -> tuple[pl.DataFrame, ParseSpec]:
    unknown = [c for c in mapping.values() if c not in header]
    if unknown:
        raise ImportFileError(
            f"--map names column(s) not in the file: {', '.join(unknown)}; the file has: {', '.join(header)}"
        )
    sources = match_columns(header, {f: a for f, a in ALIASES.items() if f not in mapping}) | mapping
    if "placed_at" not in sources:
        raise ImportFileError("no order date column found; map one with --map placed_at=COLUMN")
    if "customer_id" not in sources and "email" not in sources:
        raise ImportFileError(
            "no customer column found; map one with --map customer_id=COLUMN or --map email=COLUMN"
        )
    if "total" not in sources and "unit_price" not in sources:
        raise ImportFileError(
            "no amount column found; map one with --map total=COLUMN (or unit_price=COLUMN)"
        )
    if "currency" not in sources and currency is None:
        raise ImportFileError("the file has no currency column; pass --currency, for example --currency USD")
    frame = read_strings(source, header, list(dict.fromkeys(sources.values())), delimiter)
    if date_format is None:
        date_format = detect_date_format(frame[sources["placed_at"]], sources["placed_at"])
    if "order_key" not in sources:
        customer = pl.coalesce(*(pl.col(sources[f]) for f in ("customer_id", "email") if f in sources))
        day = pl.col(sources["placed_at"])
        rank = pl.col(RECORD).rank("ordinal").over(customer, day).cast(pl.String)
        frame = frame.with_columns(pl.concat_str(customer, day, rank, separator="/").alias("__order_key"))
        sources["order_key"] = "__order_key"
    spec = ParseSpec(
        date_format=date_format,
        timezone=timezone,
        default_currency=currency,
        required=frozenset({"placed_at"}),
        labels=dict(sources),
    )
    return canonical(frame, sources, first_row_of_order(sources["order_key"])), spec
