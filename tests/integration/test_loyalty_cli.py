"""``retain loyalty`` on a real store.

The sample orders are from early 2025, long before the tests run: a sync earns their points,
approves them at once (the return window has passed) and then expires them (no purchase for
twelve months), so tests that spend points first give them with ``adjust``.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from retain.cli.ui import console
from retain.loyalty.program import default_text
from tests.integration.conftest import run

MARIA = "maria.garcia@example.com"  # two paid orders, one partly refunded
LI = "li.wei@example.net"  # one voided order: a customer, but never a member
CODE = re.compile(r"\b[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}\b")


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as wide as they need, so no cell is wrapped."""
    monkeypatch.setattr(console, "width", 200)


@pytest.fixture
def store(cli: CliRunner, shop: str) -> str:
    """The sample store after a first sync."""
    code, output = run(cli, shop, "loyalty", "sync")
    assert code == 0, output
    return shop


def data(cli: CliRunner, db: str, *args: str) -> Any:
    """What ``retain loyalty ARGS --json`` prints."""
    code, output = run(cli, db, "loyalty", *args, "--json")
    assert code == 0, output
    return json.loads(output)


def points(cli: CliRunner, db: str) -> int:
    """Maria's approved balance."""
    return int(data(cli, db, "balance", MARIA)["balance"])


def give(cli: CliRunner, db: str, amount: int) -> None:
    """Points for Maria to spend."""
    code, output = run(cli, db, "loyalty", "adjust", MARIA, str(amount), "--reason", "test points")
    assert code == 0, output


def test_sync_earns_and_a_second_sync_changes_nothing(cli: CliRunner, shop: str) -> None:
    assert data(cli, shop, "report")["members"] == 0
    code, output = run(cli, shop, "loyalty", "sync")
    assert code == 0, output
    assert "earned" in output
    first = data(cli, shop, "report")
    assert first["members"] == 2
    assert first["issued"] > 0
    again = data(cli, shop, "sync")
    assert again["entries"] == 0
    assert again["earned"] == 0
    assert data(cli, shop, "report") == first


def test_the_balance_is_the_sum_of_the_history(cli: CliRunner, store: str) -> None:
    give(cli, store, 700)
    assert run(cli, store, "loyalty", "redeem", MARIA, "five-off")[0] == 0
    balance = data(cli, store, "balance", MARIA)
    entries = data(cli, store, "history", MARIA, "--limit", "1000")
    assert {entry["kind"] for entry in entries} >= {
        "earn",
        "approve",
        "reverse",
        "expire",
        "adjust",
        "redeem",
    }
    assert balance["balance"] == sum(entry["points"] for entry in entries) == 200
    assert balance["pending"] == sum(entry["pending"] for entry in entries)
    assert balance["tier"] == "Bronze"
    assert Decimal(balance["value"]) == Decimal("2.00")


def test_an_adjustment_shows_its_reason_in_the_history(cli: CliRunner, store: str) -> None:
    code, output = run(
        cli, store, "loyalty", "adjust", MARIA, "300", "--reason", "late parcel", "--by", "Ann"
    )
    assert code == 0, output
    assert "balance is 300" in output
    newest = data(cli, store, "history", MARIA)[0]
    assert (newest["kind"], newest["points"], newest["reason"]) == ("adjust", 300, "late parcel (Ann)")
    code, output = run(cli, store, "loyalty", "history", MARIA)
    assert code == 0
    assert "late parcel (Ann)" in output


def test_an_adjustment_needs_a_reason(cli: CliRunner, store: str) -> None:
    for reason in ([], ["--reason", "  "]):
        code, output = run(cli, store, "loyalty", "adjust", MARIA, "100", *reason)
        assert code == 1
        assert "needs a reason" in output
    assert points(cli, store) == 0


def test_a_deduction_beyond_the_balance_is_refused(cli: CliRunner, store: str) -> None:
    give(cli, store, 100)
    code, output = run(cli, store, "loyalty", "adjust", MARIA, "-200", "--reason", "mistake")
    assert code == 2
    assert "the balance is 100 points; 200 are needed" in output
    assert points(cli, store) == 100
    code, output = run(cli, store, "loyalty", "adjust", MARIA, "-40", "--reason", "mistake")
    assert code == 0, output
    assert points(cli, store) == 60


def test_redeeming_prints_a_code_and_spends_the_points(cli: CliRunner, store: str) -> None:
    give(cli, store, 600)
    code, output = run(cli, store, "loyalty", "redeem", MARIA, "five-off")
    assert code == 0, output
    assert CODE.search(output)
    assert "Spent 500 points; the balance is 100." in output
    assert points(cli, store) == 100
    code, output = run(cli, store, "loyalty", "redeem", MARIA, "five-off")
    assert code == 2
    assert "the balance is 100 points; 500 are needed" in output
    assert points(cli, store) == 100


def test_an_unknown_reward_lists_the_rewards(cli: CliRunner, store: str) -> None:
    give(cli, store, 600)
    code, output = run(cli, store, "loyalty", "redeem", MARIA, "free-coffee")
    assert code == 1
    assert "no reward 'free-coffee'" in output
    assert "five-off" in output
    assert points(cli, store) == 600


