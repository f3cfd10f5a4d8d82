"""Retention metrics of a period: what they mean, independent of how they are computed.

Definitions (also in the README and ``retain metrics --help``):

- A customer is *active* at an instant if their last non-cancelled order placed before that
  instant is no older than the activity window (365 days by default).
- A period is whole days in the store's time zone: S is counted at the start of the first
  day, E at the end of the last day.
- S: customers active at the start. E: customers active at the end. N: customers whose
  first order falls in the period and who are active at the end.
- Retention rate = (E - N) / S (seed 002); churn rate = 1 - retention rate. Because E - N
  also counts customers who lapsed before the period and came back, the cohort retention
  (share of the S customers still active at the end) is reported beside it.
- Orders and revenue: non-cancelled orders placed in the period; revenue is totals net of
  refunds. Average order value = revenue / orders. Purchase frequency = orders per customer
  who ordered in the period.
- Repeat purchase rate: share of customers with two or more orders up to the end, among
  customers with at least one. Repeat purchase ratio: returning customers (who ordered in
  the period and had ordered before it) / all customers who ordered in the period.
- Median days between orders: over consecutive orders of a customer where the later one
  falls in the period.
- Historical CLV (seed 003) = average order value x purchases per year x average customer
  lifespan in years. Purchases per year = purchase frequency scaled to a 365-day year.
  Lifespan = 1 / yearly churn, the yearly churn being the period's churn scaled to 365 days
  (1 - retention ** (365 / days in period)); there is no CLV when nobody churned. With a
  gross margin configured, it is multiplied by the margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

DEFAULT_ACTIVITY_WINDOW_DAYS = 365


class PeriodError(ValueError):
    """A period that cannot be measured; the message is for the user."""


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # inclusive
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise PeriodError(f"the end {self.end} is before the start {self.start}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=ZoneInfo(self.timezone)).astimezone(UTC)

    @property
    def starts_at(self) -> datetime:
        """The first instant of the period, in UTC."""
        return self._midnight(self.start)

    @property
    def ends_at(self) -> datetime:
        """The first instant after the period, in UTC."""
        return self._midnight(self.end + timedelta(days=1))

    def check_not_future(self, now: datetime) -> None:
        today = now.astimezone(ZoneInfo(self.timezone)).date()
        if self.end > today:
            raise PeriodError(f"the end {self.end} is in the future (today is {today} in {self.timezone})")


@dataclass(frozen=True, slots=True)
class PeriodMetrics:
    period: Period
    activity_window_days: int
    currency: str
    customers_start: int
    customers_end: int
    new_customers: int
    new_customers_active: int
    start_customers_still_active: int
    orders: int
    revenue: int  # minor units
    revenue_new: int
    revenue_returning: int
    purchasing_customers: int
    returning_customers: int
    customers_to_end: int
    repeat_customers_to_end: int
    median_days_between_orders: float | None
    gross_margin: float | None = None

    @property
    def retention_rate(self) -> float | None:
        if self.customers_start == 0:
            return None
        return (self.customers_end - self.new_customers_active) / self.customers_start

    @property
    def churn_rate(self) -> float | None:
        rate = self.retention_rate
        return None if rate is None else 1 - rate

    @property
    def cohort_retention(self) -> float | None:
        if self.customers_start == 0:
            return None
        return self.start_customers_still_active / self.customers_start

    @property
    def average_order_value(self) -> Decimal | None:
        """In minor units, exact."""
        return None if self.orders == 0 else Decimal(self.revenue) / self.orders

    @property
    def purchase_frequency(self) -> float | None:
        return None if self.purchasing_customers == 0 else self.orders / self.purchasing_customers

    @property
    def repeat_purchase_rate(self) -> float | None:
        return None if self.customers_to_end == 0 else self.repeat_customers_to_end / self.customers_to_end

    @property
    def repeat_purchase_ratio(self) -> float | None:
        if self.purchasing_customers == 0:
            return None
        return self.returning_customers / self.purchasing_customers

    @property
    def lifespan_years(self) -> float | None:
        retention = self.retention_rate
        if retention is None or retention >= 1:
            return None
        yearly_churn = 1 - float(max(retention, 0.0) ** (365 / self.period.days))
        return 1 / yearly_churn

    @property
    def historical_clv(self) -> Decimal | None:
        """Minor units; margin-adjusted when a gross margin is set."""
        aov, frequency, lifespan = self.average_order_value, self.purchase_frequency, self.lifespan_years
        if aov is None or frequency is None or lifespan is None:
            return None
        per_year = Decimal(frequency * 365 / self.period.days)
        value = aov * per_year * Decimal(lifespan)
        if self.gross_margin is not None:
            value *= Decimal(str(self.gross_margin))
        return value
