"""Golden figures for the period metrics, worked out by hand from literal histories."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from retain.analytics.metrics import period_metrics
from retain.domain.metrics import Period, PeriodError
from tests.analytics.history import history

YEAR_2025 = Period(date(2025, 1, 1), date(2025, 12, 31))

# S is counted at 2025-01-01 00:00 (active since 2024-01-02: 2024 is a leap year),
# E at 2026-01-01 00:00 (active since 2025-01-01).
STORE = history(
    (1, "2024-03-01", 10_000), (1, "2025-02-01", 5_000),  # active at start and end
    (2, "2023-06-01", 8_000),  # lapsed long ago
    (3, "2022-01-01", 4_000), (3, "2025-06-15", 6_000),  # reactivated
    (4, "2025-03-10", 3_000), (4, "2025-04-10", 3_000),  # new, bought twice
    (5, "2024-12-31 23:59", 2_000),  # last minute before the period: active at start, lapsed at end
    (6, "2025-12-31 23:00", 1_000),  # first order in the last hour of the period
    (7, "2024-06-01", 7_000),  # active at start, no order since
)  # fmt: skip


def test_retention_counts_s_e_and_n_as_the_seed_defines_them() -> None:
    m = period_metrics(STORE, YEAR_2025)
    assert (m.customers_start, m.customers_end) == (3, 4)  # S: 1, 5, 7; E: 1, 3, 4, 6
    assert (m.new_customers, m.new_customers_active) == (2, 2)
    assert m.retention_rate == pytest.approx(2 / 3)  # (4 - 2) / 3
    assert m.churn_rate == pytest.approx(1 / 3)


def test_cohort_retention_does_not_count_reactivated_customers() -> None:
    m = period_metrics(STORE, YEAR_2025)
    assert m.cohort_retention == pytest.approx(1 / 3)  # only customer 1 of S is still active


def test_orders_revenue_and_their_ratios() -> None:
    m = period_metrics(STORE, YEAR_2025)
    assert (m.orders, m.revenue) == (5, 18_000)
    assert m.average_order_value == Decimal(3_600)
    assert m.purchase_frequency == pytest.approx(5 / 4)
    assert (m.revenue_new, m.revenue_returning) == (7_000, 11_000)  # 4 and 6; 1 and 3
    assert m.repeat_purchase_ratio == pytest.approx(2 / 4)  # customers 1 and 3 of 1, 3, 4, 6
    assert m.repeat_purchase_rate == pytest.approx(3 / 7)  # 1, 3, 4 of all seven


def test_median_days_between_orders_counts_gaps_ending_in_the_period() -> None:
    m = period_metrics(STORE, YEAR_2025)
    assert m.median_days_between_orders == pytest.approx(337)  # gaps of 31, 337 and 1261 days


def test_historical_clv_is_value_times_frequency_times_lifespan() -> None:
    m = period_metrics(STORE, YEAR_2025)
    assert m.lifespan_years == pytest.approx(3)  # a third churn a year
    assert float(m.historical_clv or 0) == pytest.approx(3_600 * 1.25 * 3)
    margin = period_metrics(STORE, YEAR_2025, gross_margin=0.4)
    assert float(margin.historical_clv or 0) == pytest.approx(3_600 * 1.25 * 3 * 0.4)


def test_a_shorter_activity_window_changes_who_counts_as_active() -> None:
    m = period_metrics(STORE, YEAR_2025, activity_window_days=30)
    assert (m.customers_start, m.customers_end) == (1, 1)  # customer 5 at the start, 6 at the end


def test_an_empty_period_has_no_rates_rather_than_false_zeros() -> None:
    m = period_metrics(STORE, Period(date(2021, 1, 1), date(2021, 1, 31)))
    assert (m.customers_start, m.orders, m.revenue) == (0, 0, 0)
    assert m.retention_rate is None
    assert m.average_order_value is None
    assert m.historical_clv is None


def test_a_store_with_a_single_customer() -> None:
    m = period_metrics(history((1, "2025-01-10", 500), (1, "2025-03-10", 700)), YEAR_2025)
    assert (m.customers_start, m.customers_end, m.new_customers, m.orders) == (0, 1, 1, 2)
    assert m.repeat_purchase_rate == 1
    assert m.repeat_purchase_ratio == 0
    assert m.median_days_between_orders == pytest.approx(59)


def test_days_follow_the_store_time_zone() -> None:
    late = history((1, "2025-01-01 03:00", 100))  # 22:00 on 31 December in New York
    assert period_metrics(late, Period(date(2025, 1, 1), date(2025, 1, 31))).orders == 1
    assert period_metrics(late, Period(date(2025, 1, 1), date(2025, 1, 31), "America/New_York")).orders == 0


def test_periods_that_cannot_be_measured_are_refused() -> None:
    with pytest.raises(PeriodError, match="before the start"):
        Period(date(2025, 2, 1), date(2025, 1, 1))
    with pytest.raises(PeriodError, match="in the future"):
        Period(date(2025, 1, 1), date(2025, 12, 31)).check_not_future(datetime(2025, 6, 1, tzinfo=UTC))
    with pytest.raises(PeriodError, match="no orders yet"):
        period_metrics(history(), YEAR_2025)


def test_one_currency_at_a_time() -> None:
    from retain.analytics.engine import Analytics

    mixed = Analytics(
        history((1, "2025-01-01", 1))
        .connection.sql("SELECT * FROM orders UNION ALL SELECT 2, TIMESTAMP '2025-01-02', 5, 'EUR'")
        .to_arrow_table()  # type: ignore[union-attr]
    )
    with pytest.raises(PeriodError, match="several currencies"):
        period_metrics(mixed, YEAR_2025)
