"""The dashboard's figures from one snapshot of the orders and scores: the overview (the year's
retention metrics, twelve monthly trends, revenue from new and returning customers, predicted
value and warning signs), the cohort triangles and the RFM grid with every segment's size and
value.

Each is plain JSON-able data (money in integer minor units), because it is computed once and
kept (``retain.analytics.insight_cache``), not recomputed on every page view.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from retain.analytics.cohorts import cohort_table
from retain.analytics.engine import Analytics
from retain.analytics.metrics import period_metrics
from retain.analytics.segments import Segmenter
from retain.domain.conditions import Condition
from retain.domain.metrics import Period, PeriodError, PeriodMetrics
from retain.domain.money import exponent
from retain.domain.surveys import net_promoter

TREND_MONTHS = 12
TOP_WARNINGS = 10


def _minor(value: Decimal | None) -> int | None:
    return None if value is None else int(value.to_integral_value(ROUND_HALF_EVEN))


def metrics_figures(m: PeriodMetrics) -> dict[str, Any]:
    return {
        "start": m.period.start.isoformat(), "end": m.period.end.isoformat(),
        "customers_start": m.customers_start, "customers_end": m.customers_end,
        "new_customers": m.new_customers, "retention_rate": m.retention_rate, "churn_rate": m.churn_rate,
        "repeat_purchase_rate": m.repeat_purchase_rate, "repeat_purchase_ratio": m.repeat_purchase_ratio,
        "orders": m.orders, "revenue": m.revenue, "revenue_new": m.revenue_new,
        "revenue_returning": m.revenue_returning, "average_order_value": _minor(m.average_order_value),
        "historical_clv": _minor(m.historical_clv), "purchase_frequency": m.purchase_frequency,
    }  # fmt: skip


def month_starts(today: date, months: int = TREND_MONTHS) -> list[date]:
    """The first days of the last ``months`` calendar months, the current one last."""
    starts = []
    year, month = today.year, today.month
    for _ in range(months):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _month_end(start: date, today: date) -> date:
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return min(following - timedelta(days=1), today)


def summary_figures(analytics: Analytics) -> dict[str, Any]:
    rows = analytics.rows(
        "SELECT currency, count(*), sum(net), min(placed_at), max(placed_at) FROM orders"
        " GROUP BY 1 ORDER BY 1"
    )
    firsts = [r[3] for r in rows]
    lasts = [r[4] for r in rows]
    return {
        "orders": sum(int(r[1]) for r in rows),
        "revenue": {str(r[0]): int(r[2]) for r in rows},
        "first_order_at": min(firsts).isoformat() if firsts else None,
        "last_order_at": max(lasts).isoformat() if lasts else None,
    }


def overview_figures(
    analytics: Analytics,
    today: date,
    timezone: str = "UTC",
    gross_margin: float | None = None,
    warning: tuple[float, int] = (0.5, 20_000),
) -> dict[str, Any]:
    """The overview's figures as of ``today`` (the store's calendar). ``warning`` is the churn
    probability above which, and the predicted CLV (minor units) from which, a customer is a
    warning sign."""
    found: dict[str, Any] = {"summary": summary_figures(analytics), "currency": None, "problem": None}
    try:
        found["currency"] = analytics.currency()
    except PeriodError as exc:
        found["problem"] = str(exc)
        return found
    year = Period(today - timedelta(days=364), today, timezone)
    found["year"] = metrics_figures(period_metrics(analytics, year, gross_margin=gross_margin))
    found["months"] = [
        {"month": f"{start:%Y-%m}"}
        | metrics_figures(period_metrics(analytics, Period(start, _month_end(start, today), timezone),
                                         gross_margin=gross_margin))
        for start in month_starts(today)
    ]  # fmt: skip
    found["scores"] = score_figures(analytics, *warning)
    return found


def score_figures(analytics: Analytics, churn_above: float, min_clv: int) -> dict[str, Any]:
    """What the latest predictions add up to, and the valuable customers slipping away."""
    ((scored, churn, alive, clv),) = analytics.rows(
        "SELECT count(*), avg(churn_probability), avg(p_alive), sum(predicted_clv) FROM scores"
    )
    if not scored:
        return {"scored": 0}
    where = "churn_probability > $churn AND predicted_clv >= $clv"
    params = {"churn": churn_above, "clv": min_clv}
    ((warnings,),) = analytics.rows(f"SELECT count(*) FROM scores WHERE {where}", params)
    top = analytics.rows(
        f"SELECT customer_id, churn_probability, predicted_clv FROM scores WHERE {where}"
        f" ORDER BY predicted_clv DESC, customer_id LIMIT {TOP_WARNINGS}",
        params,
    )
    return {
        "scored": int(scored), "mean_churn_probability": float(churn), "mean_p_alive": float(alive),
        "predicted_clv": int(clv), "mean_predicted_clv": int(clv) // int(scored),
        "warning": {
            "churn_above": churn_above, "min_clv": min_clv, "count": int(warnings),
            "top": [{"customer_id": int(c), "churn_probability": float(p), "predicted_clv": int(v)}
                    for c, p, v in top],
        },
    }  # fmt: skip


def nps_figures(answers: Iterable[tuple[datetime, int]], today: date, timezone: str) -> dict[str, Any]:
    """NPS over the last twelve months, and month by month."""
    zone = ZoneInfo(timezone)
    starts = month_starts(today)
    months: dict[str, list[int]] = {f"{start:%Y-%m}": [] for start in starts}
    for at, score in answers:
        key = f"{at.astimezone(zone):%Y-%m}"
        if key in months:
            months[key].append(score)
    overall = net_promoter(s for scores in months.values() for s in scores)
    by_month = {key: net_promoter(scores) for key, scores in months.items()}
    return {
        "score": overall.score, "responses": overall.responses,
        "months": [{"month": key, "score": n.score, "responses": n.responses} for key, n in by_month.items()],
    }  # fmt: skip


def nps_since(today: date, timezone: str) -> datetime:
    """The first instant the NPS figures count."""
    first = month_starts(today)[0]
    return datetime(first.year, first.month, 1, tzinfo=ZoneInfo(timezone))


def cohort_figures(analytics: Analytics, timezone: str = "UTC") -> dict[str, Any]:
    """The monthly and quarterly triangles: each cohort's size, retention and revenue by period."""
    try:
        analytics.currency()
    except PeriodError as exc:
        return {"problem": str(exc)}
    found: dict[str, Any] = {"problem": None}
    for grain in ("month", "quarter"):
        table = cohort_table(analytics, grain, timezone)
        found[grain] = [
            {"label": table.label(c.start), "size": c.size, "retention": list(c.retention),
             "revenue": list(c.revenue)}
            for c in table.cohorts
        ]  # fmt: skip
        found["currency"] = table.currency
    return found


