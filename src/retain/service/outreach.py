"""Send a template to customers: check who may get it, fill it in, deliver it, record it.

Each message has a key (``<campaign>:<customer id>``), so running the same campaign twice
sends nothing new, and a message that failed for a while is tried again on the next run.
Customers who may not receive a message (no address, no consent for marketing, a muted
topic, a suppressed address) are recorded as skipped with the reason, never silently
dropped. A server that refuses an address for good gets it suppressed for every later
message.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

from retain.domain.discounts import DiscountSpec
from retain.domain.loyalty import referral_link
from retain.domain.messages import DeliveryResult, Mailbox, OutgoingEmail, RenderedMessage
from retain.domain.money import display_money
from retain.domain.outreach import Calendar, Contact, why_not
from retain.domain.personalization import (
    Brand,
    CodeView,
    Links,
    MessageContext,
    OrderView,
    PointsView,
    ProductView,
    customer_view,
)
from retain.service.ports import Courier, Progress, no_progress

CHUNK = 500


class OutreachStore(Protocol):
    def contacts(
        self,
        customer_ids: Sequence[int],
        since: datetime | None = None,
        flow: str | None = None,
        flow_since: datetime | None = None,
    ) -> list[Contact]: ...

    def last_orders(self, customer_ids: Sequence[int]) -> dict[int, OrderView]: ...

    def known_keys(self, keys: Sequence[str]) -> set[str]: ...

    def record(self, rows: Sequence[dict[str, Any]]) -> None: ...

    def suppress(self, address: str, reason: str, detail: str, now: datetime) -> bool: ...


class Renderer(Protocol):
    def topic(self, template: str) -> str: ...

    def surveys(self, template: str) -> tuple[str, ...]:
        """The survey kinds whose links the template shows (``review`` for a review link)."""
        ...

    def render(self, template: str, context: MessageContext) -> RenderedMessage: ...


class Signer(Protocol):
    def links(self, brand: Brand, customer_id: int, key: str, surveys: tuple[str, ...] = ()) -> Links: ...

    def track(self, html: str, customer_id: int, key: str) -> str: ...

    def list_unsubscribe_for(self, brand: Brand, url: str) -> tuple[str | None, str | None]:
        """The List-Unsubscribe URL and mailto of a message whose unsubscribe page is ``url``."""
        ...


class Session(Protocol):
    """A unit of work with the stores a send needs."""

    @property
    def outreach(self) -> OutreachStore: ...

    def issue_codes(self, spec: DiscountSpec, owners: Sequence[int], now: datetime) -> list[str]: ...

    def commit(self) -> None: ...

    def __enter__(self) -> Session: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@dataclass(frozen=True)
class Campaign:
    """What to send: ``template`` to each customer, under the key prefix ``name``."""

    name: str
    template: str
    flow: str | None = None
    offer: DiscountSpec | None = None  # a unique code for each recipient
    note: str = ""
    track: bool = True
    # Each customer's message key, when the caller has its own (a flow's action keys);
    # otherwise ``<name>:<customer id>``.
    keys: Mapping[int, str] | None = None
    calendar: Calendar | None = None  # caps on marketing messages; None: no caps


@dataclass
class SendReport:
    sent: int = 0
    already_sent: int = 0
    temporary_failures: int = 0
    permanent_failures: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    codes_issued: int = 0

    @property
    def total_skipped(self) -> int:
        return sum(self.skipped.values())


@dataclass(frozen=True)
class Extras:
    """What a message may show beyond the customer and their last order."""

    recommend: Callable[[Sequence[int]], dict[int, tuple[ProductView, ...]]] | None = None
    points: Callable[[Sequence[int]], dict[int, PointsView]] | None = None


@dataclass(frozen=True)
class _Batch:
    delivery: Future[list[DeliveryResult]]
    outgoing: list[tuple[OutgoingEmail, int]]  # each message with its customer
    skipped: list[dict[str, Any]]  # rows of the customers who get no message
    done: int  # customers handled once this batch is recorded


def send_campaign(
    campaign: Campaign,
    customer_ids: Sequence[int],
    *,
    session: Callable[[], Session],
    renderer: Renderer,
    courier: Courier,
    signer: Signer,
    brand: Brand,
    now: datetime,
    extras: Extras = Extras(),
    progress: Progress = no_progress,
) -> SendReport:
    report = SendReport()
    topic = renderer.topic(campaign.template)
    surveys = renderer.surveys(campaign.template)
    sender = Mailbox(brand.sender_address, brand.sender_name)
    ids = list(dict.fromkeys(customer_ids))
    # While one chunk travels to the server, the courier's work, the next is filled in.
    pending: _Batch | None = None

    def finish(batch: _Batch) -> None:
        results = batch.delivery.result()
        owners = {m.key: customer for m, customer in batch.outgoing}
        with session() as uow:
            delivered = [_row(campaign, topic, owners[r.key], r, now) for r in results]
            uow.outreach.record(batch.skipped + delivered)
            for result in results:
                _count(report, result)
                if result.status == "permanent_failure" and result.address:
                    uow.outreach.suppress(result.address, "permanent_failure", result.detail, now)
            uow.commit()
        progress("send", batch.done, len(ids))

    try:
        for start in range(0, len(ids), CHUNK):
            part = ids[start : start + CHUNK]
            outgoing, rows = _prepare(
                campaign,
                part,
                (topic, surveys),
                session,
                renderer,
                signer,
                brand,
                sender,
                now,
                extras,
                report,
            )
            delivery = courier.submit([m for m, _ in outgoing])
            batch = _Batch(delivery, outgoing, rows, min(start + CHUNK, len(ids)))
            if pending is not None:
                finish(pending)
            pending = batch
    finally:  # what went out is recorded, even when filling in a later chunk failed
        if pending is not None:
            finish(pending)
    return report


def _prepare(
    campaign: Campaign,
    part: Sequence[int],
    kind: tuple[str, tuple[str, ...]],
    session: Callable[[], Session],
    renderer: Renderer,
    signer: Signer,
    brand: Brand,
    sender: Mailbox,
    now: datetime,
    extras: Extras,
    report: SendReport,
) -> tuple[list[tuple[OutgoingEmail, int]], list[dict[str, Any]]]:
    """The messages of one chunk, and the rows of the customers skipped in it."""
    topic, surveys = kind
    rows: list[dict[str, Any]] = []
    with session() as uow:
        calendar = campaign.calendar
        contacts = uow.outreach.contacts(
            part,
            since=now - timedelta(days=calendar.days) if calendar else None,
            flow=campaign.flow,
            flow_since=now - timedelta(days=calendar.flow_days) if calendar and calendar.flow_days else None,
        )
        own = campaign.keys or {}
        keys = {c.customer_id: own.get(c.customer_id) or f"{campaign.name}:{c.customer_id}" for c in contacts}
        done = uow.outreach.known_keys(list(keys.values()))
        report.already_sent += len(done)
        eligible: list[Contact] = []
        for contact in contacts:
            key = keys[contact.customer_id]
            if key in done:
                continue
            if reason := why_not(contact, topic, now, calendar):
                report.skipped[reason] += 1
                rows.append(_skip_row(campaign, topic, contact, key, reason, now))
            else:
                eligible.append(contact)
        who = [c.customer_id for c in eligible]
        orders = uow.outreach.last_orders(who) if who else {}
        codes: dict[int, CodeView] = {}
        if campaign.offer is not None and who:
            issued = uow.issue_codes(campaign.offer, who, now)
            codes = {c: _code_view(code, campaign.offer) for c, code in zip(who, issued, strict=True)}
            report.codes_issued += len(issued)
        uow.commit()  # codes are the customer's once issued, whatever becomes of the message
    picks = extras.recommend(who) if extras.recommend and who else {}
    points = extras.points(who) if extras.points and who else {}
    outgoing: list[tuple[OutgoingEmail, int]] = []
    for contact in eligible:
        key = keys[contact.customer_id]
        links = signer.links(brand, contact.customer_id, key, surveys)
        view = points.get(contact.customer_id)
        if view is not None and view.referral_code:
            links = replace(links, referral=referral_link(brand.shop_url, view.referral_code))
        context = MessageContext(
            customer=customer_view(contact.first_name, contact.last_name, contact.email),
            store=brand,
            links=links,
            last_order=orders.get(contact.customer_id),
            recommended=picks.get(contact.customer_id, ()),
            points=view,
            code=codes.get(contact.customer_id),
            note=campaign.note,
        )
        rendered = renderer.render(campaign.template, context)
        html = signer.track(rendered.html, contact.customer_id, key) if campaign.track else rendered.html
        url, mailto = signer.list_unsubscribe_for(brand, links.unsubscribe)
        outgoing.append(
            (
                OutgoingEmail(
                    key=key,
                    to_address=contact.email,
                    to_name=" ".join(filter(None, (contact.first_name, contact.last_name))),
                    sender=sender,
                    subject=rendered.subject,
                    text=rendered.text,
                    html=html,
                    unsubscribe_url=url,
                    unsubscribe_mailto=mailto,
                ),
                contact.customer_id,
            )
        )
    return outgoing, rows


def _code_view(code: str, spec: DiscountSpec) -> CodeView:
    if spec.kind == "percent":
        offer = f"{spec.value}% off"
    elif spec.kind == "fixed":
        offer = f"{display_money(spec.value, spec.currency)} off"
    else:
        offer = "free shipping"
    return CodeView(
        code=code,
        offer=offer,
        expires_on=spec.expires_at.date() if spec.expires_at else None,
        minimum_order=display_money(spec.minimum_order, spec.currency) if spec.minimum_order else None,
    )


def _count(report: SendReport, result: DeliveryResult) -> None:
    if result.status == "sent":
        report.sent += 1
    elif result.status == "temporary_failure":
        report.temporary_failures += 1
    elif result.status == "permanent_failure":
        report.permanent_failures += 1
    else:
        report.skipped[result.detail] += 1


def _row(
    campaign: Campaign, topic: str, customer: int, result: DeliveryResult, now: datetime
) -> dict[str, Any]:
    return {
        "key": result.key, "customer_id": customer, "template": campaign.template, "topic": topic,
        "channel": "email", "address": result.address, "status": result.status,
        "detail": result.detail, "attempts": result.attempts, "flow": campaign.flow, "created_at": now,
    }  # fmt: skip


def _skip_row(
    campaign: Campaign, topic: str, contact: Contact, key: str, reason: str, now: datetime
) -> dict[str, Any]:
    return {
        "key": key, "customer_id": contact.customer_id, "template": campaign.template, "topic": topic,
        "channel": "email", "address": contact.email, "status": "skipped", "detail": reason,
        "attempts": 0, "flow": campaign.flow, "created_at": now,
    }  # fmt: skip
