"""Spelling numbers, codes and times as export text, as Polars expressions."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import polars as pl

STORE_OFFSET = "-0500"  # one fixed offset keeps the demo free of DST edge cases


def lookup(values: Sequence[str | None], index: pl.Expr) -> pl.Expr:
    """``values[index]``, or empty for a negative index."""
    table = pl.lit(pl.Series(list(values), dtype=pl.String))
    return pl.when(index >= 0).then(table.gather(index.clip(lower_bound=0)))


def money(cents: pl.Expr) -> pl.Expr:
    return pl.format("{}.{}", cents // 100, zero_padded(cents % 100, 2))


def zero_padded(number: pl.Expr, width: int) -> pl.Expr:
    return number.cast(pl.String).str.zfill(width)


def timestamp(column: str) -> pl.Expr:
    seconds = pl.col(column)
    stamp = pl.from_epoch(seconds, time_unit="s").dt.strftime(f"%Y-%m-%d %H:%M:%S {STORE_OFFSET}")
    return pl.when(seconds >= 0).then(stamp)


def either(flag: pl.Expr, yes: str, no: str) -> pl.Expr:
    return pl.when(flag).then(pl.lit(yes)).otherwise(pl.lit(no))


def yes_no(flag: pl.Expr) -> pl.Expr:
    return either(flag, "yes", "no")


_NOT_DECOMPOSABLE = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "ß": "ss", "ł": "l", "đ": "d"})


def slug(text: str, separator: str) -> str:
    """ASCII, lower case, words joined by ``separator``: "Zoë O'Brien" -> "zoe-obrien"."""
    spelled = text.translate(_NOT_DECOMPOSABLE)
    plain = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode("ascii").lower()
    words = re.sub(r"[^a-z0-9\s-]", "", plain.replace("&", " and ")).replace("-", " ").split()
    return separator.join(words)
