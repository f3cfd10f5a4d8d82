"""Loyalty use cases: run the program over the store (``sync``), and what people ask of it
(``redeem``, ``adjust``, ``award``, ``refer``).

``sync`` is idempotent and safe to run as often as wanted: it earns points on paid orders
that have not earned yet, takes points back for refunds and cancellations, approves points
whose return window has passed, credits referrals, moves tiers (with the grace period),
gives birthday and anniversary bonuses, hands out the quarterly free-shipping codes, and
expires points after the months without a purchase. Every ledger entry has a key, so a
second run, or the same order imported twice, changes nothing. Work is committed in chunks:
a run cut short resumes where it stopped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Any, Protocol

from retain.domain.discounts import DiscountSpec, grouped, normalise
from retain.domain.loyalty import (
    Change,
    Entry,
    LoyaltyError,
    Program,
    Reward,
    UnknownToLoyalty,
    add_months,
    anniversary_in,
    canonical_email,
    order_points,
    quarter_of,
    reversal_due,
    same_person,
)
from retain.domain.money import exponent
from retain.service.ports import Progress, no_progress

CHUNK = 20_000
BONUS_WINDOW = timedelta(days=7)  # a birthday bonus still comes when sync ran late
TIER_SEGMENT = "tier:"  # segment keys for tier members: "tier:Gold"
PERK_SEGMENT = "loyalty:"  # and for the early-access segments of tiers: "loyalty:early-access"


class LoyaltyStore(Protocol):
    def enroll(self, customer_ids: Sequence[int], now: datetime, code_days: int) -> int: ...

    def account(self, customer_id: int) -> dict[str, Any] | None: ...

    def accounts(self, customer_ids: Sequence[int]) -> list[dict[str, Any]]: ...

    def column_of(self, customer_ids: Sequence[int], column: str) -> dict[int, Any]: ...

    def by_referral_code(self, code: str) -> dict[str, Any] | None: ...

    def members(self) -> list[dict[str, Any]]: ...

    def set_tiers(self, rows: Sequence[dict[str, Any]], now: datetime) -> None: ...

    def touch_purchases(self, last: dict[int, datetime]) -> None: ...

    def post(self, changes: Sequence[Change], at: datetime) -> list[Entry]: ...

    def entry(self, key: str) -> dict[str, Any] | None: ...

    def earnable(
        self, after_id: int, limit: int, starts: datetime | None, until: datetime, consent_only: bool,
        skus: Sequence[str], categories: Sequence[str],
    ) -> list[dict[str, Any]]: ...  # fmt: skip

    def record_orders(self, rows: Sequence[dict[str, Any]]) -> None: ...

    def reversible(self) -> list[dict[str, Any]]: ...

    def set_reversed(self, reversed_by_order: dict[int, int]) -> None: ...

    def due_approvals(self, now: datetime, limit: int) -> list[dict[str, Any]]: ...

    def mark_approved(self, order_ids: Sequence[int]) -> None: ...

    def spend_since(self, since: datetime, until: datetime) -> dict[int, int]: ...

    def points_earned_since(self, since: datetime) -> dict[int, int]: ...

    def dated_members(self) -> list[dict[str, Any]]: ...

    def customer(self, customer_id: int) -> dict[str, Any] | None: ...

    def customer_by_email(self, email: str) -> dict[str, Any] | None: ...

    def referral_by_friend(self, friend_email: str) -> dict[str, Any] | None: ...

    def add_referral(self, row: dict[str, Any]) -> None: ...

    def pending_referrals(self) -> list[dict[str, Any]]: ...

    def first_orders(self, emails: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    def settle_referral(
        self, referral_id: int, status: str, at: datetime, friend_id: int | None, order_id: int | None
    ) -> None: ...

    def credited_since(self, referrer_id: int, since: datetime) -> int: ...

    def code_holders(self, purpose: str) -> set[int]: ...

    def add_events(self, rows: Sequence[dict[str, Any]]) -> int: ...

    def tell(self, entries: Sequence[Entry], now: datetime) -> int: ...

    def totals(self) -> dict[str, int]: ...

    def tier_counts(self) -> dict[str | None, int]: ...

    def repeat_rates(self) -> dict[str, tuple[int, int]]: ...


class CodeIssuer(Protocol):
    def issue(self, spec: DiscountSpec, owners: Sequence[int | None], now: datetime) -> list[str]: ...


class Segments(Protocol):
    def members(self, key: str) -> set[int]: ...

    def apply(self, key: str, entered: Iterable[int], left: Iterable[int], at: datetime) -> None: ...


class LoyaltySession(Protocol):
    @property
    def loyalty(self) -> LoyaltyStore: ...

    @property
    def codes(self) -> CodeIssuer: ...

    @property
    def segments(self) -> Segments: ...

    def commit(self) -> None: ...

    def __enter__(self) -> LoyaltySession: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


Session = Callable[[], LoyaltySession]


@dataclass
class SyncReport:
    enrolled: int = 0
    orders: int = 0  # orders that earned
    earned: int = 0  # points
    reversed: int = 0
    shortfall: int = 0
    approved: int = 0
    referrals_credited: int = 0
    referrals_capped: int = 0
    bonuses: int = 0  # points from birthdays, anniversaries and tier entry rewards
    upgraded: int = 0
    downgraded: int = 0
    shipping_codes: int = 0
    expired: int = 0
    reminders: int = 0
    entries: int = 0  # ledger entries written
    events: int = 0
    _changed: dict[int, list[str]] = field(default_factory=dict, repr=False)

    def noted(self, entries: Sequence[Entry], min_points: int = 0) -> None:
        """Count ``entries`` and remember the customers a message should tell: about
        spendable points, not pending ones, and not about approvals too small to matter."""
        self.entries += len(entries)
        for entry in entries:
            if entry.points == 0 or (entry.kind == "approve" and entry.points < min_points):
                continue
            self._changed.setdefault(entry.customer_id, []).append(entry.kind)


def _day_end(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


# --- sync ----------------------------------------------------------------------------------


def sync(program: Program, session: Session, now: datetime, progress: Progress = no_progress) -> SyncReport:
    """Bring every member's points up to date with the store as of ``now``."""
    report = SyncReport()
    _earn(program, session, now, progress, report)
    _reverse(session, now, report)
    _approve(program, session, now, progress, report)
    _referrals(program, session, now, report)
    _tiers(program, session, now, report)
    _dated_bonuses(program, session, now, report)
    _expire(program, session, now, report)
    _tell(program, session, now, report)
    return report


