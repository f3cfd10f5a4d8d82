"""Turn canonical string cells into typed values, or say precisely why a row cannot be read.

Everything is a Polars expression over whole columns: a million rows validate in about a
second, with no Python loop per row.
"""

from __future__ import annotations

import polars as pl
import polars.selectors as cs

from retain.domain.money import CURRENCY_EXPONENTS
from retain.ingest.canonical import LINE_FIELDS, ORDER_FIELDS, ORDER_ROW, ParseSpec
from retain.ingest.table import RECORD

REASON = "__reason"
HAS_LINE = "__has_line"
EXPONENT = "__exp"
MONEY_FIELDS = ("subtotal", "discounts", "shipping", "tax", "total", "refunded")
LINE_MONEY_FIELDS = ("unit_price", "line_discount")
POWER = "__power"  # 10 ** exponent
SCALE = "__scale"  # 10 ** (_MAX_DECIMALS - exponent)
_MAX_DECIMALS = 8
_EXPONENTS = pl.DataFrame(
    {
        "currency": list(CURRENCY_EXPONENTS),
        EXPONENT: list(CURRENCY_EXPONENTS.values()),
        POWER: [10**e for e in CURRENCY_EXPONENTS.values()],
        SCALE: [10 ** (_MAX_DECIMALS - e) for e in CURRENCY_EXPONENTS.values()],
    },
    schema={"currency": pl.String, EXPONENT: pl.Int64, POWER: pl.Int64, SCALE: pl.Int64},
)
_TRUE = ("yes", "true", "1", "y", "subscribed", "opt-in", "opted_in")
_FALSE = ("no", "false", "0", "n", "unsubscribed", "opt-out", "not_subscribed", "")


def _stripped(name: str) -> pl.Expr:
    text = pl.col(name).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def parse_amount(name: str) -> tuple[pl.Expr, pl.Expr]:
    """(minor units, is_bad) for a decimal cell in the row's currency (``__exp`` decimals).

    Arithmetic on the integer and fraction parts, not a regex per currency: this runs on
    every money cell of every row.
    """
    cleaned = pl.col(name).str.replace_all(r"^[$€£]|,", "")  # cells arrive stripped
    negative = cleaned.str.starts_with("-")
    parts = cleaned.str.strip_chars_start("+-").str.split_exact(".", 1)
    whole_text, frac = parts.struct.field("field_0"), parts.struct.field("field_1").fill_null("")
    digits_only = cleaned.str.contains(r"^[+-]?(?:\d+\.?\d*|\.\d+)$")
    whole = whole_text.cast(pl.Int64, strict=False).fill_null(0)
    scale = pl.col(SCALE)
    frac_max = frac.str.pad_end(_MAX_DECIMALS, "0").str.slice(0, _MAX_DECIMALS).cast(pl.Int64, strict=False)
    beyond = frac.str.slice(_MAX_DECIMALS).str.contains("[1-9]")
    too_precise = (frac_max % scale != 0) | beyond
    overflow = (whole_text != "") & whole_text.cast(pl.Int64, strict=False).is_null()
    bad = cleaned.is_not_null() & (~digits_only | overflow | too_precise.fill_null(False))
    minor = whole * pl.col(POWER) + frac_max // scale
    value = pl.when(negative).then(-minor).otherwise(minor)
    return pl.when(bad | cleaned.is_null()).then(None).otherwise(value), bad


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


def _problem(condition: pl.Expr, message: pl.Expr | str) -> tuple[pl.Expr, pl.Expr]:
    text = pl.lit(message) if isinstance(message, str) else message
    return condition.fill_null(False), text


def _explain(
    frame: pl.DataFrame, typed: list[pl.Expr], problems: list[tuple[pl.Expr, pl.Expr]]
) -> pl.DataFrame:
    """Typed columns for all rows, and ``__reason`` spelled out only where a check failed.

    Formatting every possible message for every row would cost more than the checks.
    """
    flags = [flag.alias(f"__problem{i}") for i, (flag, _) in enumerate(problems)]
    # Lazily, so Polars computes the sub-expressions the checks share only once.
    flagged = (
        frame.lazy()
        .with_columns(*flags, *(t.alias(f"__typed_{t.meta.output_name()}") for t in typed))
        .collect()
    )
    any_flag = pl.any_horizontal(pl.col(r"^__problem\d+$"))
    messages = [
        pl.when(pl.col(f"__problem{i}")).then(text).otherwise(None) for i, (_, text) in enumerate(problems)
    ]
    bad = flagged.filter(any_flag).with_columns(
        pl.concat_str(messages, separator="; ", ignore_nulls=True).alias(REASON)
    )
    good = flagged.filter(~any_flag).with_columns(pl.lit(None, pl.String).alias(REASON))
    both = pl.concat([good, bad])
    names = [t.meta.output_name() for t in typed]
    return both.with_columns(pl.col(f"__typed_{n}").alias(n) for n in names).drop(
        cs.matches(r"^__problem\d+$"), *(f"__typed_{n}" for n in names)
    )


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
    problems: list[tuple[pl.Expr, pl.Expr]] = []
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
        problems.append(
            _problem(scope & bad, pl.format(f"unreadable amount in {label}: '{{}}'", pl.col(name)))
        )
        problems.append(
            _problem(scope & ~bad & (value < 0), pl.format(f"negative amount in {label}: {{}}", pl.col(name)))
        )
        typed.append(pl.when(scope & ~bad).then(value).otherwise(None).alias(name))
    for name in ("placed_at", "paid_at", "cancelled_at"):
        when, bad = parse_datetime(name, spec)
        problems.append(
            _problem(
                order_row & bad, pl.format(f"unreadable date in {spec.label(name)}: '{{}}'", pl.col(name))
            )
        )
        typed.append(when.alias(name))
    for name in ("quantity", "item_count"):
        number = pl.col(name).cast(pl.Int64, strict=False)
        scope = pl.col(HAS_LINE) if name == "quantity" else order_row
        label = spec.label(name)
        problems.append(
            _problem(
                scope & pl.col(name).is_not_null() & number.is_null(),
                pl.format(f"unreadable number in {label}: '{{}}'", pl.col(name)),
            )
        )
        problems.append(
            _problem(scope & (number < 0), pl.format(f"negative quantity in {label}: {{}}", pl.col(name)))
        )
        typed.append(number.alias(name))
    consent = pl.col("accepts_marketing").str.to_lowercase()
    problems.append(
        _problem(
            consent.is_not_null() & ~consent.is_in(_TRUE + _FALSE),
            pl.format(f"unreadable {spec.label('accepts_marketing')}: '{{}}'", pl.col("accepts_marketing")),
        )
    )
    typed.append(
        pl.when(consent.is_in(_TRUE))
        .then(True)
        .when(consent.is_in(_FALSE))
        .then(False)
        .alias("accepts_marketing")
    )
    frame = _explain(frame, typed, problems)
    over_refund = pl.col("refunded") > pl.col("total")
    return frame.with_columns(
        pl.when(pl.col(REASON) != "")
        .then(pl.col(REASON))
        .when(pl.col(ORDER_ROW) & over_refund)
        .then(pl.lit("refunded amount is larger than the order total"))
        .otherwise(None)
        .alias(REASON)
    ).sort(RECORD)
