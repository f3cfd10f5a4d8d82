"""Who may be sent what, and which message earned an order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from retain.domain.attribution import Purchase, Touch, attribute
from retain.domain.outreach import Contact, split_name, why_not

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
WEEKLY = "asked for weekly messages at most"
MONTHLY = "asked for monthly messages at most"


def contact(**changes: object) -> Contact:
    fields: dict[str, object] = {"customer_id": 1, "email": "ada@example.com", "marketing_consent": True}
    return Contact(**(fields | changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "topic", "reason"),
    [
        ({}, "offers", None),
        ({"email": None}, "transactional", "no email address"),
        ({"email": "not an address"}, "transactional", "not a valid email address"),
        ({"suppressed": "bounce"}, "transactional", "address suppressed (bounce)"),
        ({"marketing_consent": False}, "transactional", None),
        ({"marketing_consent": False}, "offers", "unsubscribed"),
        ({"marketing_consent": None}, "newsletter", "no marketing consent"),
        ({"muted_topics": frozenset({"reviews"})}, "reviews", "muted topic reviews"),
        ({"muted_topics": frozenset({"reviews"})}, "offers", None),
        ({"frequency": "weekly", "last_marketing_at": NOW - timedelta(days=6)}, "offers", WEEKLY),
        ({"frequency": "weekly", "last_marketing_at": NOW - timedelta(days=8)}, "offers", None),
        ({"frequency": "monthly", "last_marketing_at": NOW - timedelta(days=20)}, "loyalty", MONTHLY),
        ({"frequency": "monthly", "last_marketing_at": NOW - timedelta(days=20)}, "transactional", None),
    ],
)  # fmt: skip
def test_who_may_get_a_message(changes: dict[str, object], topic: str, reason: str | None) -> None:
    assert why_not(contact(**changes), topic, NOW) == reason


def test_an_unknown_topic_is_a_mistake_of_the_caller() -> None:
    with pytest.raises(ValueError, match="topic"):
        why_not(contact(), "gossip", NOW)


def test_names_split_at_the_first_space() -> None:
    assert split_name("Ada King Lovelace") == ("Ada", "King Lovelace")
    assert split_name("Cher") == ("Cher", None)
    assert split_name("  ") == (None, None)


def order(number: int, customer: int, hours_after: float) -> Purchase:
    return Purchase(number, customer, NOW + timedelta(hours=hours_after), 1000, "USD")


def test_an_order_belongs_to_the_latest_touch_within_the_window() -> None:
    touches = [Touch(10, 1, NOW), Touch(11, 1, NOW + timedelta(days=2)), Touch(12, 2, NOW)]
    orders = [
        order(1, 1, 1),  # after message 10 only
        order(2, 1, 49),  # after both: the later one wins
        order(3, 1, 24 * 7 + 49),  # 7 days after the last touch: outside a 5-day window
        order(4, 2, -1),  # before the touch
        order(5, 3, 1),  # a customer never touched
        order(6, 2, 24 * 5),  # exactly at the window's end: inside
    ]
    earned = attribute(touches, orders, timedelta(days=5))
    assert {p.order_id: m for p, m in earned.items()} == {1: 10, 2: 11, 6: 12}
