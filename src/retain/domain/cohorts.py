"""Cohort triangles: customers grouped by the period of their first order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

Grain = Literal["month", "quarter"]
CohortMetric = Literal["customers", "revenue"]


@dataclass(frozen=True, slots=True)
class Cohort:
    start: date  # first day of the cohort's period
    size: int  # customers whose first order falls in it
    # Per period since the first (0, 1, 2...): customers who ordered, and their revenue (minor units).
    active: tuple[int, ...]
    revenue: tuple[int, ...]

    @property
    def retention(self) -> tuple[float, ...]:
        """Share of the cohort ordering in each period; period 0 is 1 by construction."""
        return tuple(n / self.size for n in self.active)


@dataclass(frozen=True, slots=True)
class CohortTable:
    grain: Grain
    currency: str
    cohorts: tuple[Cohort, ...]

    def label(self, start: date) -> str:
        if self.grain == "month":
            return f"{start:%Y-%m}"
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"

    def values(self, metric: CohortMetric, cohort: Cohort) -> tuple[float, ...] | tuple[int, ...]:
        return cohort.retention if metric == "customers" else cohort.revenue
