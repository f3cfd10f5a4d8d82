"""Webhooks from the store's platform, applied to the store.

A delivery goes through two transactions: ``record`` keeps the raw payload (a resent one is
recognised by its delivery id and not kept twice); ``process`` claims it and applies it
through the import path (orders become the ``OrderBatch`` a file import would make and are
written by the same writer; customers go through the customer import's checks and writer).
A failure rolls the application back and leaves the delivery pending, and
``retry_deliveries`` tries it again later, with growing gaps, up to ``MAX_ATTEMPTS`` times.
Many deliveries are applied together when they come together: the validation costs about
the same for one order as for a hundred.

Orders need nothing more to start flows: the flow engine finds orders it has not seen
(by the time they were placed, a week back) on its next tick, however they were stored.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from retain.bootstrap import App
from retain.domain.discounts import codes_in
from retain.ingest import retain_json, shopify_json
from retain.ingest.canonical import ParseSpec
from retain.ingest.json_orders import JsonOrder, JsonProfile, PayloadError, load, read_orders, read_profiles
from retain.service.ports import no_progress
from retain.store.events import add_events
from retain.store.uow import SqlUnitOfWork
from retain.store.webhooks import DeliveryState, StoredDelivery

SHOPIFY, RETAIN = "shopify", "retain"
MAX_ATTEMPTS = 10
RETRY_AFTER = timedelta(minutes=1)  # doubled after each failed attempt: the tenth comes ~4 h on
BATCH = 200
log = logging.getLogger(__name__)

Status = Literal["processed", "ignored", "rejected", "duplicate", "queued"]


@dataclass(frozen=True)
class Format:
    """What a source's topics mean and how its payloads read."""

    spec: ParseSpec
    order_topics: frozenset[str]
    customer_topics: frozenset[str]
    refund_topics: frozenset[str]
    order: Callable[[Mapping[str, Any]], JsonOrder]
    customer: Callable[[Mapping[str, Any]], JsonProfile]
    refunds_in: Callable[[Mapping[str, Any]], list[tuple[str, bytes]]]

    def knows(self, topic: str) -> bool:
        return topic in self.order_topics | self.customer_topics | self.refund_topics


FORMATS = {
    SHOPIFY: Format(
        shopify_json.SPEC,
        frozenset({"orders/create", "orders/paid", "orders/updated", "orders/cancelled"}),
        frozenset({"customers/create", "customers/update"}),
        frozenset({"refunds/create"}),
        shopify_json.order,
        shopify_json.customer,
        shopify_json.refunds_in,
    ),
    RETAIN: Format(
        retain_json.SPEC,
        frozenset({"orders"}),
        frozenset({"customers"}),
        frozenset(),
        retain_json.order,
        retain_json.customer,
        lambda _: [],
    ),
}


@dataclass(frozen=True)
class Incoming:
    source: str
    delivery_id: str
    topic: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    status: Status
    delivery: int | None = None
    error: str | None = None


@dataclass
class RetryReport:
    tried: int = 0
    processed: int = 0
    rejected: int = 0
    pending: int = 0  # failed again, or not their turn yet


def delivery_key(source: str, topic: str, body: bytes, given: str | None) -> str:
    """What makes a delivery the same as another. A Shopify refund is keyed by the refund's
    own id (it is created once), so the refund an order's payload already listed is known;
    otherwise the id the sender gave, else a digest of the body."""
    if source == SHOPIFY and topic in FORMATS[SHOPIFY].refund_topics:
        try:
            return refund_key(shopify_json.refund(load(body)).refund_id)
        except PayloadError:
            pass
    if given and given.strip():
        return given.strip()[:255]
    return "sha256:" + hashlib.sha256(topic.encode() + b"\n" + body).hexdigest()


def refund_key(refund_id: str) -> str:
    return f"refund:{refund_id}"


def record(app: App, incoming: Sequence[Incoming]) -> list[tuple[int | None, DeliveryState | None]]:
    """Keep the deliveries in one transaction: (new id, None) for one kept now, (None, the
    first one's state) for a delivery kept before. Keys must be distinct."""
    with app.unit_of_work() as uow:
        kept = uow.webhooks.record([(i.source, i.delivery_id, i.topic, i.body) for i in incoming], app.now())
        before = uow.webhooks.find(
            [(i.source, i.delivery_id) for i in incoming if (i.source, i.delivery_id) not in kept]
        )
        uow.commit()
    return [
        (kept[key], None) if key in kept else (None, before.get(key))
        for key in ((i.source, i.delivery_id) for i in incoming)
    ]


