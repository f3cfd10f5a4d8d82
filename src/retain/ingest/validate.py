"""Turn canonical string cells into typed values, or say precisely why a row cannot be read.

Everything is a Polars expression over whole columns: a million rows validate in about a
second, with no Python loop per row. The expressions depend only on the ``ParseSpec``, so
they are built once per spec: a webhook's few rows would otherwise spend more time building
them than Polars spends running them.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, fields

import polars as pl
import polars.selectors as cs

from retain.domain.money import CURRENCY_EXPONENTS
from retain.ingest.canonical import LINE_FIELDS, ORDER_FIELDS, ORDER_ROW, ParseSpec
from retain.ingest.table import in_runs, run_head, run_start

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
    # ``replace`` runs in half the time of when/then/otherwise, to the same column.
    return pl.col(name).str.strip_chars().replace("", None)


def scaled_amount(name: str) -> pl.Expr:
    """The cell as an exact decimal number of minor units (possibly fractional), never a float."""
    # Cells arrive stripped; literal replacements are much cheaper than a regex here.
    cleaned = pl.col(name).str.strip_chars_start("$€£").str.replace_all(",", "", literal=True)
    # An unknown currency is reported on its own; its amounts are still checked, as cents.
    return cleaned.cast(_DECIMAL, strict=False) * pl.col(POWER).fill_null(100)


def amount_from_scaled(name: str, scaled: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(minor units, is_bad): more decimals than the currency has (12.345 USD) is bad, not rounded."""
    value = _minor_units(scaled)
    return value, _unreadable(name, value)


def _minor_units(scaled: pl.Expr) -> pl.Expr:
    """The whole number of minor units, or null: for an empty cell, an unreadable one, or
    one with more decimals than the currency has."""
    fractional = (scaled != scaled.round(0)).fill_null(True)
    return pl.when(fractional).then(None).otherwise(scaled.cast(pl.Int64, strict=False))


def parse_amount(name: str) -> tuple[pl.Expr, pl.Expr]:
    """(minor units, is_bad) for a decimal cell in the row's currency (``__power`` = 10**decimals)."""
    return amount_from_scaled(name, scaled_amount(name))


def parse_datetime(name: str, spec: ParseSpec) -> tuple[pl.Expr, pl.Expr]:
    """(UTC datetime, is_bad); times without an offset are read in ``spec.timezone``."""
    utc = _utc(name, spec)
    return utc, _unreadable(name, utc)


def _unreadable(name: str, parsed: pl.Expr) -> pl.Expr:
    return pl.col(name).is_not_null() & parsed.is_null()


def _utc(name: str, spec: ParseSpec) -> pl.Expr:
    text = pl.col(name)  # cells arrive stripped
    if spec.date_format is None:
        parsed = text.str.to_datetime(time_unit="us", strict=False, time_zone=spec.timezone)
    elif "%z" in spec.date_format or "%#z" in spec.date_format:
        parsed = text.str.to_datetime(spec.date_format, time_unit="us", strict=False, time_zone="UTC")
    else:
        naive = text.str.to_datetime(spec.date_format, time_unit="us", strict=False)
        parsed = naive.dt.replace_time_zone(spec.timezone, ambiguous="earliest", non_existent="null")
    return parsed.dt.convert_time_zone("UTC")


def _value(name: str) -> pl.Expr:
    return pl.col(f"__v_{name}")


def _bad(name: str) -> pl.Expr:
    """The cell has text that could not be read: for every typed field, a value is null
    exactly when its cell is empty or unreadable."""
    return _unreadable(name, _value(name))


def _cells(spec: ParseSpec) -> list[pl.Expr]:
    """Stripped cells, each row's own currency, and which rows are lines."""
    has_line = pl.any_horizontal([pl.col(f).is_not_null() for f in ("sku", "title", "unit_price")])
    currency = _stripped("currency").str.to_uppercase()
    if spec.default_currency:
        currency = currency.fill_null(pl.lit(spec.default_currency))
    return [_stripped(f).alias(f) for f in (*ORDER_FIELDS, *LINE_FIELDS) if f != "currency"] + [
        currency.alias("currency"),
        has_line.alias(HAS_LINE),
    ]


def _order_currency(frame: pl.DataFrame) -> pl.Expr:
    """Each row's order's currency: line rows take it from the order's row (Shopify fills
    it on the first row only)."""
    if in_runs(frame, "order_key", ~run_start("order_key") | pl.col(ORDER_ROW)):
        # Each order's rows together, led by its order row: the order row is its run's head.
        return pl.col("currency").gather(run_head("order_key"))
    return pl.col("currency").filter(pl.col(ORDER_ROW)).first().over("order_key")


