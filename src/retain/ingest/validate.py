"""Turn canonical string cells into typed values, or say precisely why a row cannot be read.

Everything is a Polars expression over whole columns: a million rows validate in about a
second, with no Python loop per row.
"""

from __future__ import annotations

import polars as pl

from retain.domain.money import CURRENCY_EXPONENTS
from retain.ingest.canonical import LINE_FIELDS, ORDER_FIELDS, ORDER_ROW, ParseSpec
from retain.ingest.table import RECORD

REASON = "__reason"
HAS_LINE = "__has_line"
EXPONENT = "__exp"
MONEY_FIELDS = ("subtotal", "discounts", "shipping", "tax", "total", "refunded")
LINE_MONEY_FIELDS = ("unit_price", "line_discount")
_EXPONENTS = pl.DataFrame(
    {"currency": list(CURRENCY_EXPONENTS), EXPONENT: list(CURRENCY_EXPONENTS.values())},
    schema={"currency": pl.String, EXPONENT: pl.Int64},
)
_TRUE = ("yes", "true", "1", "y", "subscribed", "opt-in", "opted_in")
_FALSE = ("no", "false", "0", "n", "unsubscribed", "opt-out", "not_subscribed", "")


def _stripped(name: str) -> pl.Expr:
    text = pl.col(name).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def parse_amount(name: str) -> tuple[pl.Expr, pl.Expr]:
    """(minor units, is_bad) for a decimal cell in the row's currency (``__exp`` decimals)."""
    cleaned = _stripped(name).str.replace_all(r"^[$€£]|,", "")
    parts = cleaned.str.extract_groups(r"^([+-]?)(\d*)(?:\.(\d*))?$")
    sign = pl.when(parts.struct.field("1") == "-").then(-1).otherwise(1)
    whole_text = parts.struct.field("2")
    frac = parts.struct.field("3").fill_null("")
    whole = whole_text.cast(pl.Int64, strict=False).fill_null(0)
    exp = pl.col(EXPONENT)
    minor = pl.lit(None, pl.Int64)
    too_precise = pl.lit(False)
    for e in sorted(set(CURRENCY_EXPONENTS.values())):
        digits = frac.str.pad_end(e, "0").str.slice(0, e).cast(pl.Int64) if e else pl.lit(0)
        minor = pl.when(exp == e).then(whole * 10**e + digits).otherwise(minor)
        too_precise = pl.when(exp == e).then(frac.str.slice(e).str.contains("[1-9]")).otherwise(too_precise)
    unreadable = whole_text.is_null() | ((whole_text == "") & (frac == ""))
    overflow = (whole_text != "") & whole_text.cast(pl.Int64, strict=False).is_null()
    bad = cleaned.is_not_null() & (unreadable | overflow | too_precise.fill_null(False))
    return (sign * minor), bad


def parse_datetime(name: str, spec: ParseSpec) -> tuple[pl.Expr, pl.Expr]:
    """(UTC datetime, is_bad); times without an offset are read in ``spec.timezone``."""
    text = _stripped(name)
    if spec.date_format is None:
        parsed = text.str.to_datetime(time_unit="us", strict=False, time_zone=spec.timezone)
    elif "%z" in spec.date_format or "%#z" in spec.date_format:
        parsed = text.str.to_datetime(spec.date_format, time_unit="us", strict=False, time_zone="UTC")
    else:
        naive = text.str.to_datetime(spec.date_format, time_unit="us", strict=False)
        parsed = naive.dt.replace_time_zone(spec.timezone, ambiguous="earliest", non_existent="null")
    utc = parsed.dt.convert_time_zone("UTC")
    return utc, text.is_not_null() & utc.is_null()


def _problem(condition: pl.Expr, message: pl.Expr | str) -> pl.Expr:
    text = pl.lit(message) if isinstance(message, str) else message
    return pl.when(condition).then(text).otherwise(None)


