"""The flow engine of one store: its flows, the worker loop, delivery, and the simulator.

One ``tick`` does a whole round: the ticket clocks (reminders and escalations), ``plan``
(who enters), ``work`` until no run is due, then delivery of the queued messages, with
consent, suppression and the communication calendar checked at that moment, and quiet
hours in the customer's time zone deferring a message to the morning. ``run_worker``
repeats ticks until told to stop; ``simulate`` moves a clock through days of a store's
history, one tick a day, so a year of flows can be watched in minutes.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from retain.analytics.insight_cache import Refreshed, refresh_if_stale
from retain.bootstrap import App
from retain.config import Settings
from retain.domain.flow_runs import Queued, offer_from, offer_spec
from retain.domain.flows import Flow
from retain.domain.outreach import Calendar
from retain.flows.reader import flow_to_dict, library, read_flow
from retain.mailer import StoreRecommendations, load_templates, sending_brand, signer
from retain.membership import StorePoints, uses_points
from retain.messaging.courier import Courier
from retain.service import feedback, loyalty
from retain.service.feedback import SlaReport
from retain.service.flows import PlanReport, plan, work
from retain.service.loyalty import SyncReport
from retain.service.outreach import Campaign, Extras, SendReport, send_campaign
from retain.service.ports import Progress, no_progress
from retain.store.queries import store_currency, store_summary
from retain.webhooks import RetryReport, retry_deliveries
from retain.workspace import effective_settings

BATCH = 500
TICKS_PER_DAY = 4  # in a simulation
LEASE = timedelta(minutes=5)


# Flows that answer customers rather than market to them: on from the start, so feedback
# is acknowledged and a resolved ticket asks how it went without anyone switching them on.
SERVICE_FLOWS = frozenset({"feedback-acknowledgement", "ticket-csat"})


def install_library(app: App) -> list[str]:
    """Add the flows Retain ships to the store where the store has none of that name, the
    service flows enabled and the rest disabled; returns the names added."""
    added = []
    with app.unit_of_work() as uow:
        known = uow.flows.definitions()
        for name, flow in library().items():
            if name not in known:
                uow.flows.save(name, flow_to_dict(flow), app.now(), enabled=name in SERVICE_FLOWS)
                added.append(name)
        uow.commit()
    return added


def stored_flows(app: App) -> dict[str, tuple[Flow, bool]]:
    """Every flow of the store, with whether it is enabled."""
    with app.unit_of_work() as uow:
        definitions = uow.flows.definitions()
    return {
        name: (read_flow(json.dumps(data), name), enabled) for name, (data, enabled) in definitions.items()
    }


def enabled_flows(app: App) -> dict[str, Flow]:
    return {name: flow for name, (flow, enabled) in stored_flows(app).items() if enabled}


@dataclass
class TickReport:
    planned: PlanReport = field(default_factory=PlanReport)
    advanced: int = 0
    delivery: SendReport = field(default_factory=SendReport)
    deferred: int = 0
    loyalty: SyncReport | None = None
    tickets: SlaReport = field(default_factory=SlaReport)
    webhooks: RetryReport | None = None  # the worker's own rounds only
    insights: Refreshed | None = None


@dataclass
class Engine:
    """What a tick needs, set up once: the flows, the store's brand, templates and links,
    and the courier that delivers."""

    app: App
    settings: Settings
    courier: Courier
    flows: dict[str, Flow] = field(default_factory=dict)
    owner: str = field(default_factory=lambda: f"worker-{uuid.uuid4().hex[:12]}")
    lease: timedelta = LEASE

    def __post_init__(self) -> None:
        self.flows = self.flows or enabled_flows(self.app)
        self.given = self.settings
        self.configure()
        self.brand = sending_brand(self.app, self.settings)  # no brand: refused before any work
        self.currency = store_currency(self.app.engine) or "USD"
        self.templates = load_templates(self.app)
        self.links = signer(self.app, self.settings)
        self.zone = self.settings.store_timezone
        self._recommendations: tuple[date, StoreRecommendations] | None = None
        self.points = StorePoints(self.app)
        self._loyalty_day: date | None = None

    def configure(self) -> None:
        """Read the calendar and the quiet hours again, the settings page's over the
        environment's unset ones (``retain.workspace``)."""
        self.settings = effective_settings(self.app, self.given)
        quiet = self.settings.quiet_hours
        self.quiet = None if not quiet else tuple(time.fromisoformat(t) for t in quiet.split("-"))

    def tick(self, now: datetime | None = None) -> TickReport:
        now = now or self.app.now()
        report = TickReport()
        today = now.astimezone(ZoneInfo(self.zone)).date()
        if self._loyalty_day != today:  # points move by the day: once a day is enough
            report.loyalty = loyalty.sync(self.points.program, self.app.unit_of_work, now)
            self._loyalty_day = today
        report.tickets = feedback.check_sla(self.app.unit_of_work, now)  # reminders, escalations
        report.planned = plan(
            self.flows, self.app.unit_of_work, now, zone=self.zone, currency=self.currency, owner=self.owner
        )
        while advanced := work(
            self.flows, self.app.unit_of_work, self.owner, now,
            zone=self.zone, currency=self.currency, limit=BATCH, lease=self.lease,
        ):  # fmt: skip
            report.advanced += advanced
        self.deliver(now, report)
        return report

    def deliver(self, now: datetime, report: TickReport) -> None:
        """Send the queued messages that are due, a batch at a time."""
        while True:
            with self.app.unit_of_work() as uow:
                queued = uow.flows.claim_queue(self.owner, now, self.lease, BATCH)
                uow.commit()
            if not queued:
                return
            later = self._quiet(queued, now)
            if later:
                with self.app.unit_of_work() as uow:
                    for until, ids in later.items():
                        uow.flows.defer(ids, until)
                    uow.commit()
                report.deferred += sum(len(ids) for ids in later.values())
            deferred = {i for ids in later.values() for i in ids}
            now_due = [q for q in queued if q.id not in deferred]
            groups: dict[tuple[str, str | None, str], list[Queued]] = {}
            for item in now_due:
                groups.setdefault(
                    (item.template, item.flow, json.dumps(item.offer, sort_keys=True)), []
                ).append(item)
            for (template, flow_name, _), items in groups.items():
                self._send(template, flow_name, items, now, report.delivery)
            with self.app.unit_of_work() as uow:
                uow.flows.dequeue([q.id for q in now_due], self.owner)
                uow.commit()

    def _send(
        self, template: str, flow_name: str | None, items: list[Queued], now: datetime, into: SendReport
    ) -> None:
        flow = self.flows.get(flow_name or "")
        offer = items[0].offer
        spec = (
            None
            if offer is None
            else offer_spec(offer_from(offer), self.currency, now, flow_name or template)
        )
        calendar = Calendar(
            self.settings.marketing_cap_messages,
            self.settings.marketing_cap_days,
            flow.cap.messages if flow and flow.cap else None,
            flow.cap.days if flow and flow.cap else None,
        )
        campaign = Campaign(
            name=f"flow:{flow_name}", template=template, flow=flow_name, offer=spec,
            keys={q.customer_id: q.key for q in items}, calendar=calendar,
        )  # fmt: skip
        body = self.templates.get(template).body
        picks = self._picks(now) if "recommended" in body else None
        points = self.points if uses_points(body) else None
        done = send_campaign(
            campaign, [q.customer_id for q in items], session=self.app.unit_of_work, renderer=self.templates,
            courier=self.courier, signer=self.links, brand=self.brand, now=now,
            extras=Extras(recommend=picks, points=points),
        )  # fmt: skip
        into.sent += done.sent
        into.already_sent += done.already_sent
        into.temporary_failures += done.temporary_failures
        into.permanent_failures += done.permanent_failures
        into.skipped.update(done.skipped)
        into.codes_issued += done.codes_issued

    def _picks(self, now: datetime) -> StoreRecommendations:
        """Recommendations learned once a day: a pass over every purchase is too dear per batch."""
        day = now.date()
        if self._recommendations is None or self._recommendations[0] != day:
            self._recommendations = (day, StoreRecommendations(self.app))
        return self._recommendations[1]

    def _quiet(self, queued: list[Queued], now: datetime) -> dict[datetime, list[int]]:
        """Messages that would land in the recipient's quiet hours, by when they may go."""
        if self.quiet is None:
            return {}
        start, end = self.quiet
        with self.app.unit_of_work() as uow:
            zones = uow.triggers.timezones([q.customer_id for q in queued])
        later: dict[datetime, list[int]] = {}
        for item in queued:
            zone = ZoneInfo(zones.get(item.customer_id) or self.zone)
            local = now.astimezone(zone)
            clock = local.time()
            inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
            if inside:
                day = local.date() if clock < end else local.date() + timedelta(days=1)
                until = datetime.combine(day, end, tzinfo=zone).astimezone(now.tzinfo)
                later.setdefault(until, []).append(item.id)
        return later


