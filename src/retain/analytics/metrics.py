"""Period metrics as one set-based query (definitions: ``retain.domain.metrics``)."""

from __future__ import annotations

from datetime import timedelta

from retain.analytics.engine import Analytics, naive_utc
from retain.domain.metrics import DEFAULT_ACTIVITY_WINDOW_DAYS, Period, PeriodError, PeriodMetrics

# Bounds: $start and $end are the period's first and first-after instants; a customer is
# active at an instant t when their last order before t is at or after t - window, i.e.
# $start_cut for S and $end_cut for E.
PERIOD_SQL = """
WITH customer AS (
    SELECT
        customer_id,
        min(placed_at) AS first_at,
        max(placed_at) FILTER (WHERE placed_at < $start) AS last_before_start,
        max(placed_at) FILTER (WHERE placed_at < $end) AS last_before_end,
        count(*) FILTER (WHERE placed_at < $end) AS orders_to_end,
        count(*) FILTER (WHERE placed_at >= $start AND placed_at < $end) AS orders_in,
        coalesce(sum(net) FILTER (WHERE placed_at >= $start AND placed_at < $end), 0) AS revenue_in
    FROM orders
    GROUP BY customer_id
), flags AS (
    SELECT
        *,
        coalesce(last_before_start >= $start_cut, FALSE) AS active_start,
        coalesce(last_before_end >= $end_cut, FALSE) AS active_end,
        first_at >= $start AND first_at < $end AS is_new
    FROM customer
)
SELECT
    count(*) FILTER (WHERE active_start),
    count(*) FILTER (WHERE active_end),
    count(*) FILTER (WHERE is_new),
    count(*) FILTER (WHERE is_new AND active_end),
    count(*) FILTER (WHERE active_start AND active_end),
    coalesce(sum(orders_in), 0),
    coalesce(sum(revenue_in), 0),
    coalesce(sum(revenue_in) FILTER (WHERE is_new), 0),
    coalesce(sum(revenue_in) FILTER (WHERE first_at < $start), 0),
    count(*) FILTER (WHERE orders_in > 0),
    count(*) FILTER (WHERE orders_in > 0 AND first_at < $start),
    count(*) FILTER (WHERE orders_to_end >= 1),
    count(*) FILTER (WHERE orders_to_end >= 2)
FROM flags
"""

GAPS_SQL = """
WITH gaps AS (
    SELECT
        placed_at,
        epoch(placed_at - lag(placed_at) OVER (PARTITION BY customer_id ORDER BY placed_at)) / 86400.0 AS days
    FROM orders
)
SELECT median(days) FROM gaps WHERE days IS NOT NULL AND placed_at >= $start AND placed_at < $end
"""


def period_metrics(
    analytics: Analytics,
    period: Period,
    activity_window_days: int = DEFAULT_ACTIVITY_WINDOW_DAYS,
    gross_margin: float | None = None,
) -> PeriodMetrics:
    """The seed metrics of ``period`` over every order the analytics hold."""
    if activity_window_days < 1:
        raise PeriodError("the activity window must be at least one day")
    currency = analytics.currency()
    start, end = naive_utc(period.starts_at), naive_utc(period.ends_at)
    window = timedelta(days=activity_window_days)
    bounds = {"start": start, "end": end, "start_cut": start - window, "end_cut": end - window}
    (row,) = analytics.rows(PERIOD_SQL, bounds)
    ((median,),) = analytics.rows(GAPS_SQL, {"start": start, "end": end})
    (
        s,
        e,
        new,
        new_active,
        still,
        orders,
        revenue,
        rev_new,
        rev_returning,
        buyers,
        returning,
        known,
        repeat,
    ) = (int(v) for v in row)
    return PeriodMetrics(
        period=period,
        activity_window_days=activity_window_days,
        currency=currency,
        customers_start=s,
        customers_end=e,
        new_customers=new,
        new_customers_active=new_active,
        start_customers_still_active=still,
        orders=orders,
        revenue=revenue,
        revenue_new=rev_new,
        revenue_returning=rev_returning,
        purchasing_customers=buyers,
        returning_customers=returning,
        customers_to_end=known,
        repeat_customers_to_end=repeat,
        median_days_between_orders=None if median is None else float(median),
        gross_margin=gross_margin,
    )
