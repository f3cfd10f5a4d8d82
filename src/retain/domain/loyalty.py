"""Loyalty: the program's rules and the arithmetic of a points balance.

A customer's points live in two buckets. Points earned on an order are *pending* until the
store's return window has passed, then *approved* and spendable; bonuses (a review, a
birthday, a referral) are approved at once. Every change is a ledger entry that moves one
or both buckets, and each entry records the balances after it, so a balance is a sum over
the ledger and no stored balance may go below zero.

Refunds and cancellations take points back in proportion to the money returned, even after
approval. A reversal never drives a balance below zero: what it could not take back is the
*shortfall*, recorded on the entry. Spending (a redemption, an admin deduction) never takes
more than the balance: it is refused whole instead.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Literal, get_args

from retain.domain.money import exponent, format_money

EntryKind = Literal["earn", "approve", "redeem", "reverse", "expire", "adjust", "referral"]
KINDS: tuple[str, ...] = get_args(EntryKind)
Source = Literal[
    "order", "review", "survey", "referral", "birthday", "anniversary", "tier", "reward", "admin", "flow"
]
SOURCES: tuple[str, ...] = get_args(Source)
BonusName = Literal["review", "survey", "birthday", "anniversary"]
BONUSES: tuple[str, ...] = get_args(BonusName)
RewardKind = Literal["fixed", "percent", "free_shipping", "credit"]
REWARD_KINDS: tuple[str, ...] = get_args(RewardKind)
TierBasis = Literal["spend", "points"]
Members = Literal["everyone", "marketing_consent"]

_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class LoyaltyError(ValueError):
    """A loyalty request that cannot be honoured; nothing was written."""


class UnknownToLoyalty(LoyaltyError):
    """A reward, member or referral code the program does not know."""


class InsufficientPoints(LoyaltyError):
    """Spending more points than the approved balance holds."""

    def __init__(self, wanted: int, balance: int) -> None:
        super().__init__(f"the balance is {balance:,} points; {wanted:,} are needed")
        self.wanted, self.balance = wanted, balance


# --- The program ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    """A level reached by ``threshold`` (minor units of rolling 12-month spend, or points
    earned over 12 months); its perks apply while the customer holds it."""

    name: str
    threshold: int
    multiplier: Decimal = Decimal(1)
    entry_reward: int = 0  # points, given on the first upgrade into the tier only
    free_shipping_quarterly: bool = False
    early_access: tuple[str, ...] = ()  # segments members of the tier join


@dataclass(frozen=True)
class Reward:
    """What points buy: ``value`` is percent points for ``percent``, minor units of the
    program's currency for ``fixed`` and ``credit``, and 0 for ``free_shipping``."""

    key: str
    title: str
    points: int
    kind: RewardKind
    value: int = 0
    minimum_order: int = 0
    valid_days: int | None = 90

    def gives(self, currency: str) -> str:
        """What the reward gives, in words: "10% off", "USD 5.00 store credit"."""
        if self.kind == "percent":
            return f"{self.value}% off"
        if self.kind == "free_shipping":
            return "free shipping"
        amount = format_money(self.value, currency)
        return f"{amount} store credit" if self.kind == "credit" else f"{amount} off"


@dataclass(frozen=True)
class Referrals:
    referrer_points: int = 500
    welcome: Reward | None = None  # the friend's reward, a discount code; points are 0
    monthly_cap: int = 5  # referrals credited per referrer per calendar month
    code_valid_days: int = 365


