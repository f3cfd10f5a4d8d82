"""Feedback, the action plan, tickets, goodbyes and kudos in the store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, and_, cast, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from retain.domain.tickets import Handled
from retain.store.events import add_events
from retain.store.tables import (
    action_items,
    action_notices,
    attachments,
    customers,
    feedback,
    goodbye_offers,
    goodbyes,
    kudos,
    messages,
    orders,
    segment_members,
    staff_tasks,
    ticket_notes,
    tickets,
)


def _rows(result: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in result]


class SqlFeedback:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # --- feedback ------------------------------------------------------------------------

    def add(self, row: dict[str, Any]) -> int | None:
        """The new feedback's id, or None when feedback with its ``ref`` is already kept (the
        unique index decides, so two copies arriving at once still make one)."""
        try:
            with self.connection.begin_nested():
                return int(
                    self.connection.execute(insert(feedback).returning(feedback.c.id), row).scalar_one()
                )
        except IntegrityError:
            if self.by_ref(row["ref"]) is None:
                raise  # another constraint: a real error
            return None

    def by_ref(self, ref: str) -> int | None:
        found = self.connection.scalar(select(feedback.c.id).where(feedback.c.ref == ref))
        return None if found is None else int(found)

    def get(self, feedback_id: int) -> dict[str, Any] | None:
        row = self.connection.execute(select(feedback).where(feedback.c.id == feedback_id)).first()
        return None if row is None else dict(row._mapping)

    def link(self, feedback_id: int, *, ticket_id: int | None = None, item_id: int | None = None) -> None:
        values: dict[str, int] = {}
        if ticket_id is not None:
            values["ticket_id"] = ticket_id
        if item_id is not None:
            values["action_item_id"] = item_id
        if values:
            self.connection.execute(update(feedback).where(feedback.c.id == feedback_id).values(**values))

    def attach(self, feedback_id: int, filename: str, content_type: str, content: bytes) -> int:
        return int(
            self.connection.execute(
                insert(attachments).returning(attachments.c.id),
                {
                    "feedback_id": feedback_id, "filename": filename[:255], "content_type": content_type,
                    "size": len(content), "content": content,
                },
            ).scalar_one()
        )  # fmt: skip

    def attachments_of(self, feedback_id: int) -> list[dict[str, Any]]:
        query = select(
            attachments.c.id, attachments.c.filename, attachments.c.content_type, attachments.c.size
        ).where(attachments.c.feedback_id == feedback_id)
        return _rows(self.connection.execute(query.order_by(attachments.c.id)))

    def customer_by(self, reference: str) -> int | None:
        """A customer by id, store id or e-mail address (any case)."""
        clauses = [customers.c.external_id == reference, func.lower(customers.c.email) == reference.lower()]
        if reference.isdigit():
            clauses.append(customers.c.id == int(reference))
        found = self.connection.scalar(select(customers.c.id).where(or_(*clauses)).limit(1))
        return None if found is None else int(found)

    def customer_exists(self, customer_id: int) -> bool:
        return self.connection.scalar(select(customers.c.id).where(customers.c.id == customer_id)) is not None

    def email_of(self, customer_id: int) -> str | None:
        found = self.connection.scalar(select(customers.c.email).where(customers.c.id == customer_id))
        return None if found is None else str(found)

    def add_event(self, customer_id: int, event: str, ref: str, data: dict[str, Any], at: datetime) -> bool:
        """A customer event for flows (``survey_answered``...), once per event and ref."""
        row = {"customer_id": customer_id, "event": event, "ref": ref[:64], "data": data, "at": at}
        return add_events(self.connection, [row]) == 1

    def listed(
        self,
        *,
        team: str | None = None,
        category: str | None = None,
        customer_id: int | None = None,
        source: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Feedback, newest first, without attachment contents."""
        query = select(feedback).order_by(feedback.c.created_at.desc(), feedback.c.id.desc()).limit(limit)
        for column, value in (
            (feedback.c.team, team), (feedback.c.category, category),
            (feedback.c.customer_id, customer_id), (feedback.c.source, source),
        ):  # fmt: skip
            if value is not None:
                query = query.where(column == value)
        return _rows(self.connection.execute(query))

    def scores(self, survey: str, since: datetime | None = None) -> list[tuple[datetime, int, int | None]]:
        """(answered at, score, customer) of every answer to one survey."""
        query = select(feedback.c.created_at, feedback.c.score, feedback.c.customer_id).where(
            feedback.c.survey == survey, feedback.c.score.is_not(None)
        )
        if since is not None:
            query = query.where(feedback.c.created_at >= since)
        return [(at, int(score), customer) for at, score, customer in self.connection.execute(query)]

    def scores_by_segment(self, survey: str, prefix: str) -> dict[str, list[int]]:
        """The scores of one survey by the segment (named ``prefix...``) each customer is in now."""
        query = (
            select(segment_members.c.segment, feedback.c.score)
            .join(segment_members, segment_members.c.customer_id == feedback.c.customer_id)
            .where(
                feedback.c.survey == survey,
                feedback.c.score.is_not(None),
                segment_members.c.segment.startswith(prefix),
            )
        )
        found: dict[str, list[int]] = {}
        for segment, score in self.connection.execute(query):
            found.setdefault(segment, []).append(int(score))
        return found

    def counts(self) -> list[dict[str, Any]]:
        """Feedback by category and sentiment, with the two warning flags counted."""
        query = select(
            feedback.c.category,
            feedback.c.sentiment,
            func.count().label("count"),
            func.sum(cast(feedback.c.mentions_competitor, Integer)).label("competitor"),
            func.sum(cast(feedback.c.intends_to_leave, Integer)).label("leaving"),
        ).group_by(feedback.c.category, feedback.c.sentiment)
        return _rows(self.connection.execute(query))

    def acknowledgement_delays(self) -> list[float]:
        """Seconds from each piece of feedback to the first acknowledgement sent after it."""
        first_ack = (
            select(func.min(messages.c.created_at))
            .where(
                messages.c.customer_id == feedback.c.customer_id,
                messages.c.template == "feedback_received",
                messages.c.status == "sent",
                messages.c.created_at >= feedback.c.created_at,
            )
            .correlate(feedback)
            .scalar_subquery()
        )
        query = select(feedback.c.created_at, first_ack).where(feedback.c.customer_id.is_not(None))
        return [(ack - at).total_seconds() for at, ack in self.connection.execute(query) if ack is not None]

    # --- the action plan -----------------------------------------------------------------

    def open_item(self, category: str, now: datetime) -> int:
        """The open action item of ``category``, opened now if there is none."""
        query = select(action_items.c.id).where(
            action_items.c.category == category, action_items.c.status == "open"
        )
        found = self.connection.scalar(query)
        if found is not None:
            return int(found)
        row = {"category": category, "status": "open", "opened_at": now}
        try:
            with self.connection.begin_nested():
                insert_ = insert(action_items).returning(action_items.c.id)
                return int(self.connection.execute(insert_, row).scalar_one())
        except IntegrityError:  # opened at the same moment by another transaction, now committed
            return int(self.connection.execute(query).scalar_one())

    def items(self, status: str | None = None) -> list[dict[str, Any]]:
        """Action items with how much feedback and how many customers each holds."""
        counted = (
            select(
                feedback.c.action_item_id.label("item"),
                func.count().label("feedback"),
                func.count(func.distinct(feedback.c.customer_id)).label("customers"),
                func.max(feedback.c.created_at).label("latest"),
            )
            .where(feedback.c.action_item_id.is_not(None))
            .group_by(feedback.c.action_item_id)
            .subquery()
        )
        notified = (
            select(action_notices.c.action_item_id.label("item"), func.count().label("notified"))
            .group_by(action_notices.c.action_item_id)
            .subquery()
        )
        query = (
            select(
                action_items,
                func.coalesce(counted.c.feedback, 0).label("feedback"),
                func.coalesce(counted.c.customers, 0).label("customers"),
                counted.c.latest,
                func.coalesce(notified.c.notified, 0).label("notified"),
            )
            .outerjoin(counted, counted.c.item == action_items.c.id)
            .outerjoin(notified, notified.c.item == action_items.c.id)
            .order_by(action_items.c.status, func.coalesce(counted.c.feedback, 0).desc(), action_items.c.id)
        )
        if status is not None:
            query = query.where(action_items.c.status == status)
        return _rows(self.connection.execute(query))

    def item(self, item_id: int) -> dict[str, Any] | None:
        row = self.connection.execute(select(action_items).where(action_items.c.id == item_id)).first()
        return None if row is None else dict(row._mapping)

    def item_feedback(self, item_id: int) -> list[dict[str, Any]]:
        query = (
            select(feedback.c.id, feedback.c.customer_id, feedback.c.text, feedback.c.score,
                   feedback.c.sentiment, feedback.c.source, feedback.c.created_at)
            .where(feedback.c.action_item_id == item_id)
            .order_by(feedback.c.created_at.desc())
        )  # fmt: skip
        return _rows(self.connection.execute(query))

    def resolve_item(self, item_id: int, by: str, note: str, now: datetime) -> bool:
        """Mark an open item resolved; False when it is not open."""
        done = self.connection.execute(
            update(action_items)
            .where(action_items.c.id == item_id, action_items.c.status == "open")
            .values(status="resolved", resolved_at=now, resolved_by=by, note=note)
        )
        return done.rowcount > 0

    def to_notify(self, item_id: int) -> list[int]:
        """The customers who raised an item and have not been told of its resolution."""
        told = select(action_notices.c.customer_id).where(action_notices.c.action_item_id == item_id)
        query = (
            select(feedback.c.customer_id)
            .where(
                feedback.c.action_item_id == item_id,
                feedback.c.customer_id.is_not(None),
                feedback.c.customer_id.not_in(told),
            )
            .distinct()
            .order_by(feedback.c.customer_id)
        )
        return [int(c) for c in self.connection.scalars(query)]

    def record_notices(self, item_id: int, notices: Sequence[tuple[int, str]], now: datetime) -> None:
        if notices:
            rows = [
                {"action_item_id": item_id, "customer_id": c, "message_key": k, "notified_at": now}
                for c, k in notices
            ]
            self.connection.execute(insert(action_notices), rows)

    def notices(self, item_id: int) -> list[dict[str, Any]]:
        query = (
            select(action_notices.c.customer_id, customers.c.email, action_notices.c.message_key,
                   action_notices.c.notified_at)
            .join(customers, customers.c.id == action_notices.c.customer_id)
            .where(action_notices.c.action_item_id == item_id)
            .order_by(action_notices.c.customer_id)
        )  # fmt: skip
        return _rows(self.connection.execute(query))

    # --- tickets -------------------------------------------------------------------------

    def open_ticket(self, row: dict[str, Any]) -> int:
        return int(self.connection.execute(insert(tickets).returning(tickets.c.id), row).scalar_one())

    def ticket(self, ticket_id: int, *, lock: bool = False) -> dict[str, Any] | None:
        query = select(tickets).where(tickets.c.id == ticket_id)
        if lock and self.connection.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return None if row is None else dict(row._mapping)

    def tickets(
        self,
        *,
        status: Sequence[str] | None = None,
        assignee: str | None = None,
        team: str | None = None,
        customer_id: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        query = select(tickets, customers.c.email).outerjoin(
            customers, customers.c.id == tickets.c.customer_id
        )
        if status:
            query = query.where(tickets.c.status.in_(list(status)))
        for column, value in ((tickets.c.assignee, assignee), (tickets.c.team, team),
                              (tickets.c.customer_id, customer_id)):  # fmt: skip
            if value is not None:
                query = query.where(column == value)
        query = query.order_by(tickets.c.resolution_due, tickets.c.id).limit(limit)
        return _rows(self.connection.execute(query))

    def change_ticket(self, ticket_id: int, values: dict[str, Any]) -> None:
        self.connection.execute(update(tickets).where(tickets.c.id == ticket_id).values(**values))

    def add_note(
        self, ticket_id: int, kind: str, author: str, body: str, at: datetime, message_key: str | None = None
    ) -> int:
        row = {"ticket_id": ticket_id, "kind": kind, "author": author[:64], "body": body, "at": at,
               "message_key": message_key}  # fmt: skip
        return int(
            self.connection.execute(insert(ticket_notes).returning(ticket_notes.c.id), row).scalar_one()
        )

    def of_ticket(self, ticket_id: int) -> list[dict[str, Any]]:
        """The feedback a ticket was opened from (or added to it), oldest first."""
        query = (
            select(feedback.c.id, feedback.c.source, feedback.c.survey, feedback.c.score, feedback.c.text,
                   feedback.c.created_at)
            .where(feedback.c.ticket_id == ticket_id)
            .order_by(feedback.c.id)
        )  # fmt: skip
        return _rows(self.connection.execute(query))

    def notes(self, ticket_id: int) -> list[dict[str, Any]]:
        query = select(ticket_notes).where(ticket_notes.c.ticket_id == ticket_id).order_by(ticket_notes.c.id)
        return _rows(self.connection.execute(query))

    def overdue(self, now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Unresolved tickets whose first-response clock ran out without a reminder, and those
        whose resolution clock ran out without an escalation."""
        live = tickets.c.status != "resolved"
        late_reply = select(tickets).where(
            live,
            tickets.c.first_response_at.is_(None),
            tickets.c.reminded_at.is_(None),
            tickets.c.first_response_due <= now,
        )
        late_fix = select(tickets).where(
            live, tickets.c.escalated_at.is_(None), tickets.c.resolution_due <= now
        )
        return _rows(self.connection.execute(late_reply.order_by(tickets.c.id))), _rows(
            self.connection.execute(late_fix.order_by(tickets.c.id))
        )

    def last_resolved(self, customer_id: int, before: datetime) -> int | None:
        """The customer's ticket resolved most recently before ``before``, not yet rated."""
        query = (
            select(tickets.c.id)
            .where(
                tickets.c.customer_id == customer_id,
                tickets.c.status == "resolved",
                tickets.c.resolved_at <= before,
                tickets.c.csat.is_(None),
            )
            .order_by(tickets.c.resolved_at.desc())
            .limit(1)
        )
        found = self.connection.scalar(query)
        return None if found is None else int(found)

    def handled(self) -> list[Handled]:
        """Every assigned ticket with what the team's figures need, the customer's next order
        after the resolution included."""
        next_order = (
            select(func.min(orders.c.placed_at))
            .where(
                orders.c.customer_id == tickets.c.customer_id,
                orders.c.placed_at > tickets.c.resolved_at,
                orders.c.cancelled_at.is_(None),
            )
            .correlate(tickets)
            .scalar_subquery()
        )
        query = select(
            tickets.c.assignee, tickets.c.created_at, tickets.c.first_response_at, tickets.c.resolved_at,
            tickets.c.source, tickets.c.csat, next_order.label("ordered_after"),
        ).where(tickets.c.assignee.is_not(None))  # fmt: skip
        return [
            Handled(
                r.assignee,
                r.created_at,
                r.first_response_at,
                r.resolved_at,
                r.source == "complaint",
                r.csat,
                r.ordered_after,
            )
            for r in self.connection.execute(query)
        ]

    def overdue_count(self, now: datetime) -> int:
        query = select(func.count()).where(
            tickets.c.status != "resolved",
            or_(
                and_(tickets.c.first_response_at.is_(None), tickets.c.first_response_due <= now),
                tickets.c.resolution_due <= now,
            ),
        )
        return int(self.connection.scalar(query) or 0)

    def add_task(
        self, key: str, customer_id: int | None, title: str, role: str, due_at: datetime, now: datetime
    ) -> bool:
        """A staff task (a reminder, an escalation) once per ``key``."""
        if self.connection.scalar(select(staff_tasks.c.id).where(staff_tasks.c.key == key)) is not None:
            return False
        row = {"key": key, "flow": None, "customer_id": customer_id, "title": title, "role": role,
               "due_at": due_at, "created_at": now}  # fmt: skip
        self.connection.execute(insert(staff_tasks), row)
        return True

    def sent_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` went out as messages."""
        if not keys:
            return set()
        query = select(messages.c.key).where(messages.c.key.in_(list(keys)), messages.c.status == "sent")
        return set(self.connection.scalars(query))

    # --- goodbyes and kudos --------------------------------------------------------------

    def offer_once(self, customer_id: int, now: datetime) -> bool:
        """True the first time it is asked for a customer (who is then shown the offer), and
        never again."""
        try:
            with self.connection.begin_nested():
                self.connection.execute(insert(goodbye_offers), {"customer_id": customer_id, "shown_at": now})
        except IntegrityError:
            return False
        return True

    def goodbye(self, customer_id: int, action: str, reason: str | None, now: datetime) -> None:
        row = {"customer_id": customer_id, "action": action, "reason": reason, "at": now}
        self.connection.execute(insert(goodbyes), row)

    def goodbye_counts(self) -> list[dict[str, Any]]:
        query = select(goodbyes.c.action, goodbyes.c.reason, func.count().label("count")).group_by(
            goodbyes.c.action, goodbyes.c.reason
        )
        return _rows(self.connection.execute(query))

    def give_kudos(self, agent: str, giver: str, message: str, ticket_id: int | None, now: datetime) -> int:
        row = {"agent": agent, "giver": giver, "message": message, "ticket_id": ticket_id, "at": now}
        return int(self.connection.execute(insert(kudos).returning(kudos.c.id), row).scalar_one())

    def kudos(self, limit: int = 50) -> list[dict[str, Any]]:
        return _rows(
            self.connection.execute(select(kudos).order_by(kudos.c.at.desc(), kudos.c.id.desc()).limit(limit))
        )

    def kudos_counts(self) -> dict[str, int]:
        query = select(kudos.c.agent, func.count()).group_by(kudos.c.agent)
        return {agent: int(count) for agent, count in self.connection.execute(query)}
