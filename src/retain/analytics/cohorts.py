"""The cohort triangles as one set-based query."""

from __future__ import annotations

from datetime import date

from retain.analytics.engine import Analytics
from retain.domain.cohorts import Cohort, CohortTable, Grain

# Periods follow the store's calendar: UTC instants are moved to its zone before truncating.
COHORT_SQL = """
WITH local AS (
    SELECT customer_id, date_trunc($grain, timezone($zone, placed_at::TIMESTAMPTZ))::DATE AS period, net
    FROM orders
), first AS (
    SELECT customer_id, min(period) AS cohort FROM local GROUP BY customer_id
)
SELECT
    first.cohort,
    date_diff($grain, first.cohort, local.period) AS age,
    count(DISTINCT local.customer_id) AS customers,
    sum(local.net) AS revenue
FROM local JOIN first USING (customer_id)
GROUP BY ALL
ORDER BY 1, 2
"""

LATEST_SQL = "SELECT max(date_trunc($grain, timezone($zone, placed_at::TIMESTAMPTZ)))::DATE FROM orders"


def cohort_table(analytics: Analytics, grain: Grain = "month", timezone: str = "UTC") -> CohortTable:
    """Every cohort with its active customers and revenue for each later period."""
    currency = analytics.currency()
    params = {"grain": grain, "zone": timezone}
    rows = analytics.rows(COHORT_SQL, params)
    ((latest,),) = analytics.rows(LATEST_SQL, params)
    cells: dict[date, dict[int, tuple[int, int]]] = {}
    for cohort, age, customers, revenue in rows:
        cells.setdefault(cohort, {})[int(age)] = (int(customers), int(revenue))
    cohorts = []
    for start, by_age in cells.items():
        # A row stops at the latest period with orders: later cells are unknown, not zero.
        width = _periods_between(start, latest, grain) + 1
        active = tuple(by_age.get(k, (0, 0))[0] for k in range(width))
        revenue = tuple(by_age.get(k, (0, 0))[1] for k in range(width))
        cohorts.append(Cohort(start=start, size=by_age[0][0], active=active, revenue=revenue))
    return CohortTable(grain=grain, currency=currency, cohorts=tuple(cohorts))


def _periods_between(first: date, last: date, grain: Grain) -> int:
    months = (last.year - first.year) * 12 + last.month - first.month
    return months if grain == "month" else months // 3