@dataclass(frozen=True)
class Program:
    currency: str
    points_per_unit: Decimal = Decimal(1)  # points per whole unit of the currency paid
    point_value: Decimal = Decimal("0.01")  # what a point is worth, in the currency
    starts: date | None = None  # orders placed before do not earn
    members: Members = "everyone"
    return_window_days: int = 30
    expiry_months: int | None = 12  # months without a purchase before points expire
    reminder_days: int = 30  # days before expiry that the reminder goes out
    bonuses: dict[str, int] = field(default_factory=dict)
    excluded_skus: frozenset[str] = frozenset()
    excluded_categories: frozenset[str] = frozenset()
    tier_basis: TierBasis = "spend"
    tiers: tuple[Tier, ...] = ()
    grace_days: int = 30
    rewards: tuple[Reward, ...] = ()
    referrals: Referrals | None = None
    notify_min_points: int = 100  # approvals below this are not worth a message

    def problems(self) -> list[tuple[str, str]]:
        """(path, message) for every rule that cannot work."""
        found: list[tuple[str, str]] = []
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            found.append(("currency", f"{self.currency!r} is not an ISO 4217 code"))
        if self.points_per_unit <= 0:
            found.append(("points_per_unit", "must be above zero"))
        if self.point_value <= 0:
            found.append(("point_value", "must be above zero"))
        for name in self.bonuses:
            if name not in BONUSES:
                found.append((f"bonuses.{name}", f"unknown bonus; bonuses: {', '.join(BONUSES)}"))
        names = [tier.name for tier in self.tiers]
        thresholds = [tier.threshold for tier in self.tiers]
        for index, tier in enumerate(self.tiers):
            if tier.name in names[:index]:
                found.append((f"tiers[{index}].name", f"tier {tier.name!r} is named twice"))
            if tier.multiplier <= 0:
                found.append((f"tiers[{index}].multiplier", "must be above zero"))
        if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
            found.append(("tiers", "thresholds must rise from one tier to the next"))
        keys = [reward.key for reward in self.rewards]
        for index, reward in enumerate(self.rewards):
            found.extend((f"rewards[{index}].{path}", message) for path, message in _reward_problems(reward))
            if reward.key in keys[:index]:
                found.append((f"rewards[{index}].key", f"reward {reward.key!r} is listed twice"))
        if self.referrals is not None and self.referrals.welcome is not None:
            found.extend(
                (f"referrals.welcome.{path}", message)
                for path, message in _reward_problems(self.referrals.welcome, points_needed=False)
            )
        return found

    def reward(self, key: str) -> Reward:
        for reward in self.rewards:
            if reward.key == key:
                return reward
        known = ", ".join(r.key for r in self.rewards) or "none"
        raise UnknownToLoyalty(f"no reward {key!r}; rewards: {known}")

    def tier(self, name: str | None) -> Tier | None:
        return next((tier for tier in self.tiers if tier.name == name), None)

    def qualified_tier(self, value: int) -> Tier | None:
        """The highest tier whose threshold ``value`` reaches."""
        reached = [tier for tier in self.tiers if value >= tier.threshold]
        return reached[-1] if reached else None

    def rank(self, name: str | None) -> int:
        """0 for no tier, then 1, 2, ... from the lowest tier up."""
        return next((i + 1 for i, tier in enumerate(self.tiers) if tier.name == name), 0)

    def multiplier(self, tier: str | None) -> Decimal:
        found = self.tier(tier)
        return found.multiplier if found else Decimal(1)

    def value_of(self, points: int) -> Decimal:
        """What ``points`` are worth in the currency."""
        return points * self.point_value

    def worth(self, points: int) -> int:
        """What ``points`` are worth in minor units of the currency, rounded down."""
        exact = self.value_of(points).scaleb(exponent(self.currency))
        return int(exact.to_integral_value(rounding=ROUND_FLOOR))


def _reward_problems(reward: Reward, points_needed: bool = True) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if not _KEY.match(reward.key):
        found.append(("key", f"{reward.key!r}: use lower-case letters, digits, - and _"))
    if points_needed and reward.points <= 0:
        found.append(("points", "a reward costs at least one point"))
    if reward.kind == "percent" and not 0 < reward.value <= 100:
        found.append(("value", f"a percent discount takes 1 to 100, not {reward.value}"))
    if reward.kind in ("fixed", "credit") and reward.value <= 0:
        found.append(("value", "must be above zero"))
    if reward.kind == "free_shipping" and reward.value:
        found.append(("value", "free shipping takes no value"))
    if reward.minimum_order < 0:
        found.append(("minimum_order", "must not be negative"))
    if reward.valid_days is not None and reward.valid_days <= 0:
        found.append(("valid_days", "must be above zero"))
    return found