def _earn(program: Program, session: Session, now: datetime, progress: Progress, report: SyncReport) -> None:
    starts = datetime.combine(program.starts, time.min, tzinfo=UTC) if program.starts else None
    window = timedelta(days=program.return_window_days)
    after, done = 0, 0
    while True:
        with session() as uow:
            rows = uow.loyalty.earnable(
                after, CHUNK, starts, now, program.members == "marketing_consent",
                sorted(program.excluded_skus), sorted(program.excluded_categories),
            )  # fmt: skip
            if not rows:
                return
            after = rows[-1]["id"]
            customers = sorted({row["customer_id"] for row in rows})
            report.enrolled += uow.loyalty.enroll(customers, now, _code_days(program))
            tiers = uow.loyalty.column_of(customers, "tier")
            changes: list[Change] = []
            records: list[dict[str, Any]] = []
            last: dict[int, datetime] = {}
            for row in rows:
                cid, currency = row["customer_id"], row["currency"]
                points = 0
                if currency == program.currency:
                    multiplier = program.multiplier(tiers.get(cid))
                    points = order_points(row["basis"], exponent(currency), program, multiplier)
                records.append(
                    {
                        "order_id": row["id"],
                        "customer_id": cid,
                        "earned": points,
                        "approve_at": row["placed_at"] + window,
                    }
                )
                if last.get(cid) is None or last[cid] < row["placed_at"]:
                    last[cid] = row["placed_at"]
                if points:
                    changes.append(
                        Change(
                            key=f"earn:order:{row['id']}", customer_id=cid, kind="earn", source="order",
                            points=0, pending=points, reason="order", order_id=row["id"],
                        )
                    )  # fmt: skip
            uow.loyalty.record_orders(records)
            entries = uow.loyalty.post(changes, now)
            uow.loyalty.touch_purchases(last)
            uow.commit()
        report.orders += len(entries)
        report.earned += sum(e.pending for e in entries)
        report.noted(entries)
        done += len(rows)
        progress("earning", done, done)


