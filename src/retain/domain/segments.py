"""Customer segments: RFM scores and names, the seed's coarse groups, and rules as data.

RFM scores are 1-5 by quintile among customers with an order: recency (5 = most recent),
frequency (5 = most orders) and monetary (5 = most revenue, net of refunds). Customers
tied on a value share a score. Named segments follow the usual map over recency and
frequency, first match wins (monetary is reported beside them):

| segment            | recency | frequency |
|--------------------|---------|-----------|
| Champions          | 5       | 4-5       |
| Loyal              | 3-4     | 4-5       |
| Can't Lose Them    | 1-2     | 5         |
| At Risk            | 1-2     | 3-4       |
| Potential Loyalist | 4-5     | 2-3       |
| Need Attention     | 3       | 3         |
| New                | 5       | 1         |
| Promising          | 4       | 1         |
| About to Sleep     | 3       | 1-2       |
| Lost               | 1       | 1         |
| Hibernating        | 1-2     | 1-2       |

Coarse groups (seed 001): *non-active* customers' last order is older than the activity
window (365 days); *loyal* customers are active, have ordered at least twice and have a
recency score of 3 or more; every other active customer is *underperforming*.
"""

from __future__ import annotations

from dataclasses import dataclass

from retain.domain.conditions import FieldKind

# What a rule may test, and how.
CUSTOMER_FIELDS: dict[str, FieldKind] = {
    "orders": "number",
    "revenue": "number",  # net of refunds, in the currency's major unit (dollars, euros)
    "average_order_value": "number",
    "days_since_last_order": "number",
    "days_since_first_order": "number",
    "recency_score": "number",
    "frequency_score": "number",
    "monetary_score": "number",
    "rfm_segment": "text",
    "group": "text",
    # From the latest `retain predict`; customers without scores match no condition on them.
    "p_alive": "number",
    "churn_probability": "number",
    "predicted_orders": "number",
    "predicted_clv": "number",  # major units
}


@dataclass(frozen=True, slots=True)
class RfmRule:
    name: str
    recency: frozenset[int]
    frequency: frozenset[int]

    def matches(self, recency: int, frequency: int) -> bool:
        return recency in self.recency and frequency in self.frequency


def _rule(name: str, recency: range, frequency: range) -> RfmRule:
    return RfmRule(name, frozenset(recency), frozenset(frequency))


RFM_SEGMENTS: tuple[RfmRule, ...] = (
    _rule("Champions", range(5, 6), range(4, 6)),
    _rule("Loyal", range(3, 5), range(4, 6)),
    _rule("Can't Lose Them", range(1, 3), range(5, 6)),
    _rule("At Risk", range(1, 3), range(3, 5)),
    _rule("Potential Loyalist", range(4, 6), range(2, 4)),
    _rule("Need Attention", range(3, 4), range(3, 4)),
    _rule("New", range(5, 6), range(1, 2)),
    _rule("Promising", range(4, 5), range(1, 2)),
    _rule("About to Sleep", range(3, 4), range(1, 3)),
    _rule("Lost", range(1, 2), range(1, 2)),
    _rule("Hibernating", range(1, 3), range(1, 3)),
)

GROUPS = ("loyal", "underperforming", "non-active")
LOYAL_MIN_ORDERS = 2
LOYAL_MIN_RECENCY_SCORE = 3


def rfm_segment(recency: int, frequency: int) -> str:
    for rule in RFM_SEGMENTS:
        if rule.matches(recency, frequency):
            return rule.name
    raise ValueError(f"scores must be 1-5, got recency {recency} and frequency {frequency}")


def group(active: bool, orders: int, recency_score: int) -> str:
    if not active:
        return "non-active"
    if orders >= LOYAL_MIN_ORDERS and recency_score >= LOYAL_MIN_RECENCY_SCORE:
        return "loyal"
    return "underperforming"


def builtin_segments() -> dict[str, str]:
    """Every built-in segment name -> its kind ("rfm" or "group")."""
    return {r.name: "rfm" for r in RFM_SEGMENTS} | dict.fromkeys(GROUPS, "group")
