"""The arithmetic of points and the program file, without a database."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retain.domain.loyalty import (
    Change,
    InsufficientPoints,
    LoyaltyError,
    Program,
    add_months,
    anniversary_in,
    order_points,
    quarter_of,
    reversal_due,
    same_person,
    settle,
)
from retain.loyalty.program import ProgramError, default_program, program_to_dict, read_program

AT = datetime(2026, 6, 30, tzinfo=UTC)
USD = Program(currency="USD")


def test_points_are_earned_per_whole_unit_and_rounded_down() -> None:
    assert order_points(2_499, 2, USD) == 24
    assert order_points(10_000, 2, USD, Decimal("1.25")) == 125
    assert order_points(999, 2, replace(USD, points_per_unit=Decimal("0.5"))) == 4
    assert order_points(1_500, 0, Program(currency="JPY", points_per_unit=Decimal("0.01"))) == 15
    assert order_points(0, 2, USD) == 0
    assert order_points(-500, 2, USD) == 0


@pytest.mark.parametrize(
    ("earned", "total", "refunded", "cancelled", "due"),
    [
        (100, 10_000, 0, False, 0),
        (100, 10_000, 2_500, False, 25),
        (99, 10_000, 3_333, False, 33),  # 32.9967 rounds up: a refund never leaves a point too many
        (100, 10_000, 10_000, False, 100),
        (100, 10_000, 12_000, False, 100),
        (100, 10_000, 0, True, 100),
        (0, 10_000, 5_000, False, 0),
    ],
)
def test_reversals_are_proportional_to_the_money_returned(
    earned: int, total: int, refunded: int, cancelled: bool, due: int
) -> None:
    assert reversal_due(earned, total, refunded, cancelled) == due


def test_spending_beyond_the_balance_is_refused_and_reversals_stop_at_zero() -> None:
    spend = Change("k", 1, "redeem", "reward", points=-500)
    with pytest.raises(InsufficientPoints, match="the balance is 499 points; 500 are needed"):
        settle(spend, 499, 0, AT)
    back = settle(Change("k", 1, "reverse", "order", points=-500, clamp=True), 120, 0, AT)
    assert (back.points, back.balance_after, back.shortfall) == (-120, 0, 380)
    with pytest.raises(LoyaltyError, match="pending points asked"):
        settle(Change("k", 1, "approve", "order", points=10, pending=-10), 0, 5, AT)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["earn", "approve", "redeem", "reverse", "expire", "adjust"]),
            st.integers(min_value=-10_000, max_value=10_000),
        ),
        max_size=60,
    )
)
def test_any_sequence_of_changes_keeps_both_buckets_at_or_above_zero_and_sums_to_them(
    moves: list[tuple[str, int]],
) -> None:
    balance = pending = 0
    entries = []
    for n, (kind, amount) in enumerate(moves):
        if kind == "earn":
            change = Change(str(n), 1, "earn", "order", points=0, pending=abs(amount))
        elif kind == "approve":
            change = Change(
                str(n),
                1,
                "approve",
                "order",
                points=min(abs(amount), pending),
                pending=-min(abs(amount), pending),
            )
        elif kind in ("reverse", "expire"):
            change = Change(
                str(n), 1, kind, "order", points=-abs(amount), pending=-abs(amount) // 2, clamp=True
            )  # type: ignore[arg-type]
        else:
            change = Change(str(n), 1, kind, "admin", points=amount)  # type: ignore[arg-type]
        try:
            entry = settle(change, balance, pending, AT)
        except InsufficientPoints:
            assert balance + amount < 0
            continue
        balance, pending = entry.balance_after, entry.pending_after
        assert balance >= 0
        assert pending >= 0
        entries.append(entry)
    assert sum(e.points for e in entries) == balance
    assert sum(e.pending for e in entries) == pending


def test_dates() -> None:
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 3, 15, tzinfo=UTC), -12) == datetime(2025, 3, 15, tzinfo=UTC)
    assert anniversary_in(2027, date(2024, 2, 29)) == date(2027, 2, 28)
    assert anniversary_in(2028, date(2024, 2, 29)) == date(2028, 2, 29)
    label, end = quarter_of(date(2026, 11, 24))
    assert (label, end) == ("2026Q4", datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC))


def test_one_inbox_is_one_person() -> None:
    assert same_person("Jo.Smith+shop@GMail.com", "josmith@googlemail.com")
    assert same_person("ana+x@example.com", "ANA@example.com")
    assert not same_person("a.na@example.com", "ana@example.com")  # dots only vanish at Gmail


def test_the_shipped_program_reads_and_writes_back_unchanged() -> None:
    program = default_program()
    assert [tier.name for tier in program.tiers] == ["Bronze", "Silver", "Gold"]
    assert program.tiers[2].threshold == 75_000
    assert program.reward("fifteen-off").minimum_order == 6_000
    assert program.value_of(1_234) == Decimal("12.34")
    assert read_program(json.dumps(program_to_dict(program))) == program
    assert default_program("EUR").currency == "EUR"


def test_a_malformed_program_lists_every_problem_with_its_line() -> None:
    text = """currency: USD
tiers:
  levels:
    - name: Gold
      threshold: 750
    - name: Silver
      threshold: 250.001
rewards:
  - key: five-off
    title: $5 off
    points: 0
    kind: fixed
    value: 5
  - key: five-off
    title: again
    points: 10
    kind: percent
    value: 150
bonuses:
  tweet: 5
"""
    with pytest.raises(ProgramError) as caught:
        read_program(text, "program.yaml")
    assert str(caught.value).splitlines() == [
        "program.yaml:2: tiers: thresholds must rise from one tier to the next",
        "program.yaml:7: tiers.levels[1].threshold: 250.001 has more decimals than USD allows",
        "program.yaml:11: rewards[0].points: a reward costs at least one point",
        "program.yaml:14: rewards[1].key: reward 'five-off' is listed twice",
        "program.yaml:18: rewards[1].value: a percent discount takes 1 to 100, not 150",
        "program.yaml:20: bonuses.tweet: unknown bonus; bonuses: review, survey, birthday, anniversary",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "program:1: a program is a mapping"),
        ("currency: [", "not valid YAML"),
        ("currency: USD\ncurrency: EUR\n", "key 'currency' is given twice"),
        ("currency: XYZ\n", "currency: 'XYZ' is not an ISO 4217 code"),
        ("currency: USD\nreturn_window_days: -1\n", "program:2: return_window_days: input should be greater"),
        ("currency: USD\nmembres: everyone\n", "program:2: membres: unknown key 'membres'"),
        ("points_per_unit: 1\n", "program:1: currency: required but missing"),
    ],
)
def test_bad_program_files_are_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(ProgramError, match=message.replace("[", r"\[")):
        read_program(text, "program")