_GRID_SQL = """
SELECT recency_score, frequency_score, rfm_segment, count(*), coalesce(sum(revenue_minor), 0)
FROM customer_features GROUP BY ALL ORDER BY 1 DESC, 2
"""
_VALUE_SQL = """
SELECT {column}, count(*), coalesce(sum(revenue_minor), 0), avg(predicted_clv), avg(churn_probability),
       avg(orders), avg(days_since_last_order)
FROM customer_features GROUP BY 1
"""


def segment_figures(analytics: Analytics, as_of: datetime, rules: Mapping[str, Condition]) -> dict[str, Any]:
    """The 5 x 5 recency-frequency grid, and every segment's size and value."""
    try:
        segmenter = Segmenter(analytics, as_of)
    except PeriodError as exc:
        return {"problem": str(exc)}
    currency = analytics.currency()
    power = 10 ** exponent(currency)
    total = int(segmenter.total_revenue)
    grid = [
        {"recency": int(r), "frequency": int(f), "segment": name, "customers": int(n), "revenue": int(v)}
        for r, f, name, n, v in analytics.rows(_GRID_SQL)
    ]
    segments = []
    for kind, column in (("rfm", "rfm_segment"), ("group", '"group"')):
        for name, n, revenue, clv, churn, orders, days in analytics.rows(_VALUE_SQL.format(column=column)):
            segments.append(
                {"key": f"{kind}:{name}", "name": name, "kind": kind, "customers": int(n),
                 "revenue": int(revenue), "share": int(revenue) / total if total else 0.0,
                 "mean_predicted_clv": None if clv is None else round(float(clv) * power),
                 "mean_churn_probability": None if churn is None else float(churn),
                 "mean_orders": float(orders), "mean_days_since_last_order": float(days)}
            )  # fmt: skip
    for name, condition in rules.items():
        size = segmenter.rule_size(name, condition)
        segments.append(
            {"key": f"rule:{name}", "name": name, "kind": "rule", "customers": size.customers,
             "revenue": size.revenue, "share": size.revenue_share, "mean_predicted_clv": None,
             "mean_churn_probability": None, "mean_orders": None, "mean_days_since_last_order": None}
        )  # fmt: skip
    segments.sort(key=lambda s: (s["kind"] != "rfm", -s["revenue"]))
    return {"problem": None, "currency": currency, "customers": sum(g["customers"] for g in grid),
            "revenue": total, "grid": grid, "segments": segments}  # fmt: skip