_MINOR_UNIT = [
    pl.col("currency").replace_strict(_EXPONENT_OF, default=None, return_dtype=pl.Int64).alias(EXPONENT),
    pl.col("currency").replace_strict(POWER_OF, default=None, return_dtype=pl.Int64).alias(POWER),
]
_TYPED_FIELDS = (*MONEY_FIELDS, *LINE_MONEY_FIELDS)
_STAMP_FIELDS = ("placed_at", "paid_at", "cancelled_at")


def _parsed(spec: ParseSpec) -> list[pl.Expr]:
    """Each amount cast once into an exact decimal (``__dec_<field>``) and each date parsed
    once (``__v_<field>``): every later expression reads those columns."""
    return [scaled_amount(n).alias(f"__dec_{n}") for n in _TYPED_FIELDS] + [
        _utc(n, spec).alias(f"__v_{n}") for n in _STAMP_FIELDS
    ]


def _parsers() -> list[pl.Expr]:
    """``__v_<field>``, the typed value of every typed field but the dates (``_parsed``
    made those), from the columns ``_parsed`` made.

    A cell is unreadable exactly when it has text and no value (see ``_bad``), so that is
    not computed here: Polars runs each expression in full (no common parts shared), and
    a separate is-bad column would parse every cell a second time.
    """
    out: list[pl.Expr] = [pl.col("email").str.to_lowercase().alias("__v_email")]
    out += [_minor_units(pl.col(f"__dec_{name}")).alias(f"__v_{name}") for name in _TYPED_FIELDS]
    out += [
        pl.col(name).cast(pl.Int64, strict=False).alias(f"__v_{name}") for name in ("quantity", "item_count")
    ]
    consent = pl.col("accepts_marketing").str.to_lowercase()
    out.append(
        pl.when(consent.is_in(_TRUE))
        .then(True)
        .when(consent.is_in(_FALSE))
        .then(False)
        .alias("__v_accepts_marketing")
    )
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


@dataclass(frozen=True)
class _Plan:
    """Every expression of one spec's validation, stage by stage."""

    cells: list[pl.Expr]
    parsed: list[pl.Expr]
    typed: list[pl.Expr]
    flags: list[pl.Expr]  # ``__problem<i>``: the row fails check i
    messages: list[pl.Expr]  # check i's message where it failed

    @classmethod
    def of(cls, spec: ParseSpec) -> _Plan:
        checks = _checks(spec)
        return cls(
            cells=_cells(spec),
            parsed=_parsed(spec),
            typed=_parsers(),
            flags=[flag.fill_null(False).alias(f"__problem{i}") for i, (flag, _) in enumerate(checks)],
            messages=[
                pl.when(pl.col(f"__problem{i}")).then(pl.lit(text) if isinstance(text, str) else text)
                for i, (_, text) in enumerate(checks)
            ],
        )


_PLANS: dict[Hashable, _Plan] = {}
_MAX_PLANS = 64  # specs are few (one per format, plus one per column mapping in use)


def _plan(spec: ParseSpec) -> _Plan:
    # The spec holds a dict, so it cannot be a key itself; its fields' values can.
    key = tuple(
        tuple(sorted(value.items())) if isinstance(value := getattr(spec, f.name), dict) else value
        for f in fields(spec)
    )
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        plan = _PLANS[key] = _Plan.of(spec)
    return plan


_FLAGS = cs.matches(r"^__problem\d+$")


def _explain(parsed: pl.DataFrame, plan: _Plan) -> pl.DataFrame:
    """Typed values in place of the cells, and ``__reason`` where a check failed (else null).

    Messages are only formatted when some row failed: formatting every possible message
    for every row would cost more than all the checks.
    """
    checked = parsed.with_columns(plan.flags).with_columns(pl.any_horizontal(_FLAGS).alias("__any"))
    reason: pl.Expr = pl.lit(None, pl.String)
    if checked["__any"].any():
        reason = pl.when("__any").then(pl.concat_str(plan.messages, separator="; ", ignore_nulls=True))
    typed = [c.removeprefix("__v_") for c in checked.columns if c.startswith("__v_")]
    return checked.with_columns(reason.alias(REASON), *(_value(n).alias(n) for n in typed)).drop(
        _FLAGS, cs.starts_with("__v_"), "__any"
    )


def validate(raw: pl.DataFrame, spec: ParseSpec) -> pl.DataFrame:
    """Typed columns plus ``__reason`` (null when the row is fine) for every row, in order."""
    plan = _plan(spec)
    # Eagerly, stage by stage: the lazy engine is 10% faster here but peaks 600 MiB higher.
    frame = raw.with_columns(plan.cells)
    frame = frame.with_columns(_order_currency(frame).alias("currency")).with_columns(_MINOR_UNIT)
    parsed = frame.with_columns(plan.parsed).with_columns(plan.typed)
    return _explain(parsed.drop(cs.starts_with("__dec_")), plan)
