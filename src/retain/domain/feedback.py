"""Feedback as Retain reads it: which team it is for, how the customer feels, and the two
warning signs worth a person's attention: a competitor named, an intention to leave."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Category = Literal[
    "delivery_shipping", "product_quality", "price_billing", "website_checkout", "customer_service", "other"
]  # fmt: skip
CATEGORIES: tuple[str, ...] = get_args(Category)
Sentiment = Literal["negative", "neutral", "positive"]
SENTIMENTS: tuple[str, ...] = get_args(Sentiment)
# The team whose queue each category goes to.
TEAMS: dict[str, str] = {
    "delivery_shipping": "fulfilment",
    "product_quality": "product",
    "price_billing": "billing",
    "website_checkout": "web",
    "customer_service": "support",
    "other": "support",
}


@dataclass(frozen=True)
class Triage:
    category: Category
    sentiment: Sentiment
    mentions_competitor: bool
    intends_to_leave: bool

    @property
    def team(self) -> str:
        return TEAMS[self.category]
