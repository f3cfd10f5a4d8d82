"""Read any supported order file into a validated ``ParsedFile``."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from retain.ingest import cdnow, generic, shopify
from retain.ingest.build import build_batch
from retain.ingest.canonical import ORDER_ROW, ParseSpec
from retain.ingest.files import (
    ImportFileError,
    encoding_error,
    first_line,
    parse_header,
    read_bytes,
    read_head,
    sniff_delimiter,
)
from retain.ingest.table import BAD, LINE, RECORD, line_numbers
from retain.ingest.validate import REASON, validate
from retain.service.batch import ParsedFile

Format = Literal["auto", "shopify", "csv", "cdnow"]
FORMATS: tuple[Format, ...] = ("auto", "shopify", "csv", "cdnow")


@dataclass(frozen=True)
class ReadOptions:
    mapping: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    timezone: str = "UTC"
    currency: str | None = None
    delimiter: str | None = None


def detect_format(data: bytes, delimiter: str) -> Format:
    first = first_line(data)
    if cdnow.looks_like(first):
        return "cdnow"
    if shopify.looks_like(parse_header(data, delimiter)):
        return "shopify"
    return "csv"


def read_orders(path: Path, fmt: Format = "auto", options: ReadOptions | None = None) -> ParsedFile:
    """Parse and validate ``path``; raises ``ImportFileError`` when nothing can be read."""
    options = options or ReadOptions()
    head = read_head(path)
    delimiter = options.delimiter or sniff_delimiter(first_line(head))
    chosen = detect_format(head, delimiter) if fmt == "auto" else fmt
    try:
        raw, spec = _parse(chosen, path, head, delimiter, options)
    except (pl.exceptions.ComputeError, UnicodeDecodeError):
        error = encoding_error(path, read_bytes(path))
        if error is None:
            raise
        raise error from None
    if raw.height == 0:
        raise ImportFileError(f"{path}: no rows below the header")
    rows = raw.height
    # Each stage's input is dropped as soon as the next exists: a million rows of strings
    # held twice is what would push an import past its memory budget.
    checked = validate(raw, spec)
    del raw
    if BAD in checked.columns:
        checked = checked.with_columns(pl.coalesce(BAD, REASON).alias(REASON))
    rejects, good = _split(checked)
    del checked
    batch = build_batch(good)
    del good
    return ParsedFile(
        format=chosen,
        rows=rows,
        batch=batch,
        rejects=_describe_rejects(rejects, path, delimiter, chosen),
    )


def _parse(
    fmt: Format, path: Path, head: bytes, delimiter: str, options: ReadOptions
) -> tuple[pl.DataFrame, ParseSpec]:
    if fmt == "cdnow":
        return cdnow.read(read_bytes(path))
    header = parse_header(head, delimiter)
    if fmt == "shopify":
        return shopify.read(path, header, delimiter)
    return generic.read(
        path,
        header,
        delimiter,
        generic.parse_mapping([f"{k}={v}" for k, v in options.mapping.items()]),
        date_format=options.date_format,
        timezone=options.timezone,
        currency=options.currency,
    )


def _split(checked: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A bad row spoils its whole order: a half-imported order would be wrong."""
    if checked[REASON].null_count() == checked.height and checked["order_key"].null_count() == 0:
        return pl.DataFrame(schema={RECORD: pl.UInt32, REASON: pl.String, "at_fault": pl.Boolean}), checked
    at_fault = pl.col(REASON).is_not_null()
    spoiled = at_fault.any().over("order_key") | pl.col("order_key").is_null()
    marked = checked.with_columns(spoiled.alias("__spoiled"), at_fault.alias("at_fault"))
    bad = marked.filter(pl.col("__spoiled")).with_columns(
        pl.coalesce(REASON, pl.format("another row of order {} is invalid", pl.col("order_key"))).alias(
            REASON
        )
    )
    good = marked.filter(~pl.col("__spoiled")).drop("__spoiled", "at_fault")
    return bad.select(RECORD, REASON, "at_fault", *([LINE] if LINE in bad.columns else [])), good


def _describe_rejects(rejects: pl.DataFrame, path: Path, delimiter: str, fmt: Format) -> pl.DataFrame:
    """Rejected rows with their physical line, reason and original cells, in file order."""
    empty = pl.DataFrame(schema={"line": pl.UInt32, "reason": pl.String, "at_fault": pl.Boolean})
    if rejects.height == 0:
        return empty
    data = read_bytes(path)
    if fmt == "cdnow":
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


def write_rejects(rejects: pl.DataFrame, path: Path) -> None:
    rejects.drop("at_fault").write_csv(path)


__all__ = ["FORMATS", "ORDER_ROW", "Format", "ImportFileError", "ReadOptions", "read_orders", "write_rejects"]
