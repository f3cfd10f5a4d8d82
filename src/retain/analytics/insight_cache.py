"""The dashboard's figures, computed once and kept in the settings table, so a page of a
store with a million customers reads a few kilobytes instead of scanning every order.

``refresh_insights`` reads the orders and scores once, computes the overview, the cohort
triangles and the segments (``retain.analytics.insight``) and stores each as a JSON setting
with when it was computed, how long that took and a *fingerprint* of the store: the newest
order, customer and feedback ids, the latest prediction's model and day, the newest
segment rule change, and the day. ``is_current`` compares a kept value with the store's
fingerprint now (a handful of index look-ups), so pages know when to refresh. Refunds and
cancellations of orders already counted change no id: a refresh picks them up the next day
or when asked for.

Call ``refresh_insights(app, timezone=settings.store_timezone, gross_margin=settings.gross_margin)``
after an import or ``retain predict``; from the worker's tick, ``refresh_if_stale`` with the
same arguments, which does nothing while the kept figures are current or recent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from retain.analytics.engine import Analytics
from retain.analytics.insight import cohort_figures, nps_figures, nps_since, overview_figures, segment_figures
from retain.domain.conditions import RuleError, compile_rule
from retain.domain.money import exponent
from retain.domain.segments import CUSTOMER_FIELDS

VERSION = 1
KEYS = {"overview": "insight:overview", "cohorts": "insight:cohorts", "segments": "insight:segments"}
# As the library's warning-signs flow, when the store has none of its own.
WARNING_CHURN = 0.5
WARNING_MIN_CLV = 200  # major units


class _Settings(Protocol):
    def get(self, key: str) -> Any: ...

    def put(self, key: str, value: Any, now: datetime) -> None: ...


class _Feedback(Protocol):
    def scores(
        self, survey: str, since: datetime | None = None
    ) -> list[tuple[datetime, int, int | None]]: ...


class _Flows(Protocol):
    def definitions(self) -> dict[str, tuple[dict[str, Any], bool]]: ...


class _Segments(Protocol):
    def rules(self) -> dict[str, dict[str, Any]]: ...


class InsightSession(Protocol):
    """What a refresh reads and writes, in the store's unit of work."""

    @property
    def connection(self) -> Connection: ...

    @property
    def settings(self) -> _Settings: ...

    @property
    def feedback(self) -> _Feedback: ...

    @property
    def flows(self) -> _Flows: ...

    @property
    def segments(self) -> _Segments: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def commit(self) -> None: ...


class Store(Protocol):
    """The application (``retain.bootstrap.App``) as a refresh sees it."""

    @property
    def url(self) -> str: ...

    @property
    def now(self) -> Callable[[], datetime]: ...

    def unit_of_work(self) -> InsightSession: ...


@dataclass(frozen=True)
class Refreshed:
    computed_at: datetime
    seconds: float
    figures: dict[str, dict[str, Any]]


_FINGERPRINT_SQL = (
    "SELECT (SELECT max(id) FROM orders), (SELECT max(id) FROM customers), (SELECT max(id) FROM feedback),"
    " (SELECT max(updated_at) FROM segments)"
)


def fingerprint(connection: Connection, today: date) -> str:
    """What the figures were computed from, as text; it changes when the store does."""
    orders, customers, said, rules = connection.execute(text(_FINGERPRINT_SQL)).one()
    scored = connection.execute(text("SELECT model, as_of FROM customer_scores LIMIT 1")).first()
    parts = [orders, customers, said, rules, None if scored is None else tuple(scored), today]
    return json.dumps([None if p is None else str(p) for p in parts])


def store_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def load(session: InsightSession, name: str) -> dict[str, Any] | None:
    """The kept figures ``name`` ("overview", "cohorts", "segments"), or None."""
    found = session.settings.get(KEYS[name])
    return found if isinstance(found, dict) and found.get("version") == VERSION else None


def is_current(session: InsightSession, kept: dict[str, Any], today: date) -> bool:
    return bool(kept.get("fingerprint") == fingerprint(session.connection, today))


def _warning(flows: _Flows) -> tuple[float, float]:
    """The store's warning-signs thresholds: churn probability and predicted CLV (major units)."""
    data = flows.definitions().get("warning-signs", ({}, False))[0]
    settings = data.get("settings") or {}
    churn, clv = (
        settings.get("churn_threshold", WARNING_CHURN),
        settings.get("min_predicted_clv", WARNING_MIN_CLV),
    )
    valid = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (churn, clv))
    return (float(churn), float(clv)) if valid else (WARNING_CHURN, WARNING_MIN_CLV)


def refresh_if_stale(
    store: Store,
    *,
    timezone: str = "UTC",
    gross_margin: float | None = None,
    min_age: timedelta = timedelta(minutes=15),
) -> Refreshed | None:
    """Refresh when the store changed since the kept figures and they are at least
    ``min_age`` old (or there are none); None when nothing was done. Cheap to call often,
    from the worker's tick: a store taking orders all day is recomputed at most every
    ``min_age``."""
    now = store.now()
    with store.unit_of_work() as uow:
        kept = load(uow, "overview")
        if kept is not None and (
            is_current(uow, kept, store_today(now, timezone))
            or now - datetime.fromisoformat(kept["computed_at"]) < min_age
        ):
            return None
    return refresh_insights(store, timezone=timezone, gross_margin=gross_margin)


def refresh_insights(store: Store, *, timezone: str = "UTC", gross_margin: float | None = None) -> Refreshed:
    """Compute the dashboard's figures from the store as it is now and keep them."""
    started = time.perf_counter()
    now = store.now()
    today = store_today(now, timezone)
    with store.unit_of_work() as uow:
        mark = fingerprint(uow.connection, today)
        customers = int(uow.connection.execute(text("SELECT count(*) FROM customers")).scalar_one())
        answers = [(at, score) for at, score, _ in uow.feedback.scores("nps", nps_since(today, timezone))]
        churn, clv = _warning(uow.flows)
        rules = {}
        for name, rule in uow.segments.rules().items():
            try:
                rules[name] = compile_rule(rule, CUSTOMER_FIELDS)
            except RuleError:
                continue  # a rule the store can no longer read is left out, not fatal
    analytics = Analytics.from_store(store.url, scores=True)
    currencies = analytics.currencies()
    minimum = round(clv * 10 ** exponent(currencies[0])) if len(currencies) == 1 else 0
    overview = overview_figures(analytics, today, timezone, gross_margin, (churn, minimum))
    overview["summary"]["customers"] = customers
    overview["nps"] = nps_figures(answers, today, timezone)
    figures = {
        "overview": overview,
        "cohorts": cohort_figures(analytics, timezone),
        "segments": segment_figures(analytics, now, rules),
    }
    seconds = time.perf_counter() - started
    meta = {"version": VERSION, "computed_at": now.isoformat(), "seconds": seconds, "fingerprint": mark}
    kept = {name: {**value, **meta} for name, value in figures.items()}
    with store.unit_of_work() as uow:
        for name, value in kept.items():
            uow.settings.put(KEYS[name], value, now)
        uow.commit()
    return Refreshed(now, seconds, kept)
