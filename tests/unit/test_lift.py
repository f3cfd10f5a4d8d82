"""Treated against holdout, with 95% intervals."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from retain.domain.lift import lift

START = datetime(2025, 1, 1, tzinfo=UTC)


def test_conversion_orders_and_revenue_per_arm_within_the_window() -> None:
    entries = [
        (1, START, False),
        (2, START, False),
        (3, START, False),
        (4, START, False),
        (5, START, True),
        (6, START, True),
    ]
    orders = [
        (1, START + timedelta(days=3), 1000),
        (1, START + timedelta(days=20), 500),
        (2, START + timedelta(days=31), 9999),  # outside a 30-day window
        (3, START - timedelta(days=1), 9999),  # before entering
        (5, START + timedelta(days=1), 2000),
    ]
    found = lift(entries, orders, timedelta(days=30))
    assert (found.treated.customers, found.holdout.customers) == (4, 2)
    assert found.treated.conversion == pytest.approx(0.25)
    assert found.treated.orders_per_customer == pytest.approx(0.5)
    assert found.treated.revenue_per_customer == pytest.approx(375.0)
    assert found.holdout.conversion == pytest.approx(0.5)
    assert found.conversion is not None
    assert found.conversion.value == pytest.approx(-0.25)
    se = math.sqrt(0.25 * 0.75 / 4 + 0.5 * 0.5 / 2)
    assert found.conversion.low == pytest.approx(-0.25 - 1.959964 * se)
    assert found.conversion.high == pytest.approx(-0.25 + 1.959964 * se)
    assert found.revenue is not None
    assert found.revenue.value == pytest.approx(375.0 - 1000.0)


def test_an_empty_arm_gives_no_difference() -> None:
    found = lift([(1, START, False)], [], timedelta(days=30))
    assert found.holdout.customers == 0
    assert (found.conversion, found.orders, found.revenue) == (None, None, None)
