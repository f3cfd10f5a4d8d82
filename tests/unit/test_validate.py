"""Cell parsing: amounts in minor units, dates to UTC, and the reasons given for bad cells."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from retain.ingest.canonical import FIELDS, ORDER_ROW, ParseSpec
from retain.ingest.table import RECORD
from retain.ingest.validate import EXPONENT, POWER, REASON, parse_amount, parse_datetime, validate


def amounts(cells: list[str | None], exponent: int = 2) -> list[tuple[int | None, bool]]:
    frame = pl.DataFrame(
        {"x": cells, EXPONENT: [exponent] * len(cells), POWER: [10**exponent] * len(cells)},
    ).with_columns(pl.col("x").str.strip_chars().replace("", None))  # fmt: skip
    value, bad = parse_amount("x")
    out = frame.select(value.alias("v"), bad.alias("b"))
    return list(zip(out["v"].to_list(), out["b"].to_list(), strict=True))


def test_amounts_become_exact_minor_units() -> None:
    assert amounts(["12.50", "0.5", "7", ".25", "1,234.56", "$9.99", " 3.10 "]) == [
        (1250, False), (50, False), (700, False), (25, False), (123456, False), (999, False), (310, False),
    ]  # fmt: skip


def test_negative_amounts_keep_their_sign_for_the_validator_to_refuse() -> None:
    assert amounts(["-4.00"]) == [(-400, False)]


def test_unreadable_and_over_precise_amounts_are_bad() -> None:
    assert [bad for _, bad in amounts(["1x", "12.345", "", "abc", ".", "99999999999999999999"])] == [
        True, True, False, True, True, True,
    ]  # fmt: skip


def test_trailing_zero_decimals_beyond_the_minor_unit_are_fine() -> None:
    assert amounts(["12.500"]) == [(1250, False)]


def test_yen_amounts_have_no_minor_unit() -> None:
    assert amounts(["1500", "1500.5"], exponent=0) == [(1500, False), (None, True)]


def test_offsets_are_kept_and_times_stored_in_utc() -> None:
    frame = pl.DataFrame({"d": ["2025-12-06 10:37:33 -0500", "nonsense"]})
    value, bad = parse_datetime("d", ParseSpec(date_format="%Y-%m-%d %H:%M:%S %z"))
    out = frame.select(value.alias("v"), bad.alias("b"))
    assert out["v"][0] == datetime(2025, 12, 6, 15, 37, 33, tzinfo=UTC)
    assert out["b"].to_list() == [False, True]


def test_naive_times_are_read_in_the_given_time_zone() -> None:
    frame = pl.DataFrame({"d": ["2025-07-01 12:00:00"]})
    value, _ = parse_datetime("d", ParseSpec(date_format="%Y-%m-%d %H:%M:%S", timezone="Europe/Paris"))
    assert frame.select(value.alias("v"))["v"][0] == datetime(2025, 7, 1, 10, 0, tzinfo=UTC)


def raw_row(**cells: str | None) -> pl.DataFrame:
    data: dict[str, list[object]] = {f: [cells.get(f)] for f in FIELDS}
    schema: dict[str, pl.DataType | type[pl.DataType]] = dict.fromkeys(FIELDS, pl.String)
    frame = pl.DataFrame(data, schema=schema)
    return frame.with_columns(pl.lit(0, pl.UInt32).alias(RECORD), pl.lit(True).alias(ORDER_ROW))


GOOD = {
    "order_key": "A1", "email": "a@example.com", "placed_at": "2025-01-01", "currency": "USD",
    "total": "10.00", "title": "Mug", "quantity": "1", "unit_price": "10.00",
}  # fmt: skip
SPEC = ParseSpec(date_format="%Y-%m-%d", required=frozenset({"placed_at", "total"}))


def reason(**changes: str | None) -> str | None:
    result: str | None = validate(raw_row(**(GOOD | changes)), SPEC)[REASON][0]
    return result


def test_a_good_row_has_no_reason() -> None:
    assert reason() is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"quantity": "-2"}, "negative quantity in quantity: -2"),
        ({"quantity": "two"}, "unreadable number in quantity: 'two'"),
        ({"currency": "XYZ"}, "unknown currency code 'XYZ'"),
        ({"placed_at": "31/12/2025"}, "unreadable date in placed_at: '31/12/2025'"),
        ({"placed_at": None}, "missing placed_at"),
        ({"total": "ten"}, "unreadable amount in total: 'ten'"),
        ({"total": "-1.00"}, "negative amount in total: -1.00"),
        ({"email": "not-an-email"}, "invalid e-mail 'not-an-email'"),
        ({"email": None}, "missing customer: the row has neither a customer id nor an e-mail"),
        ({"refunded": "11.00"}, "refunded amount is larger than the order total"),
        ({"accepts_marketing": "maybe"}, "unreadable accepts_marketing: 'maybe'"),
    ],
)
def test_each_bad_cell_gets_a_precise_reason(changes: dict[str, str | None], expected: str) -> None:
    assert reason(**changes) == expected


def test_several_problems_in_one_row_are_all_reported() -> None:
    assert reason(total="x", currency="XYZ") == "unknown currency code 'XYZ'; unreadable amount in total: 'x'"


def test_cells_padded_with_any_whitespace_are_read_as_trimmed() -> None:
    frame = validate(raw_row(**(GOOD | {"total": "\t10.00\n", "email": " a@example.com", "sku": ""})), SPEC)
    assert frame["total"][0] == 1000
    assert frame["email"][0] == "a@example.com"
    assert frame["sku"][0] is None
    assert frame[REASON][0] is None
