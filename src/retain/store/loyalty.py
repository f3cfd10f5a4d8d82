"""The loyalty ledger in the store: accounts, entries, what orders earned, and referrals.

``post`` is the only writer of balances. It locks the accounts it touches (``FOR UPDATE`` on
PostgreSQL; SQLite's write lock is already held from the first statement of the unit of
work), drops changes whose key is already in the ledger, settles the rest in order against
the locked balances, and writes entries and balances together. Two redemptions racing for
one balance therefore queue on the lock, and the second sees what the first left.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, Integer, and_, bindparam, case, func, insert, or_, select, update

from retain.domain.discounts import ALPHABET
from retain.domain.loyalty import Change, Entry, LoyaltyError, canonical_email, settle
from retain.store.bulk_base import BulkWriter
from retain.store.events import add_events
from retain.store.sets import among, chunks
from retain.store.tables import (
    customers,
    discount_codes,
    loyalty_accounts,
    loyalty_ledger,
    loyalty_orders,
    order_lines,
    orders,
    products,
    referrals,
)

REFERRAL_CODE_DAYS = 365  # for accounts opened outside the program's sync
BULK = 2_000  # from this many entries on, rows go to the driver as tuples (COPY on PostgreSQL)
PAID = ("paid", "partially_refunded", "refunded")
_LEDGER_SCHEMA: dict[str, Any] = {
    "key": pl.String, "customer_id": pl.Int64, "kind": pl.String, "source": pl.String,
    "points": pl.Int64, "pending": pl.Int64, "balance_after": pl.Int64, "pending_after": pl.Int64,
    "shortfall": pl.Int64, "order_id": pl.Int64, "code": pl.String, "reason": pl.String,
    "at": pl.Datetime("us", "UTC"),
}  # fmt: skip


_ORDER_SCHEMA: dict[str, Any] = {
    "order_id": pl.Int64, "customer_id": pl.Int64, "earned": pl.Int64, "reversed": pl.Int64,
    "approve_at": pl.Datetime("us", "UTC"), "approved": pl.Boolean,
}  # fmt: skip


def referral_code() -> str:
    """Eight characters without look-alikes: short enough to say, 31^8 ≈ 8.5 x 10^11."""
    return "".join(secrets.choice(ALPHABET) for _ in range(8))


class SqlLoyalty:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    # --- accounts ------------------------------------------------------------------------

    def enroll(self, customer_ids: Sequence[int], now: datetime, code_days: int) -> int:
        """Open an account for each customer without one; returns how many were opened."""
        wanted = sorted(set(customer_ids))
        have: set[int] = set()
        for part in chunks(wanted):
            query = select(loyalty_accounts.c.customer_id).where(
                among(loyalty_accounts.c.customer_id, part, self._postgres)
            )
            have.update(self.connection.scalars(query))
        fresh = [c for c in wanted if c not in have]
        if not fresh:
            return 0
        codes = self._fresh_codes(len(fresh))
        expires = now + timedelta(days=code_days)
        rows = [
            {
                "customer_id": c, "balance": 0, "pending": 0, "referral_code": code,
                "referral_code_expires_at": expires, "joined_at": now, "updated_at": now,
            }
            for c, code in zip(fresh, codes, strict=True)
        ]  # fmt: skip
        for part in chunks(rows):
            self.connection.execute(insert(loyalty_accounts), list(part))
        return len(fresh)

    def _fresh_codes(self, count: int) -> list[str]:
        found: set[str] = set()
        while len(found) < count:
            wanted = {referral_code() for _ in range(count - len(found))} - found
            taken: set[str] = set()
            for part in chunks(sorted(wanted)):
                query = select(loyalty_accounts.c.referral_code).where(
                    among(loyalty_accounts.c.referral_code, part, self._postgres)
                )
                taken.update(self.connection.scalars(query))
            found |= wanted - taken
        return sorted(found)[:count]

    def account(self, customer_id: int) -> dict[str, Any] | None:
        row = self.connection.execute(
            select(loyalty_accounts).where(loyalty_accounts.c.customer_id == customer_id)
        ).first()
        return dict(row._mapping) if row else None

    def accounts(self, customer_ids: Sequence[int]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for part in chunks(sorted(set(customer_ids))):
            query = select(loyalty_accounts).where(
                among(loyalty_accounts.c.customer_id, part, self._postgres)
            )
            found.extend(dict(row._mapping) for row in self.connection.execute(query))
        return found

    def column_of(self, customer_ids: Sequence[int], column: str) -> dict[int, Any]:
        """One column of the accounts of ``customer_ids`` (tier, balance): a sync reads only
        what it needs, as converting every time column of a million rows cost it a tenth."""
        found: dict[int, Any] = {}
        chosen = loyalty_accounts.c[column]
        for part in chunks(sorted(set(customer_ids))):
            query = select(loyalty_accounts.c.customer_id, chosen).where(
                among(loyalty_accounts.c.customer_id, part, self._postgres)
            )
            found.update((row[0], row[1]) for row in self.connection.execute(query))
        return found

    def customer(self, customer_id: int) -> dict[str, Any] | None:
        """A customer's contact details and how many orders they placed."""
        return self._customer(customers.c.id == customer_id)

    def customer_by_email(self, email: str) -> dict[str, Any] | None:
        return self._customer(func.lower(customers.c.email) == email.strip().lower())

    def _customer(self, rule: Any) -> dict[str, Any] | None:
        placed = (
            select(func.count())
            .where(orders.c.customer_id == customers.c.id, orders.c.cancelled_at.is_(None))
            .scalar_subquery()
        )
        query = (
            select(
                customers.c.id,
                customers.c.email,
                customers.c.phone,
                customers.c.attributes,
                placed.label("orders"),
            )
            .where(rule)
            .order_by(customers.c.id)
        )
        row = self.connection.execute(query).first()
        return dict(row._mapping) if row else None

    def code_holders(self, purpose: str) -> set[int]:
        """Customers who hold a code issued for ``purpose``."""
        query = select(discount_codes.c.customer_id).where(
            discount_codes.c.purpose == purpose, discount_codes.c.customer_id.is_not(None)
        )
        return set(self.connection.scalars(query))

    def by_referral_code(self, code: str) -> dict[str, Any] | None:
        row = self.connection.execute(
            select(loyalty_accounts).where(loyalty_accounts.c.referral_code == code)
        ).first()
        return dict(row._mapping) if row else None

    def members(self) -> list[dict[str, Any]]:
        """Every account: customer, balances, tier (since when, and any downgrade pending) and
        last purchase."""
        query = select(
            loyalty_accounts.c.customer_id, loyalty_accounts.c.balance, loyalty_accounts.c.pending,
            loyalty_accounts.c.tier, loyalty_accounts.c.tier_since, loyalty_accounts.c.downgrade_at,
            loyalty_accounts.c.last_purchase_at,
        ).order_by(loyalty_accounts.c.customer_id)  # fmt: skip
        return [dict(row._mapping) for row in self.connection.execute(query)]

    def set_tiers(self, rows: Sequence[dict[str, Any]], now: datetime) -> None:
        """``rows`` hold customer_id, tier, tier_since and downgrade_at."""
        if not rows:
            return
        statement = (
            update(loyalty_accounts)
            .where(loyalty_accounts.c.customer_id == bindparam("cid"))
            .values(
                tier=bindparam("tier"),
                tier_since=bindparam("since"),
                downgrade_at=bindparam("down"),
                updated_at=now,
            )
        )
        self.connection.execute(
            statement,
            [{"cid": r["customer_id"], "tier": r["tier"], "since": r["tier_since"], "down": r["downgrade_at"]}
             for r in rows],
        )  # fmt: skip

    def touch_purchases(self, last: dict[int, datetime]) -> None:
        """Move each customer's last purchase forward to the time given, never back."""
        if not last:
            return
        if self._postgres:  # GREATEST passes over a NULL
            spec = {"last_purchase_at": "timestamptz|GREATEST(t.last_purchase_at, v.last_purchase_at)"}
            _update_many(self.connection, "loyalty_accounts", "customer_id", spec, list(last.items()))
            return
        sql = (
            "UPDATE loyalty_accounts SET last_purchase_at = ? WHERE customer_id = ?"
            " AND (last_purchase_at IS NULL OR last_purchase_at < ?)"
        )
        values = [(_driver_time(at, False), c, _driver_time(at, False)) for c, at in last.items()]
        for part in chunks(values, 20_000):
            self.connection.exec_driver_sql(sql, list(part))

    # --- the ledger ----------------------------------------------------------------------

    def post(self, changes: Sequence[Change], at: datetime) -> list[Entry]:
        """Settle and write ``changes`` (skipping keys already in the ledger) in order; the
        entries written. Raises ``LoyaltyError`` for a change its account cannot cover, or a
        customer without an account, and then writes nothing."""
        seen: set[str] = set()
        for part in chunks([c.key for c in changes]):
            query = select(loyalty_ledger.c.key).where(among(loyalty_ledger.c.key, part, self._postgres))
            seen.update(self.connection.scalars(query))
        fresh: list[Change] = []
        for change in changes:
            if change.key not in seen:
                seen.add(change.key)
                fresh.append(change)
        if not fresh:
            return []
        buckets = self._lock(sorted({c.customer_id for c in fresh}))
        entries: list[Entry] = []
        for change in fresh:
            if change.customer_id not in buckets:
                raise LoyaltyError(f"customer {change.customer_id} is not a loyalty member")
            balance, pending = buckets[change.customer_id]
            entry = settle(change, balance, pending, at)
            buckets[change.customer_id] = (entry.balance_after, entry.pending_after)
            entries.append(entry)
        self._write(entries)
        touched = {e.customer_id for e in entries}
        when = _driver_time(at, self._postgres)
        _update_many(
            self.connection, "loyalty_accounts", "customer_id",
            {"balance": "bigint", "pending": "bigint", "updated_at": "timestamptz"},
            [(c, *buckets[c], when) for c in sorted(touched)],
        )  # fmt: skip
        return entries

    def _lock(self, customer_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        found: dict[int, tuple[int, int]] = {}
        for part in chunks(customer_ids):
            query = (
                select(loyalty_accounts.c.customer_id, loyalty_accounts.c.balance, loyalty_accounts.c.pending)
                .where(among(loyalty_accounts.c.customer_id, part, self._postgres))
                .order_by(loyalty_accounts.c.customer_id)
                .with_for_update()
            )
            found.update({row[0]: (row[1], row[2]) for row in self.connection.execute(query)})
        return found

    def _write(self, entries: Sequence[Entry]) -> None:
        names = list(_LEDGER_SCHEMA)
        if len(entries) >= BULK:
            frame = pl.DataFrame(
                [[getattr(e, n) for n in names] for e in entries], schema=_LEDGER_SCHEMA, orient="row"
            )
            BulkWriter(self.connection).write_rows(loyalty_ledger, frame, None)
        else:
            self.connection.execute(
                insert(loyalty_ledger), [{n: getattr(e, n) for n in names} for e in entries]
            )

    def history(self, customer_id: int, limit: int = 100) -> list[dict[str, Any]]:
        """The newest entries first."""
        query = (
            select(loyalty_ledger)
            .where(loyalty_ledger.c.customer_id == customer_id)
            .order_by(loyalty_ledger.c.id.desc())
            .limit(limit)
        )
        return [dict(row._mapping) for row in self.connection.execute(query)]

    def ledger_sums(self, customer_id: int) -> tuple[int, int]:
        """The balances the ledger adds up to, to check the stored ones against."""
        row = self.connection.execute(
            select(
                func.coalesce(func.sum(loyalty_ledger.c.points), 0),
                func.coalesce(func.sum(loyalty_ledger.c.pending), 0),
            ).where(loyalty_ledger.c.customer_id == customer_id)
        ).one()
        return int(row[0]), int(row[1])

    def entry(self, key: str) -> dict[str, Any] | None:
        row = self.connection.execute(select(loyalty_ledger).where(loyalty_ledger.c.key == key)).first()
        return dict(row._mapping) if row else None

    # --- orders --------------------------------------------------------------------------

    def earnable(
        self,
        after_id: int,
        limit: int,
        starts: datetime | None,
        until: datetime,
        consent_only: bool,
        skus: Sequence[str],
        categories: Sequence[str],
    ) -> list[dict[str, Any]]:
        """Paid, uncancelled orders that have not earned yet, by id from ``after_id``, with
        the money they paid for goods outside the exclusions (``basis``)."""
        o = orders
        query = (
            select(
                o.c.id, o.c.customer_id, o.c.placed_at, o.c.currency, o.c.total, o.c.refunded,
                (o.c.total - o.c.shipping - o.c.tax).label("basis"),
            )
            .select_from(o.outerjoin(loyalty_orders, loyalty_orders.c.order_id == o.c.id))
            .where(
                o.c.id > after_id, loyalty_orders.c.order_id.is_(None), o.c.cancelled_at.is_(None),
                o.c.placed_at <= until,
                _paid(),
            )
            .order_by(o.c.id)
            .limit(limit)
        )  # fmt: skip
        if starts is not None:
            query = query.where(o.c.placed_at >= starts)
        if consent_only:
            query = query.where(
                o.c.customer_id.in_(select(customers.c.id).where(customers.c.marketing_consent.is_(True)))
            )
        rows = [dict(row._mapping) for row in self.connection.execute(query)]
        if rows and (skus or categories):
            excluded = self._excluded([r["id"] for r in rows], skus, categories)
            for row in rows:
                row["basis"] -= excluded.get(row["id"], 0)
        return rows

    def _excluded(
        self, order_ids: Sequence[int], skus: Sequence[str], categories: Sequence[str]
    ) -> dict[int, int]:
        """Money paid per order for lines the program excludes."""
        value = order_lines.c.quantity * order_lines.c.unit_price - order_lines.c.line_discount
        rule = []
        if skus:
            rule.append(order_lines.c.sku.in_(list(skus)))
        if categories:
            rule.append(products.c.category.in_(list(categories)))
        found: dict[int, int] = {}
        for part in chunks(order_ids):
            query = (
                select(order_lines.c.order_id, func.sum(value))
                .select_from(order_lines.outerjoin(products, products.c.id == order_lines.c.product_id))
                .where(among(order_lines.c.order_id, part, self._postgres), or_(*rule))
                .group_by(order_lines.c.order_id)
            )
            found.update({row[0]: int(row[1]) for row in self.connection.execute(query)})
        return found

    def record_orders(self, rows: Sequence[dict[str, Any]]) -> None:
        """``rows`` hold order_id, customer_id, earned and approve_at."""
        if not rows:
            return
        frame = pl.DataFrame(
            {
                "order_id": [r["order_id"] for r in rows], "customer_id": [r["customer_id"] for r in rows],
                "earned": [r["earned"] for r in rows], "reversed": [0] * len(rows),
                "approve_at": [r["approve_at"] for r in rows], "approved": [False] * len(rows),
            },
            schema=_ORDER_SCHEMA,
        )  # fmt: skip
        BulkWriter(self.connection).write_rows(loyalty_orders, frame, None)

    def reversible(self) -> list[dict[str, Any]]:
        """Orders that earned points and were since refunded or cancelled, with points left."""
        lo, o = loyalty_orders, orders
        query = (
            select(
                lo.c.order_id, lo.c.customer_id, lo.c.earned, lo.c.reversed, lo.c.approved,
                o.c.total, o.c.refunded, o.c.cancelled_at,
            )
            .select_from(lo.join(o, o.c.id == lo.c.order_id))
            .where(
                lo.c.reversed < lo.c.earned,
                # What reversal_due asks for exceeds what was taken: cancelled, refunded in
                # full, or a refunded share (rounded up) above the points reversed so far.
                or_(
                    o.c.cancelled_at.is_not(None),
                    o.c.refunded >= o.c.total,
                    and_(o.c.refunded > 0, lo.c.earned * o.c.refunded > lo.c.reversed * o.c.total),
                ),
            )
            .order_by(lo.c.order_id)
        )  # fmt: skip
        return [dict(row._mapping) for row in self.connection.execute(query)]

    def set_reversed(self, reversed_by_order: dict[int, int]) -> None:
        self._set_orders("reversed", reversed_by_order)

    def due_approvals(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        lo = loyalty_orders
        query = (
            select(lo.c.order_id, lo.c.customer_id, lo.c.earned, lo.c.reversed)
            .where(lo.c.approved.is_(False), lo.c.approve_at <= now)
            .order_by(lo.c.approve_at, lo.c.order_id)
            .limit(limit)
        )
        return [dict(row._mapping) for row in self.connection.execute(query)]

    def mark_approved(self, order_ids: Sequence[int]) -> None:
        self._set_orders("approved", dict.fromkeys(order_ids, True))

    def _set_orders(self, column: str, values: dict[int, Any]) -> None:
        kind = "boolean" if column == "approved" else "bigint"
        _update_many(self.connection, "loyalty_orders", "order_id", {column: kind}, list(values.items()))

    # --- tiers and dates -----------------------------------------------------------------

    def spend_since(self, since: datetime, until: datetime) -> dict[int, int]:
        """Each member's spend since ``since``: totals less refunds, cancelled orders left out."""
        query = (
            select(orders.c.customer_id, func.sum(orders.c.total - orders.c.refunded))
            .select_from(
                orders.join(loyalty_accounts, loyalty_accounts.c.customer_id == orders.c.customer_id)
            )
            .where(orders.c.placed_at >= since, orders.c.placed_at <= until, orders.c.cancelled_at.is_(None))
            .group_by(orders.c.customer_id)
        )
        return {row[0]: int(row[1]) for row in self.connection.execute(query)}

    def points_earned_since(self, since: datetime) -> dict[int, int]:
        """Points each member earned since ``since``, pending or approved, less reversals."""
        earned = loyalty_ledger.c.points + loyalty_ledger.c.pending
        query = (
            select(loyalty_ledger.c.customer_id, func.sum(earned))
            .where(loyalty_ledger.c.at >= since, loyalty_ledger.c.kind.in_(("earn", "referral", "reverse")))
            .group_by(loyalty_ledger.c.customer_id)
        )
        return {row[0]: max(int(row[1]), 0) for row in self.connection.execute(query)}

    def dated_members(self) -> list[dict[str, Any]]:
        """Members with their birthday and the day they became customers."""
        query = select(customers.c.id, customers.c.birthday, customers.c.created_at).join(
            loyalty_accounts, loyalty_accounts.c.customer_id == customers.c.id
        )
        return [dict(row._mapping) for row in self.connection.execute(query)]

    # --- referrals -----------------------------------------------------------------------

    def referral_by_friend(self, friend_email: str) -> dict[str, Any] | None:
        row = self.connection.execute(
            select(referrals).where(referrals.c.friend_email == friend_email)
        ).first()
        return dict(row._mapping) if row else None

    def add_referral(self, row: dict[str, Any]) -> None:
        self.connection.execute(insert(referrals), [row])

    def pending_referrals(self) -> list[dict[str, Any]]:
        query = select(referrals).where(referrals.c.status == "pending").order_by(referrals.c.id)
        return [dict(row._mapping) for row in self.connection.execute(query)]

    def first_orders(self, emails: Sequence[str]) -> dict[str, dict[str, Any]]:
        """By canonical e-mail among ``emails``: each friend's first uncancelled order, with
        whether it was paid. Addresses are compared as ``canonical_email`` writes them."""
        wanted = set(emails)
        domains = {email.partition("@")[2] for email in wanted}
        if "gmail.com" in domains:  # canonical_email writes googlemail.com as gmail.com
            domains.add("googlemail.com")
        people = select(customers.c.id, customers.c.email).where(
            or_(*(func.lower(customers.c.email).like(f"%@{domain}") for domain in sorted(domains)))
        )
        owners = {
            row.id: canonical_email(row.email)
            for row in self.connection.execute(people)
            if canonical_email(row.email) in wanted
        }
        found: dict[str, dict[str, Any]] = {}
        for part in chunks(sorted(owners)):
            query = (
                select(
                    orders.c.id, orders.c.customer_id, orders.c.placed_at, orders.c.total, orders.c.refunded,
                    _paid().label("paid"),
                )
                .where(among(orders.c.customer_id, part, self._postgres), orders.c.cancelled_at.is_(None))
                .order_by(orders.c.placed_at, orders.c.id)
            )  # fmt: skip
            for row in self.connection.execute(query):
                email = owners[row.customer_id]
                if email not in found or row.placed_at < found[email]["placed_at"]:
                    found[email] = dict(row._mapping)
        return found

    def settle_referral(
        self, referral_id: int, status: str, at: datetime, friend_id: int | None, order_id: int | None
    ) -> None:
        self.connection.execute(
            update(referrals)
            .where(referrals.c.id == referral_id)
            .values(status=status, settled_at=at, friend_id=friend_id, order_id=order_id)
        )

    def credited_since(self, referrer_id: int, since: datetime) -> int:
        query = select(func.count()).where(
            referrals.c.referrer_id == referrer_id,
            referrals.c.status == "credited",
            referrals.c.settled_at >= since,
        )
        return int(self.connection.execute(query).scalar_one())

    # --- events for flows ----------------------------------------------------------------

    def add_events(self, rows: Sequence[dict[str, Any]]) -> int:
        """Customer events (points changed, points expiring) not already recorded."""
        return add_events(self.connection, rows)

    def tell(self, entries: Sequence[Entry], now: datetime) -> int:
        """A ``points_changed`` event for each entry that changed a spendable balance."""
        rows = [
            {
                "customer_id": e.customer_id, "event": "points_changed", "at": now, "ref": e.key[:64],
                "data": {"balance": e.balance_after, "kinds": [e.kind], "points": e.points},
            }
            for e in entries
            if e.points
        ]  # fmt: skip
        return self.add_events(rows)

    # --- the report ----------------------------------------------------------------------

    def totals(self) -> dict[str, int]:
        """Points by entry kind (positive and negative moves apart) and account figures."""
        moved = loyalty_ledger.c.points + loyalty_ledger.c.pending
        found: dict[str, int] = {}
        query = select(
            loyalty_ledger.c.kind,
            func.coalesce(func.sum(loyalty_ledger.c.points), 0),
            func.coalesce(func.sum(moved), 0),
            func.coalesce(func.sum(loyalty_ledger.c.shortfall), 0),
        ).group_by(loyalty_ledger.c.kind)
        for kind, points, both, shortfall in self.connection.execute(query):
            found[f"{kind}_points"] = int(points)
            found[f"{kind}_total"] = int(both)
            found[f"{kind}_shortfall"] = int(shortfall)
        accounts = self.connection.execute(
            select(
                func.count(), func.coalesce(func.sum(loyalty_accounts.c.balance), 0),
                func.coalesce(func.sum(loyalty_accounts.c.pending), 0),
            )
        ).one()  # fmt: skip
        found["members"], found["balance"], found["pending"] = (int(v) for v in accounts)
        adjustments = select(
            func.coalesce(func.sum(case((loyalty_ledger.c.points > 0, loyalty_ledger.c.points), else_=0)), 0),
            func.coalesce(
                func.sum(case((loyalty_ledger.c.points < 0, -loyalty_ledger.c.points), else_=0)), 0
            ),
        ).where(loyalty_ledger.c.kind == "adjust")
        found["adjust_added"], found["adjust_removed"] = (
            int(v) for v in self.connection.execute(adjustments).one()
        )
        return found

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest ledger entries of every member, with the member's e-mail."""
        query = (
            select(loyalty_ledger, customers.c.email)
            .join(customers, customers.c.id == loyalty_ledger.c.customer_id)
            .order_by(loyalty_ledger.c.id.desc())
            .limit(limit)
        )
        return [dict(row._mapping) for row in self.connection.execute(query)]

    def entry_counts(self) -> dict[str, int]:
        """Ledger entries by kind: how many redemptions, expiries and so on."""
        query = select(loyalty_ledger.c.kind, func.count()).group_by(loyalty_ledger.c.kind)
        return {kind: int(n) for kind, n in self.connection.execute(query)}

    def tier_counts(self) -> dict[str | None, int]:
        query = select(loyalty_accounts.c.tier, func.count()).group_by(loyalty_accounts.c.tier)
        return {row[0]: int(row[1]) for row in self.connection.execute(query)}

    def repeat_rates(self) -> dict[str, tuple[int, int]]:
        """(buyers, repeat buyers) for members and for everyone else."""
        per_customer = (
            select(orders.c.customer_id, func.count().label("n"))
            .where(orders.c.cancelled_at.is_(None))
            .group_by(orders.c.customer_id)
            .subquery()
        )
        member = loyalty_accounts.c.customer_id.is_not(None)
        query = (
            select(
                member.label("member"), func.count(), func.sum(func.cast(per_customer.c.n >= 2, Integer()))
            )
            .select_from(
                per_customer.outerjoin(
                    loyalty_accounts, loyalty_accounts.c.customer_id == per_customer.c.customer_id
                )
            )
            .group_by(member)
        )
        found = {"members": (0, 0), "non_members": (0, 0)}
        for is_member, buyers, repeat in self.connection.execute(query):
            found["members" if is_member else "non_members"] = (int(buyers), int(repeat or 0))
        return found


def _update_many(
    connection: Connection, table: str, key: str, columns: dict[str, str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """``UPDATE table SET column = value, ... WHERE key = k`` for each row ``(k, value, ...)``,
    ``columns`` mapping each column to its PostgreSQL type and, optionally, to the expression
    that sets it from the old row ``t`` and the new values ``v`` (``"timestamptz|GREATEST(...)"``).
    On PostgreSQL one statement takes the rows as arrays: a statement per row was most of a
    sync's time there. SQLite runs one prepared statement per row, which costs it little."""
    if not rows:
        return
    names = list(columns)
    kinds = {name: spec.partition("|")[0] for name, spec in columns.items()}
    if connection.dialect.name == "postgresql":
        arrays = ", ".join(f"%s::{kind}[]" for kind in ("bigint", *kinds.values()))
        sets = ", ".join(f"{n} = {columns[n].partition('|')[2] or f'v.{n}'}" for n in names)
        sql = (
            f"UPDATE {table} AS t SET {sets} FROM unnest({arrays}) AS v(k, {', '.join(names)})"
            f" WHERE t.{key} = v.k"
        )
        for part in chunks(rows, 50_000):
            connection.exec_driver_sql(sql, tuple(list(column) for column in zip(*part, strict=True)))
        return
    sql = f"UPDATE {table} SET {', '.join(f'{n} = ?' for n in names)} WHERE {key} = ?"
    values = [(*row[1:], row[0]) for row in rows]
    for part in chunks(values, 20_000):
        connection.exec_driver_sql(sql, list(part))


def _paid() -> Any:
    """Orders that were paid: a payment time, or a status that says so."""
    return or_(orders.c.paid_at.is_not(None), orders.c.financial_status.in_(PAID))


def _driver_time(at: datetime, postgres: bool) -> Any:
    """A time as the driver takes it: aware on PostgreSQL, naive UTC text on SQLite."""
    return at if postgres else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
