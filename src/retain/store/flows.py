"""Flows in the store: definitions, runs as leased jobs, and what runs did, exactly once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, bindparam, case, delete, func, insert, or_, select, text, update

from retain.domain.flow_runs import Entrants, History, Outcome, Queued, Run, offer_spec
from retain.domain.loyalty import Change
from retain.store.bulk_base import BulkWriter
from retain.store.discounts import SqlDiscountCodes
from retain.store.loyalty import REFERRAL_CODE_DAYS, SqlLoyalty
from retain.store.sets import among, chunks, rows_among, utc
from retain.store.tables import (
    cursors,
    flow_actions,
    flow_entries,
    flows,
    message_queue,
    messages,
    orders,
    staff_tasks,
)


class SqlFlows:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._postgres = connection.dialect.name == "postgresql"

    # --- definitions ---------------------------------------------------------------------

    def save(self, name: str, definition: dict[str, Any], now: datetime, enabled: bool | None = None) -> None:
        values: dict[str, Any] = {"definition": definition, "updated_at": now}
        if enabled is not None:
            values["enabled"] = enabled
        done = self.connection.execute(update(flows).where(flows.c.name == name).values(**values))
        if done.rowcount == 0:
            self.connection.execute(insert(flows).values(name=name, **{"enabled": False, **values}))

    def set_enabled(self, name: str, enabled: bool, now: datetime) -> bool:
        done = self.connection.execute(
            update(flows).where(flows.c.name == name).values(enabled=enabled, updated_at=now)
        )
        return done.rowcount > 0

    def definitions(self) -> dict[str, tuple[dict[str, Any], bool]]:
        rows = self.connection.execute(select(flows.c.name, flows.c.definition, flows.c.enabled))
        return {row.name: (row.definition, bool(row.enabled)) for row in rows}

    # --- cursors -------------------------------------------------------------------------

    def cursor(self, name: str) -> str | None:
        return self.connection.scalar(select(cursors.c.value).where(cursors.c.name == name))

    def set_cursor(self, name: str, value: str) -> None:
        done = self.connection.execute(update(cursors).where(cursors.c.name == name).values(value=value))
        if done.rowcount == 0:
            self.connection.execute(insert(cursors).values(name=name, value=value))

    # --- entering ------------------------------------------------------------------------

    def history(self, flow: str, customer_ids: Sequence[int]) -> dict[int, History]:
        rows = rows_among(self.connection, _HISTORY, sorted(set(customer_ids)), flow)
        return {c: History(utc(last), bool(active), int(entries)) for c, last, entries, active in rows}

    def enter(self, now: datetime, entrants: Sequence[Entrants]) -> None:
        """Insert new runs, every flow's at once: column by column to the driver (COPY on
        PostgreSQL), since a day can enter hundreds of thousands of customers and per-row
        processing was most of it."""
        frames = [_entry_frame(one) for one in entrants if one.customers]
        if not frames:
            return
        at = pl.lit(now.astimezone(UTC), dtype=_UTC)
        held = pl.col("holdout")
        frame = pl.concat(frames).select(
            "flow", "customer_id", "entry_no", at.alias("entered_at"), "holdout",
            pl.when(held).then(pl.lit("holdout")).otherwise(pl.lit("active")).alias("state"),
            pl.lit(0, dtype=pl.Int64).alias("step"),
            pl.when(held).then(None).otherwise(at).alias("next_run_at"),
            pl.when(held).then(at).otherwise(None).alias("finished_at"),
            "context",
        )  # fmt: skip
        BulkWriter(self.connection).write_rows(flow_entries, frame, None)
        if self._postgres and frame.height > 10_000:
            # Fresh statistics, or the planner misjudges the claim query after a big entry.
            self.connection.execute(text("ANALYZE flow_entries"))

    # --- running -------------------------------------------------------------------------

    def claim(
        self, owner: str, now: datetime, lease: timedelta, limit: int, flows: Sequence[str] = ()
    ) -> list[Run]:
        """Lease up to ``limit`` due runs of ``flows`` (of every flow when empty) to ``owner``;
        a run leased by a worker that died is due again once its lease has ended.

        Flows are claimed one after another, each from its own range of the partial index
        of active runs, so the due runs of other (or disabled) flows are never scanned."""
        names = list(flows) or sorted(self.definitions())
        ids: list[int] = []
        for name in names:
            if len(ids) >= limit:
                break
            due = (
                select(flow_entries.c.id)
                .where(
                    flow_entries.c.flow == name,
                    flow_entries.c.state == "active",
                    flow_entries.c.next_run_at <= now,
                    or_(flow_entries.c.lease_until.is_(None), flow_entries.c.lease_until <= now),
                )
                .order_by(flow_entries.c.next_run_at, flow_entries.c.id)
                .limit(limit - len(ids))
            )
            if self._postgres:  # two workers never wait on, or take, each other's rows
                due = due.with_for_update(skip_locked=True)
            ids.extend(self.connection.scalars(due))
        if not ids:
            return []
        self.connection.execute(
            update(flow_entries)
            .where(
                flow_entries.c.id.in_(ids),
                or_(flow_entries.c.lease_until.is_(None), flow_entries.c.lease_until <= now),
            )
            .values(lease_owner=owner, lease_until=now + lease)
        )
        rows = self.connection.execute(
            select(flow_entries).where(flow_entries.c.id.in_(ids), flow_entries.c.lease_owner == owner)
        )
        return [
            Run(
                id=row.id, flow=row.flow, customer_id=row.customer_id, entry_no=row.entry_no, step=row.step,
                entered_at=row.entered_at, context=dict(row.context or {}), waiting_for=row.waiting_for,
            )
            for row in rows
        ]  # fmt: skip

    def apply(
        self, outcomes: Sequence[Outcome], owner: str, now: datetime, codes: SqlDiscountCodes, currency: str
    ) -> int:
        """Write what the runs did and where they stand; returns the actions written.

        Each action's key is unique: an action already written (by a run that crashed after
        committing, which cannot happen, or by anything else) is not written again."""
        keys = [action.key for outcome in outcomes for action in outcome.actions]
        done: set[str] = set()
        for part in chunks(keys):
            done.update(
                self.connection.scalars(
                    select(flow_actions.c.key).where(among(flow_actions.c.key, part, self._postgres))
                )
            )
        actions, queued, tasks, points = [], [], [], []
        for outcome in outcomes:
            run = outcome.run
            for action in outcome.actions:
                if action.key in done:
                    continue
                done.add(action.key)
                detail = action.detail
                if action.kind == "send":
                    offer = None if action.offer is None else asdict(action.offer)
                    queued.append(
                        {"key": action.key, "customer_id": run.customer_id, "template": action.template,
                         "flow": run.flow, "offer": offer, "not_before": now, "created_at": now}
                    )  # fmt: skip
                elif action.kind == "task":
                    tasks.append(
                        {"key": action.key, "flow": run.flow, "customer_id": run.customer_id,
                         "title": action.title, "role": action.role, "due_at": action.due_at,
                         "created_at": now}
                    )  # fmt: skip
                elif action.kind == "code" and action.offer is not None:
                    spec = offer_spec(action.offer, currency, now, run.flow)
                    detail = codes.issue(spec, [run.customer_id], now)[0]
                elif action.kind == "points" and action.points:
                    detail = f"{action.points} points" + (f": {action.detail}" if action.detail else "")
                    points.append(
                        Change(
                            key=action.key, customer_id=run.customer_id, kind="earn", source="flow",
                            points=action.points, reason=action.detail or f"from {run.flow}",
                        )
                    )  # fmt: skip
                actions.append({"key": action.key, "entry_id": run.id, "flow": run.flow, "step": action.step,
                                "kind": action.kind, "detail": detail, "at": now})  # fmt: skip
        for table, rows in ((flow_actions, actions), (message_queue, queued), (staff_tasks, tasks)):
            for part in chunks(rows):
                self.connection.execute(insert(table), list(part))
        if points:
            ledger = SqlLoyalty(self.connection)
            ledger.enroll([change.customer_id for change in points], now, REFERRAL_CODE_DAYS)
            ledger.tell(ledger.post(points, now), now)
        rows = []
        for outcome in outcomes:
            run = outcome.run
            finished = outcome.state != "active"
            rows.append(
                {
                    "b_id": run.id, "b_owner": owner, "step": run.step, "context": run.context,
                    "state": outcome.state, "waiting_for": outcome.waiting_for,
                    "next_run_at": None if finished else outcome.next_run_at,
                    "finished_at": now if finished else None, "exit_reason": outcome.exit_reason,
                }
            )  # fmt: skip
        # One statement for the whole batch, its parameters per run: building and sending an
        # UPDATE per run cost ten times the work it recorded.
        moved = self.connection.execute(_MOVE, rows).rowcount if rows else 0
        if moved != len(outcomes):
            raise LeaseLost(
                f"{len(outcomes) - moved} of {len(outcomes)} runs were no longer leased to {owner}"
            )
        return len(actions)

    # --- reacting to events --------------------------------------------------------------

    def exit_on(self, flow: str, events: Sequence[tuple[int, datetime, str]], now: datetime) -> int:
        """End the active runs of ``flow`` whose customer had one of the events after entering;
        a run ends for the first of them, in the order given."""
        happened: dict[int, list[tuple[datetime, str]]] = {}
        for customer, at, event in events:
            happened.setdefault(customer, []).append((at, event))
        # Only the runs there are: one read, rather than an UPDATE tried per event.
        runs = rows_among(self.connection, _ACTIVE, sorted(happened), flow)
        rows = []
        for entry_id, customer, entered_at in sorted(runs, key=lambda run: int(run[0])):
            entered = utc(entered_at)
            reason = next((event for at, event in happened[customer] if entered <= at), None)
            if reason is not None:
                rows.append({"b_id": entry_id, "exit_reason": reason, "finished_at": now})
        return int(self.connection.execute(_EXIT, rows).rowcount) if rows else 0

    def wake(self, flow: str, events: Sequence[tuple[int, datetime, str]], now: datetime) -> int:
        """Runs of ``flow`` waiting for one of the events: due now, with the event noted."""
        latest: dict[tuple[int, str], datetime] = {}
        for customer, at, event in events:
            latest[(customer, event)] = max(at, latest.get((customer, event), at))
        updates = []
        for part in chunks(sorted({customer for customer, _ in latest})):
            query = select(
                flow_entries.c.id, flow_entries.c.customer_id, flow_entries.c.waiting_for,
                flow_entries.c.entered_at, flow_entries.c.context,
            ).where(
                flow_entries.c.flow == flow, among(flow_entries.c.customer_id, part, self._postgres),
                flow_entries.c.state == "active", flow_entries.c.waiting_for.is_not(None),
            )  # fmt: skip
            for entry_id, customer, waiting_for, entered_at, context in self.connection.execute(query):
                happened = latest.get((customer, waiting_for))
                if happened is not None and entered_at <= happened:
                    updates.append({"b_id": entry_id, "context": {**(context or {}), "seen": waiting_for},
                                    "next_run_at": now})  # fmt: skip
        if updates:
            self.connection.execute(_WAKE, updates)
        return len(updates)

    # --- delivering ----------------------------------------------------------------------

    def claim_queue(self, owner: str, now: datetime, lease: timedelta, limit: int) -> list[Queued]:
        due = (
            select(message_queue.c.id)
            .where(
                message_queue.c.not_before <= now,
                or_(message_queue.c.lease_until.is_(None), message_queue.c.lease_until <= now),
            )
            .order_by(message_queue.c.not_before, message_queue.c.id)
            .limit(limit)
        )
        if self._postgres:
            due = due.with_for_update(skip_locked=True)
        ids = list(self.connection.scalars(due))
        if not ids:
            return []
        self.connection.execute(
            update(message_queue)
            .where(
                message_queue.c.id.in_(ids),
                or_(message_queue.c.lease_until.is_(None), message_queue.c.lease_until <= now),
            )
            .values(lease_owner=owner, lease_until=now + lease)
        )
        rows = self.connection.execute(
            select(message_queue)
            .where(message_queue.c.id.in_(ids), message_queue.c.lease_owner == owner)
            .order_by(message_queue.c.id)
        )
        return [Queued(r.id, r.key, r.customer_id, r.template, r.flow, r.offer) for r in rows]

    def defer(self, ids: Sequence[int], until: datetime) -> None:
        self.connection.execute(
            update(message_queue)
            .where(message_queue.c.id.in_(list(ids)))
            .values(not_before=until, lease_owner=None, lease_until=None)
        )

    def dequeue(self, ids: Sequence[int], owner: str) -> int:
        removed = 0
        for part in chunks(list(ids)):
            removed += self.connection.execute(
                delete(message_queue).where(
                    message_queue.c.id.in_(part), message_queue.c.lease_owner == owner
                )
            ).rowcount
        return removed

    # --- reading -------------------------------------------------------------------------

    def counts(self) -> dict[str, dict[str, int]]:
        """Per flow: runs by state, and runs whose customers were held out."""
        query = select(flow_entries.c.flow, flow_entries.c.state, func.count()).group_by(
            flow_entries.c.flow, flow_entries.c.state
        )
        found: dict[str, dict[str, int]] = {}
        for flow, state, count in self.connection.execute(query):
            found.setdefault(flow, {})[state] = int(count)
        return found

    def entries(self, flow: str) -> list[tuple[int, datetime, bool]]:
        """(customer, entered_at, holdout) of every entry into ``flow``."""
        query = select(flow_entries.c.customer_id, flow_entries.c.entered_at, flow_entries.c.holdout).where(
            flow_entries.c.flow == flow
        )
        return [(c, at, bool(h)) for c, at, h in self.connection.execute(query)]

    def orders_of_entrants(self, flow: str) -> list[tuple[int, datetime, int]]:
        """(customer, placed_at, net) of every order of the customers who entered ``flow``,
        from the first entry on."""
        first = (
            select(flow_entries.c.customer_id, func.min(flow_entries.c.entered_at).label("since"))
            .where(flow_entries.c.flow == flow)
            .group_by(flow_entries.c.customer_id)
            .subquery()
        )
        query = (
            select(orders.c.customer_id, orders.c.placed_at, orders.c.total - orders.c.refunded)
            .join(first, first.c.customer_id == orders.c.customer_id)
            .where(orders.c.placed_at > first.c.since, orders.c.cancelled_at.is_(None))
        )
        return [(c, at, int(net)) for c, at, net in self.connection.execute(query)]

    def funnel(self, flow: str) -> tuple[dict[int, int], dict[str, dict[str, int]]]:
        """How far the treated runs of ``flow`` got, and what each step did: runs by the
        step they are at (or finished at), and per step id its actions by outcome (a
        message sent, skipped by the calendar, skipped otherwise, failed, waiting; or done)."""
        positions = (
            select(flow_entries.c.step, func.count())
            .where(flow_entries.c.flow == flow, flow_entries.c.holdout.is_(False))
            .group_by(flow_entries.c.step)
        )
        at = {int(step): int(n) for step, n in self.connection.execute(positions)}
        outcome = case(
            (messages.c.status == "sent", "sent"),
            ((messages.c.status == "skipped") & messages.c.detail.like("over the%cap%"), "capped"),
            (messages.c.status == "skipped", "skipped"),
            (messages.c.status.is_not(None), "failed"),
            (message_queue.c.id.is_not(None), "waiting"),
            else_="done",
        ).label("outcome")
        query = (
            select(flow_actions.c.step, outcome, func.count())
            .select_from(
                flow_actions.outerjoin(messages, messages.c.key == flow_actions.c.key).outerjoin(
                    message_queue, message_queue.c.key == flow_actions.c.key
                )
            )
            .where(flow_actions.c.flow == flow)
            .group_by(flow_actions.c.step, outcome)
        )
        done: dict[str, dict[str, int]] = {}
        for step, kind, n in self.connection.execute(query):
            done.setdefault(step, {})[kind] = int(n)
        return at, done

    def skipped_by_cap(self) -> dict[str, int]:
        """Per flow, messages skipped for the communication calendar."""
        query = (
            select(messages.c.flow, func.count())
            .where(
                messages.c.flow.is_not(None),
                messages.c.status == "skipped",
                messages.c.detail.like("over the%cap%"),
            )
            .group_by(messages.c.flow)
        )
        return {flow: int(n) for flow, n in self.connection.execute(query)}


_UTC = pl.Datetime("us", "UTC")
_ENTRANTS = {
    "flow": pl.String, "customer_id": pl.Int64, "entry_no": pl.Int64, "holdout": pl.Boolean,
    "context": pl.String,
}  # fmt: skip


def _entry_frame(entrants: Entrants) -> pl.DataFrame:
    """One flow's entrants as columns; contexts as JSON text ("{}" for the many empty ones)."""
    contexts = ["{}" if not context else json.dumps(context) for context in entrants.contexts]
    return pl.DataFrame(
        [[entrants.flow] * len(entrants.customers), entrants.customers, entrants.entry_nos, entrants.holdouts,
         contexts],
        schema=_ENTRANTS, orient="col",
    )  # fmt: skip


# Statements run once per batch, with one set of parameters per row.
_MOVE = (
    update(flow_entries)
    .where(flow_entries.c.id == bindparam("b_id"), flow_entries.c.lease_owner == bindparam("b_owner"))
    .values(lease_owner=None, lease_until=None)
)
_EXIT = (
    update(flow_entries)
    .where(flow_entries.c.id == bindparam("b_id"), flow_entries.c.state == "active")
    .values(state="exited", next_run_at=None)
)
# Read through ``rows_among``: ``{ids}`` stands for the customers.
_HISTORY = (
    "SELECT customer_id, max(entered_at), max(entry_no), sum(CASE WHEN state = 'active' THEN 1 ELSE 0 END)"
    " FROM flow_entries WHERE flow = ? AND customer_id {ids} GROUP BY customer_id"
)
_ACTIVE = (
    "SELECT id, customer_id, entered_at FROM flow_entries"
    " WHERE flow = ? AND state = 'active' AND customer_id {ids}"
)
_WAKE = update(flow_entries).where(flow_entries.c.id == bindparam("b_id")).values(waiting_for=None)


class LeaseLost(RuntimeError):
    """Another worker took over runs this one had leased: its work is rolled back."""
