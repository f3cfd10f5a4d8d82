"""Per-customer features, RFM scores, named segments and groups, and rule evaluation.

Everything is set-based SQL over the orders; the segment names and group rules come from
``retain.domain.segments`` so the table there is the one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from retain.analytics.engine import Analytics, naive_utc
from retain.domain.conditions import Condition, Group, Leaf
from retain.domain.metrics import DEFAULT_ACTIVITY_WINDOW_DAYS
from retain.domain.money import exponent
from retain.domain.segments import CUSTOMER_FIELDS, LOYAL_MIN_ORDERS, LOYAL_MIN_RECENCY_SCORE, RFM_SEGMENTS

FIELDS = CUSTOMER_FIELDS


def _score(column: str, descending: bool = False) -> str:
    # Quintiles by percent rank: customers tied on a value share their score.
    order = f"{column} DESC" if descending else column
    return f"least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY {order})))::INTEGER"


def _in(column: str, values: frozenset[int]) -> str:
    return f"{column} IN ({', '.join(str(v) for v in sorted(values))})"


_RFM_CASE = (
    "CASE "
    + " ".join(
        f"WHEN {_in('recency_score', r.recency)} AND {_in('frequency_score', r.frequency)} THEN '{r.name}'"
        for r in RFM_SEGMENTS
    ).replace("'Can't", "'Can''t")
    + " END"
)

FEATURES_SQL = f"""
CREATE OR REPLACE TEMP TABLE customer_features AS
WITH base AS (
    SELECT
        customer_id,
        count(*) AS orders,
        sum(net) AS revenue_minor,
        min(placed_at) AS first_at,
        max(placed_at) AS last_at
    FROM orders
    WHERE placed_at < $as_of
    GROUP BY customer_id
), scored AS (
    SELECT
        *,
        revenue_minor / $power AS revenue,
        revenue_minor / $power / orders AS average_order_value,
        scores.p_alive,
        scores.churn_probability,
        scores.predicted_orders,
        scores.predicted_clv / $power AS predicted_clv,
        date_diff('day', last_at, $as_of) AS days_since_last_order,
        date_diff('day', first_at, $as_of) AS days_since_first_order,
        last_at >= $active_since AS active,
        {_score("date_diff('day', last_at, $as_of)", descending=True)} AS recency_score,
        {_score("orders")} AS frequency_score,
        {_score("revenue_minor")} AS monetary_score
    FROM base LEFT JOIN scores USING (customer_id)
)
SELECT
    *,
    {_RFM_CASE} AS rfm_segment,
    CASE
        WHEN NOT active THEN 'non-active'
        WHEN orders >= {LOYAL_MIN_ORDERS} AND recency_score >= {LOYAL_MIN_RECENCY_SCORE} THEN 'loyal'
        ELSE 'underperforming'
    END AS "group"
FROM scored
"""

SUMMARY_SQL = """
SELECT {column} AS segment, count(*) AS customers, sum(revenue_minor) AS revenue
FROM customer_features GROUP BY 1 ORDER BY 3 DESC
"""


@dataclass(frozen=True, slots=True)
class SegmentSize:
    name: str
    kind: str  # "rfm", "group" or "rule"
    customers: int
    revenue: int  # minor units, net
    revenue_share: float


class Segmenter:
    """Features of every customer as of one instant, ready for segment queries."""

    def __init__(
        self, analytics: Analytics, as_of: datetime, window_days: int = DEFAULT_ACTIVITY_WINDOW_DAYS
    ):
        currency = analytics.currency()
        self.analytics, self.as_of = analytics, as_of
        at = naive_utc(as_of)
        params = {
            "as_of": at,
            "active_since": at - timedelta(days=window_days),
            "power": 10 ** exponent(currency),
        }
        analytics.connection.execute(FEATURES_SQL, params)
        ((self.total_revenue,),) = analytics.rows(
            "SELECT coalesce(sum(revenue_minor), 0) FROM customer_features"
        )

    def sizes(self, kind: str) -> list[SegmentSize]:
        column = {"rfm": "rfm_segment", "group": '"group"'}[kind]
        rows = self.analytics.rows(SUMMARY_SQL.format(column=column))
        return [self._size(name, kind, n, revenue) for name, n, revenue in rows]

    def _size(self, name: str, kind: str, customers: int, revenue: Any) -> SegmentSize:
        total = int(self.total_revenue) or 1
        return SegmentSize(name, kind, int(customers), int(revenue), int(revenue) / total)

    def members(self, condition: Condition) -> list[int]:
        where, params = to_sql(condition)
        return [
            c
            for (c,) in self.analytics.rows(
                f"SELECT customer_id FROM customer_features WHERE {where} ORDER BY 1", params
            )
        ]

    def rule_size(self, name: str, condition: Condition) -> SegmentSize:
        where, params = to_sql(condition)
        ((n, revenue),) = self.analytics.rows(
            f"SELECT count(*), coalesce(sum(revenue_minor), 0) FROM customer_features WHERE {where}", params
        )
        return self._size(name, "rule", n, revenue)

    def memberships(self, rules: dict[str, Condition]) -> dict[str, set[int]]:
        """Members of every segment: "rfm:<name>", "group:<name>" and "rule:<name>"."""
        found: dict[str, set[int]] = {}
        for prefix, column in (("rfm", "rfm_segment"), ("group", '"group"')):
            rows = self.analytics.rows(
                f"SELECT {column}, list(customer_id) FROM customer_features GROUP BY 1"
            )
            found |= {f"{prefix}:{name}": set(ids) for name, ids in rows}
        for name, condition in rules.items():
            found[f"rule:{name}"] = set(self.members(condition))
        return found

    def scores(self) -> dict[int, tuple[int, int, int, str, str]]:
        """customer_id -> (recency, frequency, monetary score, RFM segment, group)."""
        rows = self.analytics.rows(
            'SELECT customer_id, recency_score, frequency_score, monetary_score, rfm_segment, "group"'
            " FROM customer_features"
        )
        return {row[0]: (row[1], row[2], row[3], row[4], row[5]) for row in rows}


def to_sql(condition: Condition) -> tuple[str, dict[str, object]]:
    """A WHERE clause with named parameters; field names were checked when the rule compiled."""
    params: dict[str, object] = {}

    def walk(node: Condition) -> str:
        if isinstance(node, Group):
            parts = [walk(child) for child in node.children]
            if node.mode == "not":
                return f"NOT ({parts[0]})"
            return "(" + (" AND " if node.mode == "all" else " OR ").join(parts) + ")"
        return _leaf_sql(node, params)

    return walk(condition), params


def _leaf_sql(leaf: Leaf, params: dict[str, object]) -> str:
    column = f'"{leaf.field}"'
    if leaf.op in ("in", "not in"):
        names = []
        for value in leaf.value:  # type: ignore[attr-defined]
            names.append(f"$p{len(params)}")
            params[f"p{len(params)}"] = value
        return f"{column} {leaf.op.upper()} ({', '.join(names)})"
    name = f"p{len(params)}"
    params[name] = leaf.value
    return f"{column} {leaf.op} ${name}"