def known(state: DeliveryState | None) -> Outcome:
    """The answer for a delivery kept before (or by someone else)."""
    if state is None or state.state == "pending":
        return Outcome("queued", None if state is None else state.id, None if state is None else state.error)
    if state.state == "rejected":
        return Outcome("rejected", state.id, state.error)
    return Outcome("duplicate", state.id)


def process(app: App, ids: Sequence[int]) -> dict[int, Outcome]:
    """Apply the pending deliveries among ``ids`` together; when that fails, each alone,
    so one bad delivery does not hold up the others."""
    if not ids:
        return {}
    try:
        outcomes = _process_together(app, ids)
    except Exception as error:  # any failure: rolled back, the deliveries stay pending
        if len(ids) > 1:
            return {k: v for ident in ids for k, v in process(app, [ident]).items()}
        log.warning("webhook delivery %s failed: %s", ids[0], type(error).__name__)
        with app.unit_of_work() as uow:
            uow.webhooks.fail(ids[0], _describe(error))
            uow.commit()
        return {ids[0]: Outcome("queued", ids[0], _describe(error))}
    missing = [i for i in ids if i not in outcomes]  # claimed by someone else meanwhile
    if missing:
        with app.unit_of_work() as uow:
            states = uow.webhooks.states(missing)
        outcomes |= {i: known(states.get(i)) for i in missing}
    return outcomes


def retry_deliveries(app: App, *, limit: int = BATCH) -> RetryReport:
    """Apply again up to ``limit`` deliveries that are still pending and due: one whose
    request died before applying it (after a minute), or one that failed (after 1, 2,
    4... minutes, counted from its arrival), until ``MAX_ATTEMPTS`` tries were made."""
    now = app.now()
    with app.unit_of_work() as uow:
        waiting = uow.webhooks.pending(MAX_ATTEMPTS, limit * 10)
    due = [d.id for d in waiting if d.received_at + RETRY_AFTER * 2 ** max(d.attempts - 1, 0) <= now][:limit]
    report = RetryReport(tried=len(due))
    for start in range(0, len(due), BATCH):
        for outcome in process(app, due[start : start + BATCH]).values():
            if outcome.status == "rejected":
                report.rejected += 1
            elif outcome.status == "queued":
                report.pending += 1
            else:
                report.processed += 1
    return report


def _process_together(app: App, ids: Sequence[int]) -> dict[int, Outcome]:
    now = app.now()
    with app.unit_of_work() as uow:
        outcomes = _Application(uow, now).apply(uow.webhooks.claim(ids, now))
        uow.commit()
    return outcomes


