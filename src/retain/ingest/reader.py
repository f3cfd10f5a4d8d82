"""Read any supported order file into a validated ``ParsedFile``."""

from __future__ import annotations

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
from retain.ingest.rejects import describe, split
from retain.ingest.table import BAD
from retain.ingest.validate import REASON, validate
from retain.service.batch import OrderBatch, ParsedFile

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


def read_orders(
    path: Path, fmt: Format = "auto", options: ReadOptions | None = None
) -> ParsedFile[OrderBatch]:
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
    rejects, good = split(checked, "order_key", "order")
    del checked
    batch = build_batch(good)
    del good
    return ParsedFile(
        format=chosen,
        rows=rows,
        batch=batch,
        rejects=describe(rejects, path, delimiter, raw_lines=chosen == "cdnow"),
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


def write_rejects(rejects: pl.DataFrame, path: Path) -> None:
    rejects.drop("at_fault").write_csv(path)


__all__ = ["FORMATS", "ORDER_ROW", "Format", "ImportFileError", "ReadOptions", "read_orders", "write_rejects"]
