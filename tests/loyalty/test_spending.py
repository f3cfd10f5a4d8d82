"""Redemptions, adjustments, bonuses, tiers and referrals, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from retain.domain.discounts import normalise
from retain.domain.loyalty import InsufficientPoints, LoyaltyError
from retain.service import loyalty
from retain.store.tables import discount_codes, loyalty_ledger, segment_members
from tests.loyalty.conftest import NOW, Shop

DAY = timedelta(days=1)


def codes(shop: Shop, customer_id: int) -> list[dict[str, object]]:
    with shop.app.engine.connect() as connection:
        rows = connection.execute(select(discount_codes).where(discount_codes.c.customer_id == customer_id))
        return [dict(row._mapping) for row in rows]


def test_a_redemption_debits_the_points_and_issues_the_rewards_code(shop: Shop) -> None:
    ana = shop.customer("ana@example.com")
    shop.give(ana, 1_500)
    done = loyalty.redeem(shop.program, shop.app.unit_of_work, ana, "fifteen-off", NOW)
    assert (done.points, done.balance) == (1_200, 300)
    assert shop.balances(ana) == (300, 0)
    (code,) = codes(shop, ana)
    assert code["code"] == normalise(done.code)
    assert (code["kind"], code["value"], code["minimum_order"]) == ("fixed", 1_500, 6_000)
    assert code["expires_at"].date() == (NOW + 90 * DAY).date()
    last = shop.history(ana)[-1]
    assert (last["kind"], last["points"], last["code"]) == ("redeem", -1_200, normalise(done.code))


def test_a_redemption_the_balance_cannot_cover_changes_nothing(shop: Shop) -> None:
    ben = shop.customer("ben@example.com")
    shop.give(ben, 450)
    with pytest.raises(InsufficientPoints, match="450 points; 500 are needed"):
        loyalty.redeem(shop.program, shop.app.unit_of_work, ben, "five-off", NOW)
    assert shop.balances(ben) == (450, 0)
    assert codes(shop, ben) == []


def test_an_unknown_reward_or_a_non_member_is_refused(shop: Shop) -> None:
    cy = shop.customer("cy@example.com")
    with pytest.raises(LoyaltyError, match="no reward 'pony'; rewards: five-off"):
        loyalty.redeem(shop.program, shop.app.unit_of_work, cy, "pony", NOW)
    with pytest.raises(LoyaltyError, match="not a loyalty member"):
        loyalty.redeem(shop.program, shop.app.unit_of_work, cy, "five-off", NOW)


def test_a_retried_redemption_with_the_same_request_redeems_once(shop: Shop) -> None:
    dee = shop.customer("dee@example.com")
    shop.give(dee, 1_000)
    first = loyalty.redeem(shop.program, shop.app.unit_of_work, dee, "five-off", NOW, request="r-1")
    again = loyalty.redeem(shop.program, shop.app.unit_of_work, dee, "five-off", NOW, request="r-1")
    assert again == first
    assert shop.balances(dee) == (500, 0)
    assert len(codes(shop, dee)) == 1
    with pytest.raises(LoyaltyError, match=r"request 'r-1' already redeemed '\$5 off your next order', not"):
        loyalty.redeem(shop.program, shop.app.unit_of_work, dee, "ten-percent", NOW, request="r-1")


def test_each_reward_kind_issues_its_code(shop: Shop) -> None:
    eve = shop.customer("eve@example.com")
    shop.give(eve, 10_000)
    for key in ("ten-percent", "free-shipping", "store-credit"):
        loyalty.redeem(shop.program, shop.app.unit_of_work, eve, key, NOW)
    issued = {row["purpose"]: (row["kind"], row["value"], row["expires_at"]) for row in codes(shop, eve)}
    assert issued["loyalty-ten-percent"][:2] == ("percent", 10)
    assert issued["loyalty-free-shipping"][:2] == ("free_shipping", 0)
    assert issued["loyalty-credit"] == ("fixed", 1_000, None)  # credit never expires


def test_adjustments_need_a_reason_and_cannot_overdraw(shop: Shop) -> None:
    fay = shop.customer("fay@example.com")
    with pytest.raises(LoyaltyError, match="needs a reason"):
        loyalty.adjust(shop.program, shop.app.unit_of_work, fay, 100, "  ", NOW)
    loyalty.adjust(shop.program, shop.app.unit_of_work, fay, 300, "goodwill after a late parcel", NOW, "sam")
    with pytest.raises(InsufficientPoints):
        loyalty.adjust(shop.program, shop.app.unit_of_work, fay, -301, "typo", NOW)
    assert shop.balances(fay) == (300, 0)
    (entry,) = shop.history(fay)
    assert (entry["kind"], entry["source"], entry["reason"]) == (
        "adjust",
        "admin",
        "goodwill after a late parcel (sam)",
    )


def test_a_review_bonus_is_given_once_per_review(shop: Shop) -> None:
    gus = shop.customer("gus@example.com")
    assert loyalty.award(shop.program, shop.app.unit_of_work, gus, "review", "rev-1", NOW) is not None
    assert loyalty.award(shop.program, shop.app.unit_of_work, gus, "review", "rev-1", NOW) is None
    loyalty.award(shop.program, shop.app.unit_of_work, gus, "survey", "ans-9", NOW)
    assert shop.balances(gus) == (50 + 25, 0)
    with pytest.raises(LoyaltyError, match="no 'referral' bonus"):
        loyalty.award(shop.program, shop.app.unit_of_work, gus, "referral", "x", NOW)


def test_birthday_and_anniversary_bonuses_come_once_a_year(shop: Shop) -> None:
    hal = shop.customer("hal@example.com", birthday=date(1990, 6, 28), created_at=NOW - (365 * 2 + 1) * DAY)
    shop.order(hal, NOW - 100 * DAY, goods=1_000, shipping=0, tax=0)  # a member
    shop.sync()
    shop.sync(NOW + DAY)
    reasons = [e["reason"] for e in shop.history(hal) if e["source"] in ("birthday", "anniversary")]
    assert reasons == ["happy birthday", "2 year(s) with us"]


def test_tiers_rise_with_spend_reward_entry_once_and_fall_only_after_the_grace(shop: Shop) -> None:
    ivy = shop.customer("ivy@example.com")
    big = shop.order(ivy, NOW - 40 * DAY, goods=80_000, shipping=0, tax=0)  # $800: Gold
    shop.sync()
    account = shop.account(ivy)
    assert account["tier"] == "Gold"
    assert sorted(e["reason"] for e in shop.history(ivy) if e["source"] == "tier") == ["welcome to Gold"]
    with shop.app.engine.connect() as connection:
        segments = connection.execute(
            select(segment_members.c.segment).where(segment_members.c.customer_id == ivy)
        ).scalars().all()  # fmt: skip
    assert sorted(segments) == ["loyalty:early-access", "tier:Gold"]
    (shipping,) = [c for c in codes(shop, ivy) if str(c["purpose"]).startswith("tier-shipping-")]
    assert shipping["purpose"] == "tier-shipping-2026Q2"
    assert shipping["kind"] == "free_shipping"

    # Gold earns half as much again.
    shop.order(ivy, NOW - DAY, goods=10_000, shipping=0, tax=0)
    shop.sync()
    assert shop.history(ivy)[-1]["pending"] == 150

    shop.refund(big, 80_000)  # spend falls to $100: Bronze, after 30 days' grace
    shop.sync(NOW + DAY)
    assert shop.account(ivy)["tier"] == "Gold"
    shop.sync(NOW + 32 * DAY)
    assert shop.account(ivy)["tier"] == "Bronze"
    shop.order(ivy, NOW + 33 * DAY, goods=80_000, shipping=0, tax=0)
    shop.sync(NOW + 34 * DAY)
    assert shop.account(ivy)["tier"] == "Gold"
    rewards = [e for e in shop.history(ivy) if e["source"] == "tier"]
    assert [e["reason"] for e in rewards] == ["welcome to Gold"]  # an entry reward comes once
    assert len([c for c in codes(shop, ivy) if str(c["purpose"]).startswith("tier-shipping-")]) == 2  # Q2, Q3


def test_a_referral_welcomes_the_friend_and_credits_the_referrer_after_the_return_window(shop: Shop) -> None:
    jo = shop.customer("jo.smith@gmail.com", phone="+44 20 7946 0001")
    shop.give(jo, 1)
    code = shop.account(jo)["referral_code"]
    made = loyalty.refer(shop.program, shop.app.unit_of_work, code.lower(), "kim@example.com", NOW)
    assert made.welcome_code is not None
    kim = shop.customer("Kim@Example.com")
    shop.order(kim, NOW + DAY, goods=5_000)
    shop.sync(NOW + 2 * DAY)
    assert shop.balances(jo)[0] == 1  # the friend's order can still be returned
    shop.sync(NOW + 40 * DAY)
    assert shop.balances(jo)[0] == 1 + 500
    assert shop.history(jo)[-1]["kind"] == "referral"
    shop.sync(NOW + 41 * DAY)
    assert shop.balances(jo)[0] == 501

    with pytest.raises(LoyaltyError, match="already referred"):
        loyalty.refer(shop.program, shop.app.unit_of_work, code, "KIM@example.com", NOW)


@pytest.mark.parametrize(
    ("friend", "extra", "message"),
    [
        ("j.o.smith+friend@googlemail.com", {}, "cannot refer themselves"),
        ("someone@example.com", {"phone": "+44 (20) 7946-0001"}, r"cannot refer themselves \(same phone\)"),
        ("not-an-address", {}, "not an e-mail address"),
    ],
)
def test_self_referrals_and_bad_addresses_are_refused(
    shop: Shop, friend: str, extra: dict[str, str], message: str
) -> None:
    jo = shop.customer("jo.smith@gmail.com", phone="+44 20 7946 0001")
    shop.give(jo, 1)
    code = shop.account(jo)["referral_code"]
    with pytest.raises(LoyaltyError, match=message):
        loyalty.refer(shop.program, shop.app.unit_of_work, code, friend, NOW, **extra)
    with shop.app.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(discount_codes)).scalar_one() == 0


def test_unknown_expired_and_existing_customer_referrals_are_refused(shop: Shop) -> None:
    lee = shop.customer("lee@example.com")
    old = shop.customer("old@example.com")
    shop.order(old, NOW - 50 * DAY)
    shop.give(lee, 1)
    code = shop.account(lee)["referral_code"]
    with pytest.raises(LoyaltyError, match="no referral code 'NOPE1234'"):
        loyalty.refer(shop.program, shop.app.unit_of_work, "NOPE1234", "new@example.com", NOW)
    with pytest.raises(LoyaltyError, match="already a customer"):
        loyalty.refer(shop.program, shop.app.unit_of_work, code, "old@example.com", NOW)
    shop.set_balance_column(lee, referral_code_expires_at=NOW - DAY)
    with pytest.raises(LoyaltyError, match="expired on"):
        loyalty.refer(shop.program, shop.app.unit_of_work, code, "new@example.com", NOW)


def test_referral_credits_stop_at_the_monthly_cap(shop: Shop) -> None:
    shop.program = replace(shop.program, referrals=replace(shop.program.referrals, monthly_cap=2))  # type: ignore[type-var]
    max_ = shop.customer("max@example.com")
    shop.give(max_, 1)
    code = shop.account(max_)["referral_code"]
    for n in range(3):
        loyalty.refer(shop.program, shop.app.unit_of_work, code, f"friend{n}@example.com", NOW)
        shop.order(shop.customer(f"friend{n}@example.com"), NOW + DAY, goods=5_000)
    report = shop.sync(NOW + 40 * DAY)
    assert (report.referrals_credited, report.referrals_capped) == (2, 1)
    assert shop.balances(max_)[0] == 1 + 2 * 500


def test_the_report_adds_up_the_ledger(shop: Shop) -> None:
    ana, ben = shop.customer("ana@example.com"), shop.customer("ben@example.com")
    shop.customer("nobody@example.com")
    shop.order(ana, NOW - 60 * DAY, goods=30_000, shipping=0, tax=0)
    shop.order(ana, NOW - 50 * DAY, goods=10_000, shipping=0, tax=0)
    shop.order(ben, NOW - 5 * DAY, goods=10_000, shipping=0, tax=0)
    shop.sync()
    loyalty.redeem(shop.program, shop.app.unit_of_work, ana, "five-off", NOW)
    found = loyalty.report(shop.program, shop.app.unit_of_work)
    with shop.app.engine.connect() as connection:
        entries = connection.execute(select(func.count()).select_from(loyalty_ledger)).scalar_one()
    assert entries > 0
    assert found.members == 2
    assert found.issued == 300 + 100 + 100 + 200  # orders, and Silver's entry reward for ana
    assert found.redeemed == 500
    assert (found.balance, found.pending) == (100, 100)
    assert found.liability == 1  # 100 points at a cent
    assert found.tiers == {"Bronze": 1, "Silver": 1, "Gold": 0}
    assert found.members_repeat_rate == 0.5
    assert found.others_repeat_rate is None  # the one non-member never bought


def test_a_friend_at_googlemail_is_credited_like_one_at_gmail(shop: Shop) -> None:
    sam = shop.customer("sam@example.com")
    shop.give(sam, 1)
    loyalty.refer(
        shop.program, shop.app.unit_of_work, shop.account(sam)["referral_code"], "Bo.B@gmail.com", NOW
    )
    shop.order(shop.customer("bob@googlemail.com"), NOW + DAY, goods=5_000)
    assert shop.sync(NOW + 40 * DAY).referrals_credited == 1


def test_a_birthday_on_new_years_eve_is_still_celebrated_by_a_sync_in_january(shop: Shop) -> None:
    zoe = shop.customer("zoe@example.com", birthday=date(1990, 12, 31))
    shop.give(zoe, 1)
    shop.sync(NOW.replace(year=2027, month=1, day=3))
    assert [(e["key"], e["points"]) for e in shop.history(zoe) if e["source"] == "birthday"] == [
        (f"birthday:{zoe}:2026", 100)
    ]
