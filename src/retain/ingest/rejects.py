"""Rejected rows: which ones, why, and the cells they had, for the report and --rejects."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from retain.ingest.files import read_bytes
from retain.ingest.table import LINE, RECORD, line_numbers
from retain.ingest.validate import REASON


def split(checked: pl.DataFrame, group: str, noun: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rejected, good) rows. A bad row spoils its whole group: half an order would be wrong."""
    if checked[REASON].null_count() == checked.height and checked[group].null_count() == 0:
        return pl.DataFrame(schema={RECORD: pl.UInt32, REASON: pl.String, "at_fault": pl.Boolean}), checked
    at_fault = pl.col(REASON).is_not_null()
    spoiled = at_fault.any().over(group) | pl.col(group).is_null()
    marked = checked.with_columns(spoiled.alias("__spoiled"), at_fault.alias("at_fault"))
    bad = marked.filter(pl.col("__spoiled")).with_columns(
        pl.coalesce(REASON, pl.format(f"another row of {noun} {{}} is invalid", pl.col(group))).alias(REASON)
    )
    good = marked.filter(~pl.col("__spoiled")).drop("__spoiled", "at_fault")
    return bad.select(RECORD, REASON, "at_fault", *([LINE] if LINE in bad.columns else [])), good


def describe(rejects: pl.DataFrame, path: Path, delimiter: str, *, raw_lines: bool = False) -> pl.DataFrame:
    """Rejected rows with their physical line, reason and original cells, in file order."""
    empty = pl.DataFrame(schema={"line": pl.UInt32, "reason": pl.String, "at_fault": pl.Boolean})
    if rejects.height == 0:
        return empty
    data = read_bytes(path)
    if raw_lines:  # whitespace-separated files: the original line is the row
        lines = data.decode("utf-8", errors="replace").splitlines()
        described = rejects.select(
            pl.col(LINE).alias("line"), pl.col(REASON).alias("reason"), "at_fault"
        ).with_columns(
            pl.col("line").map_elements(lambda n: lines[n - 1], return_dtype=pl.String).alias("row")
        )
        return described.sort("line")
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, [])
    wanted = set(rejects[RECORD].to_list())
    cells: dict[int, list[str]] = {}
    for record, row in enumerate(reader):
        if record in wanted:
            cells[record] = row + [""] * (len(header) - len(row))
    originals = pl.DataFrame(
        {
            RECORD: list(cells),
            **{h or f"column {i + 1}": [cells[r][i] for r in cells] for i, h in enumerate(header)},
        },
        schema={RECORD: pl.UInt32, **{h or f"column {i + 1}": pl.String for i, h in enumerate(header)}},
    )
    described = rejects.join(line_numbers(data, delimiter), on=RECORD, how="left").join(
        originals, on=RECORD, how="left"
    )
    described = described.rename({LINE: "line", REASON: "reason"}).drop(RECORD)
    return described.select("line", "reason", pl.exclude("line", "reason")).sort("line")
