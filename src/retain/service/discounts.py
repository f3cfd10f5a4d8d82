"""Issue single-use discount codes, for anyone or for given customers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from retain.domain.discounts import DiscountError, DiscountSpec
from retain.service.ports import UnitOfWork

MAX_BATCH = 1_000_000


def issue_codes(
    uow: UnitOfWork,
    spec: DiscountSpec,
    now: datetime,
    count: int = 0,
    customer_ids: Sequence[int] = (),
) -> list[str]:
    """``count`` codes anyone may use, or one per customer in ``customer_ids``; all or none."""
    owners: list[int | None] = list(customer_ids) if customer_ids else [None] * count
    if not 0 < len(owners) <= MAX_BATCH:
        raise DiscountError(f"count: ask for 1 to {MAX_BATCH:,} codes, not {len(owners):,}")
    if spec.expires_at is not None and spec.expires_at <= now:
        raise DiscountError(f"expires_at: {spec.expires_at:%Y-%m-%d %H:%M} has already passed")
    with uow:
        codes = uow.codes.issue(spec, owners, now)
        uow.commit()
    return codes