def run_worker(
    app: App,
    settings: Settings,
    outbox: Path,
    stop: threading.Event,
    interval: float = 30.0,
    progress: Callable[[TickReport], None] | None = None,
) -> int:
    """Tick every ``interval`` seconds until ``stop`` is set; a tick under way finishes
    first, so a stop never leaves work half-written. Returns the number of ticks."""
    ticks = 0
    with Courier(settings.smtp_url, outbox) as courier:
        engine = Engine(app, settings, courier)
        while not stop.is_set():
            engine.flows = enabled_flows(app)  # flows enabled or disabled meanwhile
            engine.configure()  # and settings changed on the settings page
            report = engine.tick()
            # Store webhooks that failed to apply, and the dashboard's figures once the store
            # has changed: work for a long-running worker, not for every simulated tick.
            report.webhooks = retry_deliveries(app)
            report.insights = refresh_if_stale(
                app, timezone=engine.settings.store_timezone, gross_margin=engine.settings.gross_margin
            )
            ticks += 1
            if progress is not None:
                progress(report)
            stop.wait(interval)
    return ticks


def simulate(
    app: App,
    settings: Settings,
    days: int,
    outbox: Path,
    progress: Progress = no_progress,
) -> list[TickReport]:
    """Replay the last ``days`` days of the store's history with flows running: the clock
    starts ``days`` before the latest order and moves on a quarter of a day at a time
    (often enough for waits until a local hour and for quiet hours in every time zone),
    each order becoming an event as the clock passes it."""
    last = _latest_order(app)
    zone = ZoneInfo(settings.store_timezone)
    first_day = (last - timedelta(days=days)).astimezone(zone).date()
    reports = []
    start = datetime.combine(first_day, time(0), tzinfo=zone)
    steps = (days + 1) * TICKS_PER_DAY
    with Courier(None, outbox) as courier:
        engine = Engine(app, settings, courier)
        for tick in range(steps):
            moment = start + timedelta(hours=tick * 24 / TICKS_PER_DAY)
            app.now = lambda moment=moment: moment  # type: ignore[misc]
            reports.append(engine.tick(moment))
            progress("simulate", tick + 1, steps)
    return reports


def _latest_order(app: App) -> datetime:
    latest = store_summary(app.engine).last_order_at
    if latest is None:
        raise ValueError("the store has no orders to replay; import some first")
    return latest