def _reverse(session: Session, now: datetime, report: SyncReport) -> None:
    with session() as uow:
        changes, targets = [], {}
        for row in uow.loyalty.reversible():
            target = reversal_due(
                row["earned"], row["total"], row["refunded"], row["cancelled_at"] is not None
            )
            delta = target - row["reversed"]
            if delta <= 0:
                continue
            targets[row["order_id"]] = target
            approved = row["approved"]
            changes.append(
                Change(
                    key=f"reverse:order:{row['order_id']}:{target}", customer_id=row["customer_id"],
                    kind="reverse", source="order", points=-delta if approved else 0,
                    pending=0 if approved else -delta, clamp=True, order_id=row["order_id"],
                    reason="order cancelled" if row["cancelled_at"] is not None else "order refunded",
                )
            )  # fmt: skip
        entries = uow.loyalty.post(changes, now)
        uow.loyalty.set_reversed(targets)
        uow.commit()
    report.reversed += -sum(e.points + e.pending for e in entries)
    report.shortfall += sum(e.shortfall for e in entries)
    report.noted(entries)


def _approve(
    program: Program, session: Session, now: datetime, progress: Progress, report: SyncReport
) -> None:
    done = 0
    while True:
        with session() as uow:
            rows = uow.loyalty.due_approvals(now, CHUNK)
            if not rows:
                return
            changes = [
                Change(
                    key=f"approve:order:{row['order_id']}", customer_id=row["customer_id"], kind="approve",
                    source="order", points=row["earned"] - row["reversed"],
                    pending=-(row["earned"] - row["reversed"]), order_id=row["order_id"],
                    reason="return window passed",
                )
                for row in rows
                if row["earned"] > row["reversed"]
            ]  # fmt: skip
            entries = uow.loyalty.post(changes, now)
            uow.loyalty.mark_approved([row["order_id"] for row in rows])
            uow.commit()
        report.approved += sum(e.points for e in entries)
        report.noted(entries, program.notify_min_points)
        done += len(rows)
        progress("approving", done, done)


def _referrals(program: Program, session: Session, now: datetime, report: SyncReport) -> None:
    rules = program.referrals
    if rules is None:
        return
    window = timedelta(days=program.return_window_days)
    month_start = datetime(now.year, now.month, 1, tzinfo=UTC)
    with session() as uow:
        waiting = uow.loyalty.pending_referrals()
        firsts = uow.loyalty.first_orders([r["friend_email"] for r in waiting]) if waiting else {}
        for referral in waiting:
            order = firsts.get(referral["friend_email"])
            if order is None:
                continue
            if order["placed_at"] < referral["created_at"]:
                uow.loyalty.settle_referral(referral["id"], "void", now, order["customer_id"], order["id"])
                continue
            if order["placed_at"] + window > now or not order["paid"] or order["refunded"] >= order["total"]:
                continue
            referrer = referral["referrer_id"]
            if uow.loyalty.credited_since(referrer, month_start) >= rules.monthly_cap:
                uow.loyalty.settle_referral(referral["id"], "capped", now, order["customer_id"], order["id"])
                report.referrals_capped += 1
                continue
            entries = uow.loyalty.post(
                [
                    Change(
                        key=f"referral:{referral['id']}", customer_id=referrer, kind="referral",
                        source="referral", points=rules.referrer_points, reason="a friend's first order",
                        order_id=order["id"],
                    )
                ],
                now,
            )  # fmt: skip
            uow.loyalty.settle_referral(referral["id"], "credited", now, order["customer_id"], order["id"])
            report.referrals_credited += 1
            report.noted(entries)
        uow.commit()


