"""What each exported cell says: Polars expressions from the generator's integer codes to text."""

from __future__ import annotations

import polars as pl

from retain.demo.addresses import CITIES, STATES, STREETS
from retain.demo.catalog import Catalog
from retain.demo.people import DOMAINS, FIRST_NAMES, LAST_NAMES
from retain.demo.settlement import (
    CODE_ALPHABET,
    CODE_SUFFIX_LENGTH,
    CODES,
    NOTES,
    PAYMENT_METHODS,
    POS,
    SHIPPING_METHODS,
    SOURCE_TAGS,
    SOURCES,
    STATUSES,
    UNIQUE_CODES,
)
from retain.demo.text import either, lookup, money, slug, timestamp, yes_no, zero_padded

CURRENCY = "USD"


def order_cells() -> dict[str, pl.Expr]:
    """The cells an order's first row carries and its later rows leave empty."""
    return _order_values() | _address_cells() | _payment_cells()


def line_cells(catalog: Catalog) -> dict[str, pl.Expr]:
    product = pl.col("product")
    flags = tuple("true" if ships else "false" for ships in catalog.ships.tolist())
    return {
        "Name": pl.format("#{}", pl.col("order_number")),
        "Lineitem quantity": pl.col("quantity").cast(pl.String),
        "Lineitem name": lookup(catalog.titles, product),
        "Lineitem price": lookup(catalog.prices, product),
        "Lineitem sku": lookup(catalog.skus, product),
        "Lineitem requires shipping": lookup(flags, product),
        "Lineitem taxable": lookup(flags, product),
        "Lineitem fulfillment status": either(pl.col("fulfilled"), "fulfilled", "pending"),
        "Vendor": lookup(catalog.vendors, product),
        "Lineitem discount": money(pl.col("line_discount")),
    }


def _order_values() -> dict[str, pl.Expr]:
    fulfilled = pl.col("fulfilled_at") >= 0
    return {
        "Email": email(),
        "Financial Status": lookup(STATUSES, pl.col("status")),
        "Paid at": timestamp("paid_at"),
        "Fulfillment Status": either(fulfilled, "fulfilled", "unfulfilled"),
        "Fulfilled at": timestamp("fulfilled_at"),
        "Accepts Marketing": yes_no(pl.col("consent")),
        "Currency": pl.lit(CURRENCY),
        "Subtotal": money(pl.col("subtotal")),
        "Shipping": money(pl.col("shipping")),
        "Taxes": money(pl.col("tax")),
        "Total": money(pl.col("total")),
        "Discount Code": _discount_code(),
        "Discount Amount": money(pl.col("discount")),
        "Shipping Method": lookup(SHIPPING_METHODS, pl.col("method")),
        "Created at": timestamp("created"),
        "Notes": lookup(NOTES, pl.col("note")),
        "Cancelled at": timestamp("cancelled_at"),
        "Refunded Amount": money(pl.col("refunded")),
        "Id": pl.col("order_id").cast(pl.String),
        "Tags": lookup(SOURCE_TAGS, pl.col("source")),
        "Source": lookup(SOURCES, pl.col("source")),
        "Billing Phone": phone(),
        "Tax 1 Name": _tax_name(),
        "Tax 1 Value": pl.when(pl.col("tax") > 0).then(money(pl.col("tax"))),
    }


def _address_cells() -> dict[str, pl.Expr]:
    state = pl.col("state")
    unit = pl.col("unit")
    street = pl.format("{} {}", pl.col("street_number"), lookup(STREETS, pl.col("street")))
    zip_code = pl.concat_str(lookup([s.zip_prefix for s in STATES], state), zero_padded(pl.col("zip"), 3))
    apartment = pl.when(unit >= 0).then(pl.format("Apt {}", unit))
    return {
        "Billing Name": _full_name(),
        "Billing Street": pl.concat_str(street, apartment, separator=", ", ignore_nulls=True),
        "Billing Address1": street,
        "Billing Address2": apartment,
        "Billing City": lookup(CITIES, pl.col("city")),
        "Billing Zip": zip_code,
        "Billing Province": lookup([s.code for s in STATES], state),
        "Billing Country": pl.lit("US"),
        "Billing Province Name": lookup([s.name for s in STATES], state),
    }


def _payment_cells() -> dict[str, pl.Expr]:
    pos = pl.col("source") == POS
    reference = pl.format("c{}.1", pl.col("order_id") // 1000)
    return {
        "Payment Method": lookup(PAYMENT_METHODS, pl.col("payment")),
        "Payment Reference": reference,
        "Outstanding Balance": pl.lit("0.00"),
        "Employee": pl.when(pos).then(pl.lit("Sam Rivera")),
        "Location": pl.when(pos).then(pl.lit("Saturday Market Stall")),
        "Risk Level": pl.lit("Low"),
    }


def birthday() -> pl.Expr:
    days = pl.col("birthday")  # since 1970, or -1 when the customer never told
    return pl.when(days >= 0).then(days.cast(pl.Date).dt.strftime("%Y-%m-%d"))


def _full_name() -> pl.Expr:
    return pl.format("{} {}", lookup(FIRST_NAMES, pl.col("first")), lookup(LAST_NAMES, pl.col("last")))


def email() -> pl.Expr:
    first = lookup([slug(name, "") for name in FIRST_NAMES], pl.col("first"))
    last = lookup([slug(name, "") for name in LAST_NAMES], pl.col("last"))
    return pl.format("{}.{}.{}@{}", first, last, pl.col("number"), lookup(DOMAINS, pl.col("domain")))


def phone() -> pl.Expr:
    # 555-0100 to 555-0199 are reserved for fiction, so no real person gets a call.
    area = lookup([s.area_code for s in STATES], pl.col("state"))
    number = pl.format("+1{}55501{}", area, zero_padded(pl.col("phone"), 2))
    return pl.when(pl.col("phone") >= 0).then(number)


def _tax_name() -> pl.Expr:
    names = [f"{s.code} State Tax {s.tax_basis_points / 100:g}%" for s in STATES]
    return pl.when(pl.col("tax") > 0).then(lookup(names, pl.col("state")))


def _discount_code() -> pl.Expr:
    serial = pl.col("code_serial")
    base = len(CODE_ALPHABET)
    suffix = pl.concat_str(
        [lookup(list(CODE_ALPHABET), serial // base**k % base) for k in range(CODE_SUFFIX_LENGTH)]
    )
    code = lookup(CODES, pl.col("code"))
    unique = pl.col("code").is_in(list(UNIQUE_CODES))
    return pl.when(unique).then(pl.concat_str(code, suffix)).otherwise(code)
