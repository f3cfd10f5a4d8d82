"""Customer and product files: profiles (birthdays, time zones, preferences) and the catalog.

Customers: any CSV with a customer id or an e-mail per row, Shopify's customer export
included. Known columns (name or first/last name, phone, birthday, timezone,
accepts_marketing, created_at) fill the profile; every other column becomes a free
attribute, such as a zero-party preference the customer chose to share.

Products: Shopify's product export (variants share a Handle; title and type are on its
first row) or any CSV with sku/title/category/price. Type is the category.

A key that appears twice takes its last row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import available_timezones

import polars as pl

from retain.ingest.canonical import ParseSpec
from retain.ingest.columns import match_columns, normalize
from retain.ingest.files import ImportFileError, first_line, parse_header, read_head, sniff_delimiter
from retain.ingest.generic import detect_date_format
from retain.ingest.rejects import describe, split
from retain.ingest.table import BAD, read_strings
from retain.ingest.validate import POWER, POWER_OF, REASON, parse_amount, parse_datetime
from retain.service.batch import PRODUCT_SCHEMA, PROFILE_SCHEMA, ParsedFile

CUSTOMER_ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": ("customer_id", "customer id", "external_id", "id"),
    "email": ("email", "e-mail", "email_address"),
    "name": ("name", "full_name", "customer_name"),
    "first_name": ("first_name", "first name", "given_name"),
    "last_name": ("last_name", "last name", "family_name"),
    "phone": ("phone", "phone_number", "telephone"),
    "birthday": ("birthday", "birth_date", "date_of_birth", "dob"),
    "timezone": ("timezone", "time_zone", "tz"),
    "accepts_marketing": (
        "accepts_marketing",
        "accepts email marketing",
        "accepts marketing",
        "marketing_consent",
    ),
    "created_at": ("created_at", "customer_since", "signed_up_at"),
}
# Columns of Shopify's customer export that describe the account, not the person.
_NOT_ATTRIBUTES = ("default address", "total spent", "total orders", "tax exempt", "accepts sms marketing")
PRODUCT_ALIASES: dict[str, tuple[str, ...]] = {
    "handle": ("handle",),
    "sku": ("variant sku", "sku", "product_id"),
    "title": ("title", "product", "product_name", "name"),
    "category": ("type", "category", "product_type", "product category"),
    "price": ("variant price", "price", "unit_price"),
    "currency": ("currency",),
}
_TRUE = ("yes", "true", "1", "y", "subscribed")
_FALSE = ("no", "false", "0", "n", "unsubscribed", "not_subscribed")
_ZONES = sorted(available_timezones())


@dataclass(frozen=True)
class _Table:
    path: Path
    delimiter: str
    header: list[str]


def _open(path: Path) -> _Table:
    head = read_head(path)
    delimiter = sniff_delimiter(first_line(head))
    return _Table(path, delimiter, parse_header(head, delimiter))


def _reasons(*problems: tuple[pl.Expr, pl.Expr | str]) -> pl.Expr:
    texts = [
        pl.when(flag.fill_null(False)).then(pl.lit(t) if isinstance(t, str) else t) for flag, t in problems
    ]
    reason = pl.concat_str(texts, separator="; ", ignore_nulls=True)
    return pl.when(reason == "").then(None).otherwise(reason)


def _finish(
    table: _Table, checked: pl.DataFrame, fmt: str, key: str, noun: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    if BAD in checked.columns:
        checked = checked.with_columns(pl.coalesce(BAD, REASON).alias(REASON))
    rejects, good = split(checked, key, noun)
    return describe(rejects, table.path, table.delimiter), good.unique(key, keep="last", maintain_order=True)


def read_customers(path: Path, date_format: str | None = None) -> ParsedFile[pl.DataFrame]:
    """Profiles from ``path``; dates (birthday, created_at) in ``date_format`` or detected."""
    table = _open(path)
    sources = match_columns(table.header, CUSTOMER_ALIASES)
    if "customer_id" not in sources and "email" not in sources:
        raise ImportFileError(f"{path}: no customer id or e-mail column (expected customer_id or email)")
    attributes = [
        c for c in table.header
        if c and c not in sources.values() and not normalize(c).startswith(_NOT_ATTRIBUTES)
    ]  # fmt: skip
    frame = read_strings(
        path, table.header, [*dict.fromkeys([*sources.values(), *attributes])], table.delimiter
    )
    if frame.height == 0:
        raise ImportFileError(f"{path}: no rows below the header")
    checked = _check_customers(frame, sources, attributes, date_format)
    rejects, good = _finish(table, checked, "customers", "customer_key", "customer")
    profiles = good.select(list(PROFILE_SCHEMA)).cast(pl.Schema(PROFILE_SCHEMA))
    return ParsedFile("customers", frame.height, profiles, rejects)


def _column(sources: dict[str, str], field: str) -> pl.Expr:
    if field not in sources:
        return pl.lit(None, pl.String)
    text = pl.col(sources[field]).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _dates(
    frame: pl.DataFrame, sources: dict[str, str], field: str, date_format: str | None
) -> tuple[pl.Expr, pl.Expr]:
    if field not in sources or frame[sources[field]].drop_nulls().len() == 0:
        return pl.lit(None, pl.Datetime("us", "UTC")), pl.lit(False)
    chosen = date_format or detect_date_format(frame[sources[field]], sources[field])
    spec = ParseSpec(date_format=chosen)
    return parse_datetime(sources[field], spec)


def _check_customers(
    frame: pl.DataFrame, sources: dict[str, str], attributes: list[str], date_format: str | None
) -> pl.DataFrame:
    email = _column(sources, "email").str.to_lowercase()
    key = pl.coalesce(_column(sources, "customer_id"), email)
    first_last = pl.concat_str(
        _column(sources, "first_name"), _column(sources, "last_name"), separator=" ", ignore_nulls=True
    )
    consent = _column(sources, "accepts_marketing").str.to_lowercase()
    zone = _column(sources, "timezone")
    birthday, bad_birthday = _dates(frame, sources, "birthday", date_format)
    created, bad_created = _dates(frame, sources, "created_at", date_format)
    label = {f: sources.get(f, f) for f in CUSTOMER_ALIASES}

    def unreadable(field: str, kind: str) -> pl.Expr:
        return pl.format(f"unreadable {kind}{label[field]}: '{{}}'", _column(sources, field))

    valid_email = email.str.contains(r"^[^@\s]+@[^@\s]+$")
    reason = _reasons(
        (key.is_null(), "missing customer: the row has neither a customer id nor an e-mail"),
        (email.is_not_null() & ~valid_email, pl.format("invalid e-mail '{}'", email)),
        (bad_birthday, unreadable("birthday", "date in ")),
        (bad_created, unreadable("created_at", "date in ")),
        (zone.is_not_null() & ~zone.is_in(_ZONES), pl.format("unknown time zone '{}'", zone)),
        (consent.is_not_null() & ~consent.is_in(_TRUE + _FALSE), unreadable("accepts_marketing", "")),
    )
    extras = (
        pl.struct(attributes).map_elements(_attributes_json, return_dtype=pl.String)
        if attributes
        else pl.lit("{}")
    )
    return frame.with_columns(
        key.alias("customer_key"),
        _column(sources, "customer_id").alias("external_id"),
        email.alias("email"),
        pl.coalesce(_column(sources, "name"), pl.when(first_last != "").then(first_last)).alias("name"),
        _column(sources, "phone").alias("phone"),
        birthday.dt.date().alias("birthday"),
        zone.alias("timezone"),
        pl.when(consent.is_in(_TRUE))
        .then(True)
        .when(consent.is_in(_FALSE))
        .then(False)
        .alias("marketing_consent"),
        created.alias("created_at"),
        extras.alias("attributes"),
        reason.alias(REASON),
    )


def _attributes_json(row: dict[str, str | None]) -> str:
    return json.dumps({k: v.strip() for k, v in row.items() if v and v.strip()}, sort_keys=True)


def read_products(path: Path, currency: str) -> ParsedFile[pl.DataFrame]:
    """Products priced in ``currency`` unless the file has a currency column."""
    table = _open(path)
    sources = match_columns(table.header, PRODUCT_ALIASES)
    if "title" not in sources and "sku" not in sources:
        raise ImportFileError(f"{path}: no sku or title column (expected Variant SKU/sku or Title/title)")
    frame = read_strings(path, table.header, list(dict.fromkeys(sources.values())), table.delimiter)
    if frame.height == 0:
        raise ImportFileError(f"{path}: no rows below the header")
    checked = _check_products(frame, sources, currency)
    rejects, good = _finish(table, checked, "products", "product_key", "product")
    catalog = good.select(list(PRODUCT_SCHEMA)).cast(pl.Schema(PRODUCT_SCHEMA))
    return ParsedFile("products", frame.height, catalog, rejects)


def _check_products(frame: pl.DataFrame, sources: dict[str, str], currency: str) -> pl.DataFrame:
    def by_handle(field: str) -> pl.Expr:
        # Shopify writes a product's title and type on the first row of its handle only.
        value = _column(sources, field)
        if "handle" not in sources:
            return value
        return pl.coalesce(value, value.drop_nulls().first().over(pl.col(sources["handle"])))

    title, sku = by_handle("title"), _column(sources, "sku")
    money = pl.coalesce(_column(sources, "currency").str.to_uppercase(), pl.lit(currency))
    frame = frame.with_columns(
        money.alias("currency"),
        money.replace_strict(POWER_OF, default=None, return_dtype=pl.Int64).alias(POWER),
        _column(sources, "price").alias("__price"),
    )
    price, bad_price = parse_amount("__price")
    label = sources.get("price", "price")
    reason = _reasons(
        (title.is_null() & sku.is_null(), "missing title and sku"),
        (pl.col(POWER).is_null(), pl.format("unknown currency code '{}'", pl.col("currency"))),
        (bad_price, pl.format(f"unreadable amount in {label}: '{{}}'", pl.col("__price"))),
        (price < 0, pl.format(f"negative amount in {label}: {{}}", pl.col("__price"))),
    )
    key = pl.coalesce(sku, pl.lit("title:") + title.str.to_lowercase())
    return frame.with_columns(
        key.alias("product_key"),
        sku.alias("sku"),
        pl.coalesce(title, sku).alias("title"),
        by_handle("category").alias("category"),
        price.alias("price"),
        reason.alias(REASON),
    ).drop(POWER, "__price")