# --- Points --------------------------------------------------------------------------------


def order_points(basis: int, exponent: int, program: Program, multiplier: Decimal = Decimal(1)) -> int:
    """Points for ``basis`` minor units paid, rounded down: 1 point per unit earns 24 on 24.99."""
    if basis <= 0:
        return 0
    exact = Decimal(basis) * program.points_per_unit * multiplier / (10**exponent)
    return int(exact.to_integral_value(rounding=ROUND_FLOOR))


def reversal_due(earned: int, total: int, refunded: int, cancelled: bool) -> int:
    """Points to take back, in all, from an order that earned ``earned``: all of them when it
    was cancelled or fully refunded, else the refunded share, rounded up."""
    if cancelled or earned <= 0 or refunded >= total:
        return max(earned, 0)
    if refunded <= 0 or total <= 0:
        return 0
    return min(earned, -(-earned * refunded // total))


@dataclass(frozen=True)
class Change:
    """A change to one customer's buckets, before the ledger has checked it against them.

    ``clamp`` lets the change stop at zero (recording the shortfall) instead of failing:
    reversals and expiries clamp; redemptions and adjustments do not."""

    key: str
    customer_id: int
    kind: EntryKind
    source: Source
    points: int  # approved balance delta
    pending: int = 0  # pending balance delta
    reason: str = ""
    order_id: int | None = None
    code: str | None = None
    clamp: bool = False


@dataclass(frozen=True)
class Entry:
    key: str
    customer_id: int
    kind: EntryKind
    source: Source
    points: int
    pending: int
    balance_after: int
    pending_after: int
    shortfall: int
    reason: str
    order_id: int | None
    code: str | None
    at: datetime


def settle(change: Change, balance: int, pending: int, at: datetime) -> Entry:
    """The ledger entry ``change`` makes on buckets holding ``balance`` and ``pending``."""
    points, moved, shortfall = change.points, change.pending, 0
    if pending + moved < 0:
        if not change.clamp:
            raise LoyaltyError(f"{change.key}: {-moved:,} pending points asked, {pending:,} held")
        shortfall += -(pending + moved)
        moved = -pending
    if balance + points < 0:
        if not change.clamp:
            raise InsufficientPoints(-points, balance)
        shortfall += -(balance + points)
        points = -balance
    return Entry(
        key=change.key, customer_id=change.customer_id, kind=change.kind, source=change.source,
        points=points, pending=moved, balance_after=balance + points, pending_after=pending + moved,
        shortfall=shortfall, reason=change.reason, order_id=change.order_id, code=change.code, at=at,
    )  # fmt: skip


# --- Dates ---------------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later, or the month's last day when it is shorter."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def anniversary_in(year: int, day: date) -> date:
    """``day``'s anniversary in ``year``; 29 February falls on the 28th in common years."""
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return day.replace(year=year)


def quarter_of(day: date) -> tuple[str, datetime]:
    """A quarter's label (``2026Q4``) and the last moment of it, for quarterly perks."""
    quarter = (day.month - 1) // 3 + 1
    last_month = quarter * 3
    last_day = date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])
    end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=UTC) - timedelta(microseconds=1)
    return f"{day.year}Q{quarter}", end


def referral_link(shop_url: str, code: str) -> str:
    """The link a member shares: the shop, carrying their code for the store to pass on."""
    return f"{shop_url}{'&' if '?' in shop_url else '?'}ref={code}"


def same_person(email: str, other: str) -> bool:
    """Whether two addresses reach one inbox: case, ``+tags`` and Gmail's dots do not count."""
    return canonical_email(email) == canonical_email(other)


def canonical_email(email: str) -> str:
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"
