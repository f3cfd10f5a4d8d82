"""Discount codes: unique, unguessable, single-use, with a value, a minimum order and an expiry.

A code is twelve characters from an alphabet without look-alikes (no 0/O, 1/I/L), drawn
with ``secrets``: 31^12, about 8 x 10^17 possibilities, so a customer cannot guess another's
code. It is shown in groups of four (``K7QX-M2PD-9HTW``) for reading aloud; matching ignores
case, spaces and dashes, since people and store platforms write codes either way.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 12
DiscountKind = Literal["percent", "fixed", "free_shipping"]
KINDS: tuple[str, ...] = get_args(DiscountKind)


class DiscountError(ValueError):
    """A discount that a store could not honour; the message says which part is wrong."""


def new_code() -> str:
    return grouped("".join(secrets.choice(ALPHABET) for _ in range(LENGTH)))


def grouped(code: str) -> str:
    """A code as people read it: ``K7QXM2PD9HTW`` as ``K7QX-M2PD-9HTW``."""
    plain = normalise(code)
    return "-".join(plain[i : i + 4] for i in range(0, len(plain), 4))


def normalise(code: str) -> str:
    """The form codes are compared in: upper case, without spaces or dashes."""
    return re.sub(r"[\s\-]", "", code).upper()


def codes_in(text: str | None) -> set[str]:
    """The codes an order's discount field names (Shopify separates several with commas)."""
    if not text:
        return set()
    return {normalise(part) for part in re.split(r"[,;]", text) if part.strip()}


@dataclass(frozen=True)
class DiscountSpec:
    """What every code of a batch gives: ``value`` is percent points for ``percent``, minor
    units of ``currency`` for ``fixed``, and 0 for ``free_shipping``."""

    kind: DiscountKind
    value: int
    currency: str
    minimum_order: int = 0  # minor units; 0 for none
    expires_at: datetime | None = None
    purpose: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DiscountError(f"kind: {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind == "percent" and not 0 < self.value <= 100:
            raise DiscountError(f"value: a percent discount takes 1 to 100, not {self.value}")
        if self.kind == "fixed" and self.value <= 0:
            raise DiscountError(f"value: a fixed discount must be above zero, not {self.value}")
        if self.kind == "free_shipping" and self.value != 0:
            raise DiscountError("value: free shipping takes no value")
        if self.minimum_order < 0:
            raise DiscountError(f"minimum_order: must not be negative, not {self.minimum_order}")
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise DiscountError("expires_at: needs a time zone")
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise DiscountError(f"currency: {self.currency!r} is not an ISO 4217 code")
