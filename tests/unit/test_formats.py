"""Format detection, header aliases, mappings and date-format detection."""

from __future__ import annotations

import polars as pl
import pytest

from retain.ingest.columns import match_columns
from retain.ingest.files import ImportFileError, sniff_delimiter
from retain.ingest.generic import detect_date_format, parse_mapping
from retain.ingest.reader import detect_format
from retain.ingest.shopify import ALIASES


def test_shopify_headers_match_case_insensitively_and_through_aliases() -> None:
    header = ["NAME", "email", "Lineitem SKU", "Canceled at", "Created At"]
    found = match_columns(header, ALIASES)
    assert found["__name"] == "NAME"
    assert found["sku"] == "Lineitem SKU"
    assert found["cancelled_at"] == "Canceled at"
    assert found["placed_at"] == "Created At"


@pytest.mark.parametrize(
    ("first_line", "expected"),
    [
        (b"Name,Email,Created at,Lineitem name,Lineitem quantity\n", "shopify"),
        (b" customer_id  date number_of_cds  dollar_value\r\n", "cdnow"),
        (b" 00004 0001 19970101  2   29.33\r\n", "cdnow"),
        (b"order_id,customer_id,date,total\n", "csv"),
    ],
)
def test_the_format_is_detected_from_the_first_line(first_line: bytes, expected: str) -> None:
    assert detect_format(first_line, sniff_delimiter(first_line.decode())) == expected


def test_semicolon_files_are_recognised() -> None:
    assert sniff_delimiter("order;customer;date;total") == ";"


def test_a_mapping_names_fields_and_columns() -> None:
    assert parse_mapping(["customer_id=Id", "total = Price"]) == {"customer_id": "Id", "total": "Price"}


@pytest.mark.parametrize(
    ("pair", "message"), [("total", "FIELD=COLUMN"), ("colour=Red", "unknown field 'colour'")]
)
def test_bad_mappings_are_explained(pair: str, message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        parse_mapping([pair])


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["2025-01-31", "2025-02-01"], "%Y-%m-%d"),
        (["31/01/2025", "01/02/2025"], "%d/%m/%Y"),
        (["01/31/2025 10:00", "02/01/2025 11:30"], "%m/%d/%Y %H:%M"),
        (["2025-01-31T10:00:00Z", "2025-01-31T10:00:00.250+02:00"], "%Y-%m-%dT%H:%M:%S%.f%#z"),
        (["20250131"], "%Y%m%d"),
    ],
)
def test_date_formats_are_detected(dates: list[str], expected: str) -> None:
    assert detect_date_format(pl.Series(dates), "date") == expected


def test_dates_readable_both_ways_need_an_explicit_format() -> None:
    with pytest.raises(ImportFileError, match="day-first and month-first"):
        detect_date_format(pl.Series(["01/02/2025", "03/04/2025"]), "date")


def test_unrecognised_dates_ask_for_a_format() -> None:
    with pytest.raises(ImportFileError, match="--date-format"):
        detect_date_format(pl.Series(["Jan the 5th"]), "date")


def test_rows_the_fast_parser_refuses_are_read_exactly_with_their_field_count() -> None:
    from retain.ingest.table import BAD, read_strings

    data = b"a,b,c\n1,2,3\n4,5,6,7\n8,9\n"
    frame = read_strings(data, ["a", "b", "c"], ["a", "b", "c"], ",")
    assert frame["a"].to_list() == ["1", "4", "8"]
    assert frame[BAD].to_list() == [None, "expected 3 fields, found 4", "expected 3 fields, found 2"]


def test_a_few_unreadable_dates_do_not_hide_the_format_of_the_rest() -> None:
    assert detect_date_format(pl.Series(["2025-01-31", "2025-02-01", "yesterday"]), "date") == "%Y-%m-%d"
