"""Defining rule segments and recording who enters and leaves every segment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from retain.domain.conditions import RuleError, compile_rule
from retain.domain.segments import CUSTOMER_FIELDS, builtin_segments
from retain.service.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class Refresh:
    segment: str
    members: int
    entered: int
    left: int


def define_segment(uow: UnitOfWork, name: str, rule: Any, now: datetime) -> bool:
    """Validate and save a rule segment; True when it is new. Raises ``RuleError``."""
    if not name.strip():
        raise RuleError("", "a segment needs a name")
    if name in builtin_segments():
        raise RuleError("", f"{name!r} is a built-in segment; choose another name")
    compile_rule(rule, CUSTOMER_FIELDS)
    with uow:
        created = uow.segments.save_rule(name, rule, now)
        uow.commit()
    return created


def refresh_segments(uow: UnitOfWork, memberships: Mapping[str, set[int]], as_of: datetime) -> list[Refresh]:
    """Store today's members of every segment, logging each entry and exit as of ``as_of``.

    A stored segment missing from ``memberships`` (a deleted rule) is emptied.
    """
    report = []
    with uow:
        for key in sorted(set(memberships) | uow.segments.keys()):
            now_in = memberships.get(key, set())
            before = uow.segments.members(key)
            entered, left = now_in - before, before - now_in
            uow.segments.apply(key, entered, left, as_of)
            report.append(Refresh(key, len(now_in), len(entered), len(left)))
        uow.commit()
    return report