def _tiers(program: Program, session: Session, now: datetime, report: SyncReport) -> None:
    if not program.tiers:
        return
    since = now - timedelta(days=365)
    with session() as uow:
        values = (
            uow.loyalty.spend_since(since, now)
            if program.tier_basis == "spend"
            else uow.loyalty.points_earned_since(since)
        )
        moves: list[dict[str, Any]] = []
        rewards: list[Change] = []
        holders: dict[str, set[int]] = {tier.name: set() for tier in program.tiers}
        for member in uow.loyalty.members():
            cid, current = member["customer_id"], member["tier"]
            qualified = program.qualified_tier(values.get(cid, 0))
            name = qualified.name if qualified else None
            held, since_, down = current, member["tier_since"], member["downgrade_at"]
            if program.rank(name) > program.rank(current):
                held, since_, down = name, now, None
                report.upgraded += current is not None  # a first tier is a welcome, not an upgrade
                if qualified is not None and qualified.entry_reward:
                    rewards.append(
                        Change(
                            key=f"tier:{cid}:{name}", customer_id=cid, kind="earn", source="tier",
                            points=qualified.entry_reward, reason=f"welcome to {name}",
                        )
                    )  # fmt: skip
            elif program.rank(name) < program.rank(current):
                down = down or now + timedelta(days=program.grace_days)
                if down <= now:  # the grace is over
                    held, since_, down = name, now, None
                    report.downgraded += 1
            else:
                down = None  # back up to the tier held: no downgrade pending
            if (held, down) != (current, member["downgrade_at"]):
                moves.append({"customer_id": cid, "tier": held, "tier_since": since_, "downgrade_at": down})
            if held in holders:
                holders[held].add(cid)
        uow.loyalty.set_tiers(moves, now)
        entries = uow.loyalty.post(rewards, now)
        report.bonuses += sum(e.points for e in entries)
        report.noted(entries)
        _tier_segments(program, uow, holders, now)
        report.shipping_codes += _shipping_codes(program, uow, holders, now)
        uow.commit()


def _tier_segments(
    program: Program, uow: LoyaltySession, holders: dict[str, set[int]], now: datetime
) -> None:
    """Tier members join ``tier:<name>``, and the early-access segments their tier grants."""
    wanted: dict[str, set[int]] = {}
    for tier in program.tiers:
        wanted[f"{TIER_SEGMENT}{tier.name}"] = holders[tier.name]
        for segment in tier.early_access:
            wanted.setdefault(f"{PERK_SEGMENT}{segment}", set()).update(holders[tier.name])
    for key, members in wanted.items():
        present = uow.segments.members(key)
        if members != present:
            uow.segments.apply(key, members - present, present - members, now)


def _shipping_codes(
    program: Program, uow: LoyaltySession, holders: dict[str, set[int]], now: datetime
) -> int:
    label, end = quarter_of(now.date())
    purpose = f"tier-shipping-{label}"
    owners = set()
    for tier in program.tiers:
        if tier.free_shipping_quarterly:
            owners |= holders[tier.name]
    owners -= uow.loyalty.code_holders(purpose)
    if not owners:
        return 0
    spec = DiscountSpec(
        kind="free_shipping", value=0, currency=program.currency, expires_at=end, purpose=purpose
    )
    return len(uow.codes.issue(spec, sorted(owners), now))


def _dated_bonuses(program: Program, session: Session, now: datetime, report: SyncReport) -> None:
    birthday, anniversary = program.bonuses.get("birthday", 0), program.bonuses.get("anniversary", 0)
    if not birthday and not anniversary:
        return
    today = now.date()
    changes: list[Change] = []
    with session() as uow:
        for member in uow.loyalty.dated_members():
            cid = member["id"]
            born: date | None = member["birthday"]
            joined: datetime | None = member["created_at"]
            # This year's dates and last year's: a sync late in January still sees 31 December.
            for year in (today.year, today.year - 1):
                if (
                    birthday
                    and born is not None
                    and today - BONUS_WINDOW < anniversary_in(year, born) <= today
                ):
                    changes.append(_bonus(cid, "birthday", year, birthday, "happy birthday"))
                if not anniversary or joined is None or joined.year >= year:
                    continue
                if today - BONUS_WINDOW < anniversary_in(year, joined.date()) <= today:
                    reason = f"{year - joined.year} year(s) with us"
                    changes.append(_bonus(cid, "anniversary", year, anniversary, reason))
        entries = uow.loyalty.post(changes, now)
        uow.commit()
    report.bonuses += sum(e.points for e in entries)
    report.noted(entries)


