"""Turn canonical string cells into typed values, or say precisely why a row cannot be read.

Everything is a Polars expression over whole columns: a million rows validate in about a
second, with no Python loop per row.
"""

from __future__ import annotations

import polars as pl
import polars.selectors as cs

from retain.domain.money import CURRENCY_EXPONENTS
from retain.ingest.canonical import LINE_FIELDS, ORDER_FIELDS, ORDER_ROW, ParseSpec

REASON = "__reason"
HAS_LINE = "__has_line"
EXPONENT = "__exp"
MONEY_FIELDS = ("subtotal", "discounts", "shipping", "tax", "total", "refunded")
LINE_MONEY_FIELDS = ("unit_price", "line_discount")
POWER = "__power"  # 10 ** exponent
_DECIMAL = pl.Decimal(38, 8)
_EXPONENT_OF = dict(CURRENCY_EXPONENTS)
POWER_OF = {code: 10**e for code, e in CURRENCY_EXPONENTS.items()}
_TRUE = ("yes", "true", "1", "y", "subscribed", "opt-in", "opted_in")
_FALSE = ("no", "false", "0", "n", "unsubscribed", "opt-out", "not_subscribed", "")


def _stripped(name: str) -> pl.Expr:
    text = pl.col(name).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def scaled_amount(name: str) -> pl.Expr:
    """The cell as an exact decimal number of minor units (possibly fractional), never a float."""
    # Cells arrive stripped; literal replacements are much cheaper than a regex here.
    cleaned = pl.col(name).str.strip_chars_start("$€£").str.replace_all(",", "", literal=True)
    # An unknown currency is reported on its own; its amounts are still checked, as cents.
    return cleaned.cast(_DECIMAL, strict=False) * pl.col(POWER).fill_null(100)