class _Application:
    """One transaction's worth of deliveries, applied by kind: customers, orders, refunds."""

    def __init__(self, uow: SqlUnitOfWork, now: datetime) -> None:
        self.uow = uow
        self.now = now
        self.outcomes: dict[int, Outcome] = {}
        self.covered: set[str] = set()  # refunds an order's own payload listed
        self.paid: set[str] = set()  # keys of orders that arrived as ``orders/paid``
        self.refunded: list[tuple[str, str]] = []  # (order key, refund id) applied

    def apply(self, deliveries: Iterable[StoredDelivery]) -> dict[int, Outcome]:
        orders: dict[str, list[tuple[int, JsonOrder, list[tuple[str, bytes]]]]] = {}
        profiles: list[tuple[int, JsonProfile]] = []
        refunds: list[tuple[int, shopify_json.Refund]] = []
        for delivery in deliveries:
            form = FORMATS.get(delivery.source)
            if form is None or not form.knows(delivery.topic):
                self.outcomes[delivery.id] = Outcome("ignored", delivery.id)
                continue
            try:
                payload = load(delivery.payload)
                if delivery.topic in form.order_topics:
                    item = (delivery.id, form.order(payload), form.refunds_in(payload))
                    orders.setdefault(delivery.source, []).append(item)
                    if delivery.topic == "orders/paid" and item[1].key:
                        self.paid.add(item[1].key)
                elif delivery.topic in form.customer_topics:
                    profiles.append((delivery.id, form.customer(payload)))
                else:
                    refunds.append((delivery.id, shopify_json.refund(payload)))
            except PayloadError as error:
                self._reject(delivery.id, str(error))
        self._profiles(profiles)
        for source, items in orders.items():
            self._orders(source, items)
        self._refunds(refunds)
        self._events()
        return self.outcomes

    def _events(self) -> None:
        """``order_paid`` and ``refunded`` for the flows that start on them; an order's
        ``order_placed`` the flows find themselves, as they do for imported orders."""
        wanted = self.paid | {key for key, _ in self.refunded}
        if not wanted:
            return
        found = {row.external_id: row for row in self.uow.webhooks.orders_by_key(sorted(wanted))}
        rows = [
            {
                "customer_id": o.customer_id,
                "event": "order_paid",
                "at": self.now,
                "ref": str(o.id),
                "data": {"order_id": o.id},
            }
            for key in sorted(self.paid)
            if (o := found.get(key)) is not None and o.customer_id is not None
        ] + [
            {
                "customer_id": o.customer_id,
                "event": "refunded",
                "at": self.now,
                "ref": f"{o.id}:{refund}",
                "data": {"order_id": o.id, "refund_id": refund},
            }
            for key, refund in self.refunded
            if (o := found.get(key)) is not None and o.customer_id is not None
        ]  # fmt: skip  (a refund both listed and sent on its own is one event: the ref decides)
        add_events(self.uow.connection, rows)

    def _reject(self, delivery: int, why: str) -> None:
        self.uow.webhooks.reject(delivery, why)
        self.outcomes[delivery] = Outcome("rejected", delivery, why)

    def _done(self, delivery: int) -> None:
        self.outcomes[delivery] = Outcome("processed", delivery)

    def _profiles(self, items: Sequence[tuple[int, JsonProfile]]) -> None:
        if not items:
            return
        frame, reasons = read_profiles([profile for _, profile in items])
        for (delivery, _), reason in zip(items, reasons, strict=True):
            self._reject(delivery, reason) if reason else self._done(delivery)
        if frame.height:
            self.uow.directory.write_profiles(frame, self.now, no_progress)

    def _orders(self, source: str, items: Sequence[tuple[int, JsonOrder, list[tuple[str, bytes]]]]) -> None:
        """Write the orders; one order twice in the batch takes its later state, as
        importing both in turn would, unless that one is rejected: then the earlier."""
        remaining = list(items)
        while remaining:
            latest = {order.key: index for index, (_, order, _) in enumerate(remaining)}
            chosen = [remaining[i] for i in sorted(latest.values())]
            rejected = self._write(source, chosen)
            for delivery, order, refunds in remaining:
                if order.key not in rejected:
                    self.outcomes.setdefault(delivery, Outcome("processed", delivery))
                    self._cover(source, refunds)
                    self.refunded += [(order.key, ident) for ident, _ in refunds if order.key]
            remaining = [
                item for index, item in enumerate(remaining)
                if item[1].key in rejected and index < latest[item[1].key]
            ]  # fmt: skip

    def _write(
        self, source: str, chosen: Sequence[tuple[int, JsonOrder, list[tuple[str, bytes]]]]
    ) -> set[str | None]:
        """Write orders of distinct keys; the keys of those rejected."""
        batch, reasons = read_orders([order for _, order, _ in chosen], FORMATS[source].spec)
        rejected: set[str | None] = set()
        for (delivery, order, _), reason in zip(chosen, reasons, strict=True):
            if reason:
                self._reject(delivery, reason)
                rejected.add(order.key)
        if batch.orders.height:
            # As ``service.imports.import_orders`` does, in this transaction.
            self.uow.orders.write_batch(batch, no_progress)
            if any(codes_in(t) for t in batch.orders["discount_codes"].drop_nulls().to_list()):
                self.uow.codes.redeem()
        return rejected

    def _cover(self, source: str, refunds: Sequence[tuple[str, bytes]]) -> None:
        covers = [(refund_key(ident), "refunds/create", raw) for ident, raw in refunds]
        self.covered.update(key for key, _, _ in covers)
        self.uow.webhooks.cover(source, covers, self.now)

    def _refunds(self, items: Sequence[tuple[int, shopify_json.Refund]]) -> None:
        for delivery, refund in items:
            if refund_key(refund.refund_id) in self.covered:
                self._done(delivery)
                continue
            why = self.uow.webhooks.add_refund(refund.order_key, refund.amount, refund.currency)
            if why == "unknown order":
                self.uow.webhooks.release(delivery, "the refund's order has not arrived yet")
                self.outcomes[delivery] = Outcome(
                    "queued", delivery, "the refund's order has not arrived yet"
                )
            elif why:
                self._reject(delivery, why)
            else:
                self.refunded.append((refund.order_key, refund.refund_id))
                self._done(delivery)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:1000]