def _bonus(customer_id: int, name: str, year: int, points: int, reason: str) -> Change:
    return Change(
        key=f"{name}:{customer_id}:{year}", customer_id=customer_id, kind="earn",
        source=name,  # type: ignore[arg-type]
        points=points, reason=reason,
    )  # fmt: skip


def _expire(program: Program, session: Session, now: datetime, report: SyncReport) -> None:
    if program.expiry_months is None:
        return
    cutoff = add_months(now, -program.expiry_months)
    remind_from = cutoff + timedelta(days=program.reminder_days)
    changes: list[Change] = []
    events: list[dict[str, Any]] = []
    with session() as uow:
        for member in uow.loyalty.members():
            last: datetime | None = member["last_purchase_at"]
            if member["balance"] <= 0 or last is None:
                continue
            cid = member["customer_id"]
            if last < cutoff:
                changes.append(
                    Change(
                        key=f"expire:{cid}:{last:%Y%m%d%H%M%S}", customer_id=cid, kind="expire",
                        source="order", points=-member["balance"], clamp=True,
                        reason=f"no purchase in {program.expiry_months} months",
                    )
                )  # fmt: skip
            elif last < remind_from:
                expires = add_months(last, program.expiry_months)
                events.append(
                    {
                        "customer_id": cid, "event": "points_expiring", "at": now,
                        "ref": f"{cid}:{last:%Y%m%d%H%M%S}",
                        "data": {"points": member["balance"], "expires_on": expires.date().isoformat()},
                    }
                )  # fmt: skip
        entries = uow.loyalty.post(changes, now)
        report.reminders += uow.loyalty.add_events(events)
        uow.commit()
    report.expired += -sum(e.points for e in entries)
    report.noted(entries)


def _tell(program: Program, session: Session, now: datetime, report: SyncReport) -> None:
    """A ``points_changed`` event per customer whose points changed in a way worth telling."""
    changed = report._changed
    if not changed:
        return
    stamp = f"{now:%Y%m%d%H%M%S}"
    customers = sorted(changed)
    for start in range(0, len(customers), CHUNK):
        part = customers[start : start + CHUNK]
        with session() as uow:
            balances = uow.loyalty.column_of(part, "balance")
            rows = [
                {
                    "customer_id": cid, "event": "points_changed", "at": now, "ref": f"{cid}:{stamp}",
                    "data": {"balance": balances.get(cid, 0), "kinds": sorted(set(changed[cid]))},
                }
                for cid in part
            ]  # fmt: skip
            report.events += uow.loyalty.add_events(rows)
            uow.commit()


def _code_days(program: Program) -> int:
    return program.referrals.code_valid_days if program.referrals else 365


# --- what people ask of it -------------------------------------------------------------------


@dataclass(frozen=True)
class Redemption:
    reward: Reward
    code: str
    points: int
    balance: int


def _spec(reward: Reward, currency: str, now: datetime, purpose: str) -> DiscountSpec:
    expires = _day_end(now.date() + timedelta(days=reward.valid_days)) if reward.valid_days else None
    kind = "fixed" if reward.kind == "credit" else reward.kind
    return DiscountSpec(
        kind=kind, value=reward.value, currency=currency, minimum_order=reward.minimum_order,
        expires_at=expires, purpose=purpose,
    )  # fmt: skip


