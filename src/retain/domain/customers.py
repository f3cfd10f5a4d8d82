"""Customers as the store knows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Consent:
    """Marketing consent with its provenance; the newest statement wins."""

    granted: bool
    source: str
    at: datetime

    def newer_than(self, other: Consent | None) -> bool:
        return other is None or self.at > other.at


@dataclass(slots=True)
class Customer:
    external_id: str | None
    email: str | None
    name: str | None = None
    phone: str | None = None
    timezone: str | None = None
    created_at: datetime | None = None
    consent: Consent | None = None
    birthday: date | None = None
    attributes: dict[str, object] = field(default_factory=dict)
    id: int | None = None

    @property
    def first_name(self) -> str | None:
        if not self.name:
            return None
        return self.name.split()[0]


def normalize_email(raw: str | None) -> str | None:
    """Emails identify customers, so compare them trimmed and lower-cased."""
    if raw is None:
        return None
    cleaned = raw.strip().lower()
    return cleaned or None