def test_a_repeated_request_redeems_once(cli: CliRunner, store: str) -> None:
    give(cli, store, 1000)
    first = data(cli, store, "redeem", MARIA, "five-off", "--request-id", "order-page-42")
    second = data(cli, store, "redeem", MARIA, "five-off", "--request-id", "order-page-42")
    assert first == second
    assert CODE.fullmatch(first["code"])
    assert first["balance"] == points(cli, store) == 500
    assert [e["kind"] for e in data(cli, store, "history", MARIA)].count("redeem") == 1


def test_a_customer_who_is_not_a_member_or_does_not_exist(cli: CliRunner, store: str) -> None:
    code, output = run(cli, store, "loyalty", "balance", LI)
    assert code == 1
    assert "not a loyalty member" in output
    code, output = run(cli, store, "loyalty", "balance", "nobody@example.com")
    assert code == 1
    assert "no customer" in output


def test_a_bonus_is_given_once_per_ref(cli: CliRunner, store: str) -> None:
    assert data(cli, store, "award", MARIA, "review", "--ref", "review-7") == {
        "awarded": True, "points": 50, "balance": 50,
    }  # fmt: skip
    assert data(cli, store, "award", MARIA, "review", "--ref", "review-7") == {"awarded": False}
    code, output = run(cli, store, "loyalty", "award", MARIA, "selfie", "--ref", "x")
    assert code == 1
    assert "no 'selfie' bonus" in output
    assert points(cli, store) == 50


def test_a_malformed_program_is_refused_with_its_lines(cli: CliRunner, store: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        default_text().replace("  review: 50", "  review: -5").replace("multiplier: 1.5", "multiplier: fast"),
        encoding="utf-8",
    )
    code, output = run(cli, store, "loyalty", "program", str(bad))
    assert code == 1
    assert "bad.yaml:11: bonuses: review: points must not be negative" in output
    assert "bad.yaml:32: tiers.levels[2].multiplier: input should be a valid decimal, not 'fast'" in output
    rules = tmp_path / "rules.yaml"
    rules.write_text(default_text().replace("points: 400", "points: 0"), encoding="utf-8")
    code, output = run(cli, store, "loyalty", "program", str(rules))
    assert code == 1
    assert "rules.yaml:55: rewards[3].points: a reward costs at least one point" in output
    assert data(cli, store, "program") == {"source": "default.yaml", "text": default_text()}


def test_a_stored_program_is_shown_and_used(cli: CliRunner, store: str, tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    text = default_text().replace("  review: 50", "  review: 80")
    mine.write_text(text, encoding="utf-8")
    code, output = run(cli, store, "loyalty", "program", str(mine), "--check")
    assert code == 0, output
    assert "is a valid program" in output
    assert data(cli, store, "program")["source"] == "default.yaml"  # --check stores nothing
    code, output = run(cli, store, "loyalty", "program", str(mine))
    assert code == 0, output
    assert data(cli, store, "program") == {"source": "mine.yaml", "text": text}
    code, output = run(cli, store, "loyalty", "program")
    assert "review: 80" in output
    assert data(cli, store, "award", MARIA, "review", "--ref", "r1")["points"] == 80


def test_referrals(cli: CliRunner, store: str) -> None:
    code, output = run(cli, store, "loyalty", "refer", "ZZZZ-ZZZZ", "pal@example.com")
    assert code == 1
    assert "no referral code" in output
    referral = data(cli, store, "balance", MARIA)["referral_code"]
    code, output = run(cli, store, "loyalty", "refer", referral, MARIA)
    assert code == 1
    assert "cannot refer themselves" in output
    code, output = run(cli, store, "loyalty", "refer", referral, "pal@example.com")
    assert code == 0, output
    assert re.search(r"Welcome code: " + CODE.pattern, output)
    code, output = run(cli, store, "loyalty", "refer", referral, "Pal@Example.com")
    assert code == 1
    assert "already referred" in output


def test_the_report_values_the_points_outstanding(cli: CliRunner, store: str) -> None:
    give(cli, store, 1234)
    found = data(cli, store, "report")
    assert set(found) >= {
        "members", "issued", "redeemed", "reversed", "expired", "shortfall", "balance", "pending",
        "liability", "pending_liability", "tiers", "members_repeat_rate", "others_repeat_rate",
        "currency", "point_value",
    }  # fmt: skip
    assert found["balance"] == 1234
    assert Decimal(found["liability"]) == found["balance"] * Decimal(found["point_value"]) == Decimal("12.34")
    assert found["tiers"] == {"Bronze": 2, "Silver": 0, "Gold": 0}
    code, output = run(cli, store, "loyalty", "report")
    assert code == 0
    assert "USD 12.34" in output
    assert "Members by tier" in output


def test_the_tiers_and_rewards_of_the_default_program(cli: CliRunner, store: str) -> None:
    tiers = data(cli, store, "tiers")
    assert [(t["name"], t["threshold"], t["members"]) for t in tiers["tiers"]] == [
        ("Bronze", 0, 2), ("Silver", 25000, 0), ("Gold", 75000, 0),
    ]  # fmt: skip
    code, output = run(cli, store, "loyalty", "tiers")
    assert code == 0
    assert "USD 750.00" in output
    assert "Gold" in output
    rewards = data(cli, store, "rewards")
    assert [r["key"] for r in rewards] == [
        "five-off",
        "fifteen-off",
        "ten-percent",
        "free-shipping",
        "store-credit",
    ]
    assert rewards[0]["gives"] == "USD 5.00 off"