def redeem(
    program: Program,
    session: Session,
    customer_id: int,
    reward_key: str,
    now: datetime,
    request: str | None = None,
) -> Redemption:
    """Spend points on a reward: debit them and issue its single-use code, together or not
    at all. ``request`` makes a retried call return the first redemption instead of a second.
    Raises ``InsufficientPoints`` when the balance is short and ``LoyaltyError`` otherwise."""
    reward = program.reward(reward_key)
    key = f"redeem:{customer_id}:{request or uuid.uuid4().hex}"
    with session() as uow:
        if uow.loyalty.account(customer_id) is None:
            raise UnknownToLoyalty(f"customer {customer_id} is not a loyalty member")
        done = uow.loyalty.entry(key)
        if done is not None:
            if done["reason"] != reward.title or -done["points"] != reward.points:
                raise LoyaltyError(
                    f"request {request!r} already redeemed {done['reason']!r}, not {reward.key!r}"
                )
            return Redemption(
                reward, grouped(str(done["code"])), -int(done["points"]), int(done["balance_after"])
            )
        purpose = "loyalty-credit" if reward.kind == "credit" else f"loyalty-{reward.key}"
        code = uow.codes.issue(_spec(reward, program.currency, now, purpose), [customer_id], now)[0]
        change = Change(
            key=key, customer_id=customer_id, kind="redeem", source="reward", points=-reward.points,
            reason=reward.title, code=normalise(code),
        )  # fmt: skip
        (entry,) = uow.loyalty.post([change], now)
        uow.loyalty.tell([entry], now)
        uow.commit()
    return Redemption(reward, code, reward.points, entry.balance_after)


def adjust(
    program: Program,
    session: Session,
    customer_id: int,
    points: int,
    reason: str,
    now: datetime,
    actor: str = "admin",
) -> Entry:
    """An admin's correction, with the reason shown in the customer's history. A deduction
    beyond the balance raises ``InsufficientPoints`` and changes nothing."""
    if not reason.strip():
        raise LoyaltyError("an adjustment needs a reason; it is shown in the customer's history")
    if points == 0:
        raise LoyaltyError("an adjustment of 0 points changes nothing")
    with session() as uow:
        if uow.loyalty.customer(customer_id) is None:
            raise LoyaltyError(f"no customer {customer_id}")
        uow.loyalty.enroll([customer_id], now, _code_days(program))
        change = Change(
            key=f"adjust:{uuid.uuid4().hex}", customer_id=customer_id, kind="adjust", source="admin",
            points=points, reason=f"{reason.strip()} ({actor})",
        )  # fmt: skip
        (entry,) = uow.loyalty.post([change], now)
        uow.loyalty.tell([entry], now)
        uow.commit()
    return entry


def award(
    program: Program, session: Session, customer_id: int, bonus: str, ref: str, now: datetime
) -> Entry | None:
    """The program's bonus for a review or a survey (or another bonus by name), once per
    ``ref`` (the review's or the answer's id); None when it was already given."""
    points = program.bonuses.get(bonus, 0)
    if points <= 0:
        configured = ", ".join(name for name, value in program.bonuses.items() if value > 0) or "none"
        raise LoyaltyError(f"the program gives no {bonus!r} bonus; bonuses: {configured}")
    with session() as uow:
        if uow.loyalty.customer(customer_id) is None:
            raise LoyaltyError(f"no customer {customer_id}")
        uow.loyalty.enroll([customer_id], now, _code_days(program))
        change = Change(
            key=f"{bonus}:{customer_id}:{ref}", customer_id=customer_id, kind="earn",
            source=bonus,  # type: ignore[arg-type]
            points=points, reason=f"thank you for the {bonus}",
        )  # fmt: skip
        entries = uow.loyalty.post([change], now)
        for entry in entries:
            uow.loyalty.tell([entry], now)
        uow.commit()
    return entries[0] if entries else None


@dataclass(frozen=True)
class Referral:
    referrer_id: int
    friend_email: str
    welcome_code: str | None