def validate(raw: pl.DataFrame, spec: ParseSpec) -> pl.DataFrame:
    """Typed columns plus ``__reason`` (null when the row is fine) for every row."""
    order_row = pl.col(ORDER_ROW)
    has_line = pl.any_horizontal([pl.col(f).is_not_null() for f in ("sku", "title", "unit_price")])
    currency = _stripped("currency").str.to_uppercase()
    if spec.default_currency:
        currency = currency.fill_null(pl.lit(spec.default_currency))
    frame = raw.with_columns(
        [_stripped(f).alias(f) for f in (*ORDER_FIELDS, *LINE_FIELDS) if f != "currency"]
        + [currency.alias("currency"), has_line.alias(HAS_LINE)]
    )
    # Line rows take their order's currency (Shopify fills it on the first row only).
    frame = frame.with_columns(
        pl.col("currency").filter(order_row).first().over("order_key").alias("currency")
    ).join(_EXPONENTS, on="currency", how="left")
    problems: list[pl.Expr] = []
    typed: list[pl.Expr] = []
    for name in spec.required:
        scope = order_row if name in ORDER_FIELDS else pl.col(HAS_LINE)
        problems.append(_problem(scope & pl.col(name).is_null(), f"missing {spec.label(name)}"))
    if "order_key" not in spec.required:
        problems.append(_problem(pl.col("order_key").is_null(), f"missing {spec.label('order_key')}"))
    problems.append(
        _problem(
            order_row & pl.col("customer_id").is_null() & pl.col("email").is_null(),
            "missing customer: the row has neither a customer id nor an e-mail",
        )
    )
    email = pl.col("email").str.to_lowercase()
    problems.append(
        _problem(
            email.is_not_null() & ~email.str.contains(r"^[^@\s]+@[^@\s]+$"),
            pl.format("invalid e-mail '{}'", pl.col("email")),
        )
    )
    typed.append(email.alias("email"))
    problems.append(
        _problem(
            pl.col("currency").is_not_null() & pl.col(EXPONENT).is_null(),
            pl.format("unknown currency code '{}'", pl.col("currency")),
        )
    )
    for name in (*MONEY_FIELDS, *LINE_MONEY_FIELDS):
        value, bad = parse_amount(name)
        scope = order_row if name in MONEY_FIELDS else pl.col(HAS_LINE)
        label = spec.label(name)
        problems.append(_problem(scope & bad, pl.format(f"unreadable amount in {label}: '{{}}'", pl.col(name))))
        problems.append(_problem(scope & ~bad & (value < 0), pl.format(f"negative amount in {label}: {{}}", pl.col(name))))
        typed.append(pl.when(scope & ~bad).then(value).otherwise(None).alias(name))
    for name in ("placed_at", "paid_at", "cancelled_at"):
        when, bad = parse_datetime(name, spec)
        problems.append(
            _problem(order_row & bad, pl.format(f"unreadable date in {spec.label(name)}: '{{}}'", pl.col(name)))
        )
        typed.append(when.alias(name))
    for name in ("quantity", "item_count"):
        number = pl.col(name).cast(pl.Int64, strict=False)
        scope = pl.col(HAS_LINE) if name == "quantity" else order_row
        label = spec.label(name)
        problems.append(_problem(scope & pl.col(name).is_not_null() & number.is_null(), pl.format(f"unreadable number in {label}: '{{}}'", pl.col(name))))
        problems.append(_problem(scope & (number < 0), pl.format(f"negative quantity in {label}: {{}}", pl.col(name))))
        typed.append(number.alias(name))
    consent = pl.col("accepts_marketing").str.to_lowercase()
    problems.append(
        _problem(
            consent.is_not_null() & ~consent.is_in(_TRUE + _FALSE),
            pl.format(f"unreadable {spec.label('accepts_marketing')}: '{{}}'", pl.col("accepts_marketing")),
        )
    )
    typed.append(pl.when(consent.is_in(_TRUE)).then(True).when(consent.is_in(_FALSE)).then(False).alias("accepts_marketing"))
    # One with_columns: the problems read the cells as they were, before typing.
    frame = frame.with_columns(
        *typed, pl.concat_str(problems, separator="; ", ignore_nulls=True).alias(REASON)
    )
    over_refund = pl.col("refunded") > pl.col("total")
    return frame.with_columns(
        pl.when(pl.col(REASON) != "")
        .then(pl.col(REASON))
        .when(pl.col(ORDER_ROW) & over_refund)
        .then(pl.lit("refunded amount is larger than the order total"))
        .otherwise(None)
        .alias(REASON)
    ).sort(RECORD)
