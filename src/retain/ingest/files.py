"""Getting a file's bytes and header, with one-line errors for everything that can go wrong."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path


class ImportFileError(Exception):
    """The file cannot be imported at all; the message is one line for the user."""


HEAD_BYTES = 1 << 16


def read_head(path: Path) -> bytes:
    """The start of the file (enough for its header), with the same checks as ``read_bytes``."""
    return read_bytes(path, limit=HEAD_BYTES)


def read_bytes(path: Path, limit: int | None = None) -> bytes:
    """The file's content (or its first ``limit`` bytes) without a UTF-8 BOM; refuses non-text."""
    try:
        with path.open("rb") as handle:
            data = handle.read() if limit is None else handle.read(limit)
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise ImportFileError(f"{path}: permission denied") from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(f"{path}: is UTF-16 text; save it as UTF-8 (CSV UTF-8) and retry")
    if not data.strip():
        raise ImportFileError(f"{path}: file is empty")
    return data


def encoding_error(path: Path, data: bytes) -> ImportFileError | None:
    """A clear error naming the first line that is not UTF-8, or None when all of it is."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        looks_latin1 = all(b >= 0xA0 for b in data[exc.start : exc.end])
        guess = " (it looks like Latin-1 / Windows-1252)" if looks_latin1 else ""
        return ImportFileError(
            f"{path}: line {line} is not UTF-8{guess}; re-save the file as UTF-8 and retry"
        )
    return None


def first_line(data: bytes) -> str:
    end = data.find(b"\n")
    raw = data if end < 0 else data[:end]
    return raw.decode("utf-8", errors="replace").rstrip("\r")


def sniff_delimiter(header_line: str) -> str:
    """The most frequent of the usual delimiters in the header line (comma by default)."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_header(data: bytes, delimiter: str) -> list[str]:
    row = next(csv.reader(io.StringIO(first_line(data)), delimiter=delimiter), [])
    return [cell.strip() for cell in row]