def refer(
    program: Program,
    session: Session,
    code: str,
    friend_email: str,
    now: datetime,
    *,
    phone: str | None = None,
    address: str | None = None,
    payment: str | None = None,
) -> Referral:
    """Record that ``friend_email`` came with a member's referral code and give the friend
    the welcome reward. Refused: an unknown or expired code, a friend who is the referrer
    (same customer, e-mail, phone, address or payment), a friend already referred, and a
    friend who already bought."""
    rules = program.referrals
    if rules is None:
        raise LoyaltyError("the program has no referrals")
    if "@" not in friend_email or not friend_email.strip().rpartition("@")[2]:
        raise LoyaltyError(f"{friend_email!r} is not an e-mail address")
    email = canonical_email(friend_email)
    with session() as uow:
        account = uow.loyalty.by_referral_code(normalise(code))
        if account is None:
            raise UnknownToLoyalty(f"no referral code {code!r}")
        if account["referral_code_expires_at"] < now:
            raise LoyaltyError(
                f"referral code {code!r} expired on {account['referral_code_expires_at']:%Y-%m-%d}"
            )
        referrer = uow.loyalty.customer(account["customer_id"])
        assert referrer is not None  # an account belongs to a customer
        friend = uow.loyalty.customer_by_email(friend_email)
        _not_self(referrer, friend, friend_email, phone, address, payment)
        if uow.loyalty.referral_by_friend(email) is not None:
            raise LoyaltyError(f"{friend_email} was already referred; a friend is rewarded once")
        if friend is not None and friend.get("orders", 0):
            raise LoyaltyError(f"{friend_email} is already a customer; referrals are for new ones")
        welcome = None
        if rules.welcome is not None:
            owner = friend["id"] if friend else None
            welcome = uow.codes.issue(
                _spec(rules.welcome, program.currency, now, "referral-welcome"), [owner], now
            )[0]
        uow.loyalty.add_referral(
            {
                "referrer_id": account["customer_id"], "friend_email": email,
                "friend_id": friend["id"] if friend else None,
                "welcome_code": normalise(welcome) if welcome else None,
                "status": "pending", "created_at": now,
            }
        )  # fmt: skip
        uow.commit()
    return Referral(account["customer_id"], email, welcome)


def _not_self(
    referrer: dict[str, Any],
    friend: dict[str, Any] | None,
    friend_email: str,
    phone: str | None,
    address: str | None,
    payment: str | None,
) -> None:
    refused = LoyaltyError("a customer cannot refer themselves")
    if friend is not None and friend["id"] == referrer["id"]:
        raise refused
    if referrer.get("email") and same_person(referrer["email"], friend_email):
        raise refused
    known = referrer.get("attributes") or {}
    given = {"phone": phone or (friend or {}).get("phone"), "address": address, "payment": payment}
    mine = {"phone": referrer.get("phone"), "address": known.get("address"), "payment": known.get("payment")}
    for what, value in given.items():
        if value and mine[what] and _plain(str(value)) == _plain(str(mine[what])):
            raise LoyaltyError(f"a customer cannot refer themselves (same {what})")


def _plain(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoyaltyReport:
    members: int
    issued: int  # points earned on orders, bonuses and referrals, and added by hand
    redeemed: int
    reversed: int
    expired: int
    shortfall: int  # points refunds could not take back, the balance being spent
    balance: int  # approved points outstanding
    pending: int  # points waiting out the return window
    liability: Decimal  # approved points times their value, in the program's currency
    pending_liability: Decimal
    tiers: dict[str, int]  # members per tier ("none" for members below every tier)
    members_repeat_rate: float | None
    others_repeat_rate: float | None
    currency: str


def report(program: Program, session: Session) -> LoyaltyReport:
    with session() as uow:
        totals = uow.loyalty.totals()
        tiers = uow.loyalty.tier_counts()
        rates = uow.loyalty.repeat_rates()

    def total(kind: str) -> int:
        return totals.get(f"{kind}_total", 0)

    adjusted_up = totals.get("adjust_added", 0)
    adjusted_down = totals.get("adjust_removed", 0)
    ordered = {tier.name: tiers.get(tier.name, 0) for tier in program.tiers}
    ordered |= {str(name or "none"): count for name, count in tiers.items() if name not in ordered}
    return LoyaltyReport(
        members=totals.get("members", 0),
        issued=total("earn") + total("referral") + adjusted_up,
        redeemed=-total("redeem") + adjusted_down,
        reversed=-total("reverse"),
        expired=-total("expire"),
        shortfall=totals.get("reverse_shortfall", 0) + totals.get("expire_shortfall", 0),
        balance=totals.get("balance", 0),
        pending=totals.get("pending", 0),
        liability=program.value_of(totals.get("balance", 0)),
        pending_liability=program.value_of(totals.get("pending", 0)),
        tiers=ordered,
        members_repeat_rate=_rate(*rates["members"]),
        others_repeat_rate=_rate(*rates["non_members"]),
        currency=program.currency,
    )


def _rate(buyers: int, repeat: int) -> float | None:
    return repeat / buyers if buyers else None
