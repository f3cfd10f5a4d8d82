"""Storing predictions so segments and flows can use them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from retain.service.ports import UnitOfWork


def store_scores(uow: UnitOfWork, rows: Sequence[dict[str, Any]]) -> int:
    """Replace every customer's stored score in one transaction; returns how many."""
    with uow:
        uow.scores.replace(rows)
        uow.commit()
    return len(rows)