def amount_from_scaled(name: str, scaled: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(minor units, is_bad): more decimals than the currency has (12.345 USD) is bad, not rounded."""
    minor = scaled.cast(pl.Int64, strict=False)
    bad = pl.col(name).is_not_null() & (minor.is_null() | (scaled != scaled.round(0)).fill_null(True))
    return pl.when(bad).then(None).otherwise(minor), bad


def parse_amount(name: str) -> tuple[pl.Expr, pl.Expr]:
    """(minor units, is_bad) for a decimal cell in the row's currency (``__power`` = 10**decimals)."""
    return amount_from_scaled(name, scaled_amount(name))


def parse_datetime(name: str, spec: ParseSpec) -> tuple[pl.Expr, pl.Expr]:
    """(UTC datetime, is_bad); times without an offset are read in ``spec.timezone``."""
    text = pl.col(name)  # cells arrive stripped
    if spec.date_format is None:
        parsed = text.str.to_datetime(time_unit="us", strict=False, time_zone=spec.timezone)
    elif "%z" in spec.date_format or "%#z" in spec.date_format:
        parsed = text.str.to_datetime(spec.date_format, time_unit="us", strict=False, time_zone="UTC")
    else:
        naive = text.str.to_datetime(spec.date_format, time_unit="us", strict=False)
        parsed = naive.dt.replace_time_zone(spec.timezone, ambiguous="earliest", non_existent="null")
    utc = parsed.dt.convert_time_zone("UTC")
    return utc, text.is_not_null() & utc.is_null()


def _value(name: str) -> pl.Expr:
    return pl.col(f"__v_{name}")


def _bad(name: str) -> pl.Expr:
    return pl.col(f"__bad_{name}")


def _prepare(raw: pl.DataFrame, spec: ParseSpec) -> pl.DataFrame:
    """Stripped cells, each row's currency and its minor unit, and which rows are lines."""
    has_line = pl.any_horizontal([pl.col(f).is_not_null() for f in ("sku", "title", "unit_price")])
    currency = _stripped("currency").str.to_uppercase()
    if spec.default_currency:
        currency = currency.fill_null(pl.lit(spec.default_currency))
    frame = raw.with_columns(
        [_stripped(f).alias(f) for f in (*ORDER_FIELDS, *LINE_FIELDS) if f != "currency"]
        + [currency.alias("currency"), has_line.alias(HAS_LINE)]
    )
    # Line rows take their order's currency (Shopify fills it on the first row only).
    order_currency = pl.col("currency").filter(pl.col(ORDER_ROW)).first().over("order_key")
    return frame.with_columns(order_currency.alias("currency")).with_columns(
        pl.col("currency").replace_strict(_EXPONENT_OF, default=None, return_dtype=pl.Int64).alias(EXPONENT),
        pl.col("currency").replace_strict(POWER_OF, default=None, return_dtype=pl.Int64).alias(POWER),
    )


def _parsers(spec: ParseSpec) -> list[pl.Expr]:
    """``__v_<field>`` (typed value) and ``__bad_<field>`` for every typed field: one parse each."""
    out: list[pl.Expr] = [pl.col("email").str.to_lowercase().alias("__v_email")]
    for name in (*MONEY_FIELDS, *LINE_MONEY_FIELDS):
        value, bad = amount_from_scaled(name, pl.col(f"__dec_{name}"))
        out += [value.alias(f"__v_{name}"), bad.alias(f"__bad_{name}")]
    for name in ("placed_at", "paid_at", "cancelled_at"):
        when, bad = parse_datetime(name, spec)
        out += [when.alias(f"__v_{name}"), bad.alias(f"__bad_{name}")]
    for name in ("quantity", "item_count"):
        number = pl.col(name).cast(pl.Int64, strict=False)
        out += [
            number.alias(f"__v_{name}"),
            (pl.col(name).is_not_null() & number.is_null()).alias(f"__bad_{name}"),
        ]
    consent = pl.col("accepts_marketing").str.to_lowercase()
    out += [
        pl.when(consent.is_in(_TRUE)).then(True).when(consent.is_in(_FALSE)).then(False).alias("__v_accepts_marketing"),
        (consent.is_not_null() & ~consent.is_in(_TRUE + _FALSE)).alias("__bad_accepts_marketing"),
    ]  # fmt: skip
    return out


Check = tuple[pl.Expr, pl.Expr | str]  # (row fails, why)


def _checks(spec: ParseSpec) -> list[Check]:
    """Every check as a cheap expression over the parsed columns."""
    order_row, line_row = pl.col(ORDER_ROW), pl.col(HAS_LINE)
    checks: list[Check] = [
        (
            (order_row if name in ORDER_FIELDS else line_row) & pl.col(name).is_null(),
            f"missing {spec.label(name)}",
        )
        for name in sorted(spec.required | {"order_key"})
    ]
    checks += [
        (
            order_row & pl.col("customer_id").is_null() & pl.col("email").is_null(),
            "missing customer: the row has neither a customer id nor an e-mail",
        ),
        (
            _value("email").is_not_null() & ~_value("email").str.contains(r"^[^@\s]+@[^@\s]+$"),
            pl.format("invalid e-mail '{}'", pl.col("email")),
        ),
        (
            pl.col("currency").is_not_null() & pl.col(EXPONENT).is_null(),
            pl.format("unknown currency code '{}'", pl.col("currency")),
        ),
    ]
    for name in (*MONEY_FIELDS, *LINE_MONEY_FIELDS):
        scope, label = (order_row if name in MONEY_FIELDS else line_row), spec.label(name)
        checks += [
            (scope & _bad(name), pl.format(f"unreadable amount in {label}: '{{}}'", pl.col(name))),
            (scope & (_value(name) < 0), pl.format(f"negative amount in {label}: {{}}", pl.col(name))),
        ]
    for name in ("placed_at", "paid_at", "cancelled_at"):
        checks.append(
            (
                order_row & _bad(name),
                pl.format(f"unreadable date in {spec.label(name)}: '{{}}'", pl.col(name)),
            )
        )
    for name in ("quantity", "item_count"):
        scope, label = (line_row if name == "quantity" else order_row), spec.label(name)
        checks += [
            (scope & _bad(name), pl.format(f"unreadable number in {label}: '{{}}'", pl.col(name))),
            (scope & (_value(name) < 0), pl.format(f"negative quantity in {label}: {{}}", pl.col(name))),
        ]
    checks += [
        (
            _bad("accepts_marketing"),
            pl.format(f"unreadable {spec.label('accepts_marketing')}: '{{}}'", pl.col("accepts_marketing")),
        ),
        (
            order_row & (_value("refunded") > _value("total")),
            "refunded amount is larger than the order total",
        ),
    ]
    return checks


def _explain(parsed: pl.DataFrame, checks: list[Check]) -> pl.DataFrame:
    """Typed values in place of the cells, and ``__reason`` where a check failed (else null).

    Messages are only formatted when some row failed: formatting every possible message
    for every row would cost more than all the checks.
    """
    flags = [flag.fill_null(False).alias(f"__problem{i}") for i, (flag, _) in enumerate(checks)]
    checked = parsed.with_columns(flags).with_columns(
        pl.any_horizontal(flags_selector := cs.matches(r"^__problem\d+$")).alias("__any")
    )
    reason: pl.Expr = pl.lit(None, pl.String)
    if checked["__any"].any():
        messages = [
            pl.when(pl.col(f"__problem{i}")).then(pl.lit(text) if isinstance(text, str) else text)
            for i, (_, text) in enumerate(checks)
        ]
        reason = pl.when("__any").then(pl.concat_str(messages, separator="; ", ignore_nulls=True))
    typed = [c.removeprefix("__v_") for c in checked.columns if c.startswith("__v_")]
    return checked.with_columns(reason.alias(REASON), *(_value(n).alias(n) for n in typed)).drop(
        flags_selector, cs.starts_with("__v_", "__bad_"), "__any"
    )


def validate(raw: pl.DataFrame, spec: ParseSpec) -> pl.DataFrame:
    """Typed columns plus ``__reason`` (null when the row is fine) for every row, in order."""
    # Each amount is cast once into a column of its own; the rest reads those columns.
    decimals = [scaled_amount(n).alias(f"__dec_{n}") for n in (*MONEY_FIELDS, *LINE_MONEY_FIELDS)]
    # Eagerly, stage by stage: the lazy engine is 10% faster here but peaks 600 MiB higher.
    parsed = _prepare(raw, spec).with_columns(decimals).with_columns(_parsers(spec))
    return _explain(parsed.drop(cs.starts_with("__dec_")), _checks(spec))
