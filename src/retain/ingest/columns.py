"""Matching a file's header to field names: case-insensitive, with aliases."""

from __future__ import annotations


def normalize(header: str) -> str:
    return " ".join(header.strip().lower().replace("_", " ").split())


def match_columns(header: list[str], aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Field -> the header cell it is read from, for every field the header has."""
    by_name: dict[str, str] = {}
    for cell in header:
        by_name.setdefault(normalize(cell), cell)
    found: dict[str, str] = {}
    for field, names in aliases.items():
        for name in names:
            if normalize(name) in by_name:
                found[field] = by_name[normalize(name)]
                break
    return found
