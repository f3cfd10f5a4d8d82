"""The CDNOW data set: whitespace separated, with or without the sample's second id column.

Master file: ``customer_id date number_of_cds dollar_value`` (with a header line).
1/10 sample: ``master_id sample_id date number_of_cds dollar_value`` (no header).
Each row is one order; a customer's several rows on one day stay several orders.
"""

from __future__ import annotations

import re
from collections import Counter

import polars as pl

from retain.ingest.canonical import ParseSpec, canonical
from retain.ingest.table import BAD, LINE, RECORD

NAME = "cdnow"
_HEADER = ("customer_id", "date", "number_of_cds", "dollar_value")
_NUMBERS = re.compile(r"^\s*\d+(\s+\d+)?\s+\d{8}\s+\d+\s+[\d.]+\s*$")


def looks_like(first: str) -> bool:
    return tuple(first.split()) == _HEADER or bool(_NUMBERS.match(first))


def read(data: bytes) -> tuple[pl.DataFrame, ParseSpec]:
    columns: dict[str, list[str | None]] = {
        k: [] for k in ("customer", "date", "cds", "dollars", "__order_key", BAD)
    }
    lines: list[int] = []
    seen: Counter[tuple[str, str]] = Counter()
    for number, raw in enumerate(data.decode("utf-8").splitlines(), start=1):
        cells = raw.split()
        if not cells or tuple(cells) == _HEADER:
            continue
        if len(cells) == 5:
            cells = [cells[0], *cells[2:]]  # the sample's master id identifies the customer
        bad = None if len(cells) == 4 else f"expected 4 or 5 fields, found {len(cells)}"
        customer, date, cds, dollars = (cells + [None] * 4)[:4] if bad is None else (None,) * 4
        seen[(customer or "", date or "")] += 1
        key = f"cdnow-{customer}-{date}-{seen[(customer or '', date or '')]}" if bad is None else None
        for name, value in zip(columns, (customer, date, cds, dollars, key, bad), strict=True):
            columns[name].append(value)
        lines.append(number)
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String)).with_columns(
        pl.Series(LINE, lines, dtype=pl.UInt32), pl.lit("USD").alias("__currency")
    )
    frame = frame.with_row_index(RECORD)
    fields = {
        "order_key": "__order_key",
        "customer_id": "customer",
        "placed_at": "date",
        "item_count": "cds",
        "total": "dollars",
        "currency": "__currency",
    }
    spec = ParseSpec(
        date_format="%Y%m%d",
        required=frozenset({"placed_at", "total", "item_count"}),
        labels={
            "placed_at": "date",
            "total": "dollar value",
            "item_count": "number of CDs",
            "order_key": "row",
        },
    )
    return canonical(frame, fields, pl.lit(True)), spec
