"""Reading a delimited file into a frame of strings, keeping each row's record number."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from retain.ingest.files import encoding_error, read_bytes

RECORD = "__record"  # 0-based data record, blank lines included, header excluded
LINE = "__line"  # 1-based physical line where the record starts
BAD = "__bad"  # a reason found while reading, before any cell is looked at


def read_strings(source: Path | bytes, header: list[str], columns: list[str], delimiter: str) -> pl.DataFrame:
    """The chosen columns as strings, plus ``__record``; blank lines dropped.

    Polars parses well-formed files in parallel. A file with ragged rows makes it give up,
    and then the standard library reads it row by row so those rows can be reported.
    """
    try:
        frame = pl.read_csv(
            source if isinstance(source, Path) else io.BytesIO(source),
            separator=delimiter,
            infer_schema=False,
            columns=columns,
        ).with_row_index(RECORD)
    except pl.exceptions.ComputeError:
        data = read_bytes(source) if isinstance(source, Path) else source
        if isinstance(source, Path) and (error := encoding_error(source, data)) is not None:
            raise error from None
        frame = _read_exact(data, header, columns, delimiter)
    return frame.filter(~pl.all_horizontal(pl.col(columns).is_null()))


def _read_exact(data: bytes, header: list[str], columns: list[str], delimiter: str) -> pl.DataFrame:
    wanted = [header.index(c) for c in columns]
    width = len(header)
    cells: list[list[str | None]] = [[] for _ in columns]
    bad: list[str | None] = []
    reader = csv.reader(io.StringIO(data.decode("utf-8")), delimiter=delimiter)
    next(reader, None)
    for row in reader:
        ragged = bool(row) and len(row) != width
        bad.append(f"expected {width} fields, found {len(row)}" if ragged else None)
        for out, index in zip(cells, wanted, strict=True):
            value = row[index] if index < len(row) else ""
            out.append(value if value != "" else None)
    frame = pl.DataFrame({c: pl.Series(c, v, dtype=pl.String) for c, v in zip(columns, cells, strict=True)})
    return frame.with_columns(pl.Series(BAD, bad, dtype=pl.String)).with_row_index(RECORD)


def run_start(key: str) -> pl.Expr:
    """True on the first row of each run of rows with the same ``key`` (nulls alike)."""
    return pl.col(key).ne_missing(pl.col(key).shift(1))


def run_head(key: str) -> pl.Expr:
    """The position (0-based) of the first row of the row's run of the same ``key``."""
    return pl.when(run_start(key)).then(pl.int_range(pl.len())).forward_fill()


def in_runs(frame: pl.DataFrame, key: str, *conditions: pl.Expr) -> bool:
    """Whether each value of ``key`` is one run of rows, and ``conditions`` hold on all.

    Exports list each order's rows together. Then a value taken from each run's first
    row is what a per-order window would give, at a fraction of the cost of grouping.
    """
    runs, groups, *held = frame.select(
        run_start(key).sum().alias("__runs"),
        pl.col(key).n_unique().alias("__groups"),
        *(condition.all().alias(f"__held{i}") for i, condition in enumerate(conditions)),
    ).row(0)
    return bool(runs == groups and all(held))


def line_numbers(data: bytes, delimiter: str) -> pl.DataFrame:
    """``__record`` -> ``__line`` for every record, honouring quoted line breaks."""
    reader = csv.reader(io.StringIO(data.decode("utf-8")), delimiter=delimiter)
    next(reader, None)
    starts: list[int] = []
    previous_end = reader.line_num
    for _row in reader:
        starts.append(previous_end + 1)
        previous_end = reader.line_num
    return pl.DataFrame(
        {RECORD: pl.Series(range(len(starts)), dtype=pl.UInt32), LINE: pl.Series(starts, dtype=pl.UInt32)}
    )
