"""Flows at scale: who enters on a day, and how fast a worker turns due steps into messages.

A store of N customers (default 1,000,000) is built with direct inserts: about 30% with a
birthday, one to six orders each over three years (some in the last week, which become
order events), a score row each (churn probability, predicted CLV, expected next order
within -60..+120 days) and segment changes for 2% of them. Every library flow is enabled,
plus one flow triggered by entering the ``rfm:At Risk`` segment (the library has none).

Measured, on SQLite and on PostgreSQL (a fresh ``retain_bench`` database on the local
server; skipped with a note when it does not answer):
- plan, first day: ``plan()`` for one day with every event, date, segment and score
  trigger, the first time it ever runs (every customer over a score threshold enters);
- plan, next day: the same a day later, when those customers are already in their runs;
- work: ``work()`` in a loop (batches of 500, as the engine's tick) turning R due runs
  (default 100,000) of a one-send flow into queued messages;
- the named baseline for work: a plain INSERT of the same number of message_queue rows in
  one executemany, the floor for writing those rows through SQLAlchemy.
Targets: plan under 10 s; work at 2,000 messages a second or more.

    python bench/flows.py [--customers 1000000] [--runs 100000] [--backend sqlite postgres]
                          [--profile] [--out bench/results/flows.json]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, delete, func, insert, select, text
from sqlalchemy.exc import OperationalError

from retain.bootstrap import App, bootstrap
from retain.flows.reader import flow_to_dict, read_flow
from retain.runner import BATCH, enabled_flows, install_library
from retain.service.flows import plan, work
from retain.store.tables import (
    customer_scores,
    customers,
    flow_entries,
    message_queue,
    orders,
    segment_changes,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)  # before the library newsletter's date
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATABASE = "retain_bench"
CHUNK = 20_000
PLAN_TARGET_S = 10.0
WORK_TARGET_PER_S = 2_000
ZONES = ["Europe/London", "America/New_York", "Europe/Berlin", "America/Los_Angeles", None]
AT_RISK = read_flow(
    """
name: bench-at-risk
title: At risk
trigger: {kind: segment, segment: "rfm:At Risk", change: entered}
steps:
  - {id: at-risk, type: send, template: we_miss_you}
reentry: after
reentry_days: 90
holdout: 0.1
"""
)
SEND = read_flow(
    """
name: bench-send
title: One send
trigger: {kind: event, event: order_placed}
steps:
  - {id: hello, type: send, template: thank_you}
"""
)
T = TypeVar("T")


def _chunks(count: int) -> Iterator[range]:
    for start in range(1, count + 1, CHUNK):
        yield range(start, min(start + CHUNK, count + 1))


def build_store(url: str, count: int, seed: int = 7) -> App:
    """N customers with orders, scores and segment changes, all library flows enabled."""
    app = bootstrap(url)
    app.now = lambda: NOW
    rng = random.Random(seed)
    order_id = 0
    today = NOW.date()
    with app.engine.begin() as connection:
        for ids in _chunks(count):
            people, placed, scores, changes = [], [], [], []
            for i in ids:
                birthday = None
                if rng.random() < 0.3:
                    birthday = date(1950 + rng.randrange(55), 1, 1) + timedelta(days=rng.randrange(365))
                people.append(
                    {"id": i, "external_id": f"C{i:07d}", "email": f"customer{i}@example.com",
                     "name": f"Customer {i}", "timezone": ZONES[i % len(ZONES)], "created_at": NOW,
                     "marketing_consent": True, "consent_source": "checkout", "consent_at": NOW,
                     "birthday": birthday, "attributes": {}}
                )  # fmt: skip
                # One to six orders over three years; about 1 customer in 200 ordered this week.
                recent = rng.random() < 0.005
                for n in range(1 + min(5, int(rng.expovariate(0.8)))):
                    order_id += 1
                    ago = rng.uniform(0, 6) if recent and n == 0 else rng.uniform(8, 3 * 365)
                    total = rng.randrange(1500, 25000)
                    placed.append(
                        {"id": order_id, "external_id": f"#{order_id}", "customer_id": i,
                         "placed_at": NOW - timedelta(days=ago), "currency": "USD", "subtotal": total,
                         "discounts": 0, "shipping": 0, "tax": 0, "total": total, "refunded": 0,
                         "financial_status": "paid", "item_count": 1 + rng.randrange(4),
                         "content_hash": f"{order_id:032x}"}
                    )  # fmt: skip
                churn = rng.betavariate(2, 3)
                clv = int(rng.lognormvariate(9.5, 1.0))
                scores.append(
                    {"customer_id": i, "model": "bgnbd", "model_version": 1, "as_of": today,
                     "horizon_days": 365, "p_alive": 1 - churn, "churn_probability": churn,
                     "predicted_orders": rng.uniform(0, 4),
                     "expected_next_order": today + timedelta(days=rng.randrange(-60, 121)),
                     "average_order_value": 5000, "average_days_between_orders": 90.0,
                     "historic_clv": clv, "predicted_clv": clv, "total_clv": 2 * clv, "currency": "USD"}
                )  # fmt: skip
                if rng.random() < 0.02:
                    change = "entered" if rng.random() < 0.7 else "left"
                    changes.append(
                        {"segment": "rfm:At Risk", "customer_id": i, "change": change,
                         "at": NOW - timedelta(hours=rng.uniform(0, 24))}
                    )  # fmt: skip
            for table, rows in (
                (customers, people),
                (orders, placed),
                (customer_scores, scores),
                (segment_changes, changes),
            ):
                if rows:
                    connection.execute(insert(table), rows)
    install_library(app)
    with app.unit_of_work() as uow:
        for name in uow.flows.definitions():
            uow.flows.set_enabled(name, True, NOW)
        uow.flows.save(AT_RISK.name, flow_to_dict(AT_RISK), NOW, enabled=True)
        # The worker last looked at orders a day ago: this week's orders become events.
        uow.flows.set_cursor("orders_seen", (NOW - timedelta(days=1)).isoformat())
        uow.commit()
    if app.engine.dialect.name == "postgresql":
        with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    return app


def timed(step: Callable[[], T], profile: Path | None) -> tuple[float, T]:
    """``step``'s wall time; with ``profile``, also its cProfile, saved and summarised."""
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    result = step()
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started
    if profiler is not None and profile is not None:
        profiler.dump_stats(profile)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
        print(f"--- profile of {profile.stem} (by own time; full stats in {profile}) ---")
        print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))
    return seconds, result


def run_plan(app: App, now: datetime, profile: Path | None) -> dict[str, Any]:
    flows = enabled_flows(app)
    seconds, report = timed(lambda: plan(flows, app.unit_of_work, now, zone="UTC", currency="USD"), profile)
    return {
        "seconds": seconds,
        "events": report.events,
        "entered": dict(sorted(report.entered.items())),
        "held_out": dict(sorted(report.held_out.items())),
    }


def run_work(app: App, runs: int, profile: Path | None) -> dict[str, Any]:
    """R due runs of a one-send flow, worked off in batches; then the baseline insert."""
    now = NOW + timedelta(days=2)
    # Due before the runs plan entered, so the claims find them first: the runs of the
    # other flows, due too but not worked here, are not scanned past batch after batch.
    due = NOW - timedelta(days=1)
    with app.unit_of_work() as uow:
        uow.flows.save(SEND.name, flow_to_dict(SEND), now, enabled=False)  # worked here alone
        rows = [
            {"flow": SEND.name, "customer_id": i, "entry_no": 1, "entered_at": now, "holdout": False,
             "state": "active", "step": 0, "next_run_at": due, "context": {}}
            for i in range(1, runs + 1)
        ]  # fmt: skip
        for start in range(0, runs, CHUNK):
            uow.connection.execute(insert(flow_entries), rows[start : start + CHUNK])
        uow.commit()
    if app.engine.dialect.name == "postgresql":  # as autovacuum would, before the worker starts
        with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE flow_entries"))
    flows = {SEND.name: SEND}

    def loop() -> int:
        advanced = 0
        while done := work(flows, app.unit_of_work, "bench", now, zone="UTC", currency="USD", limit=BATCH):
            advanced += done
        return advanced

    seconds, advanced = timed(loop, profile)
    with app.engine.connect() as connection:
        queued = int(
            connection.scalar(
                select(func.count()).select_from(message_queue).where(message_queue.c.flow == SEND.name)
            )
            or 0
        )
    if advanced != runs or queued != runs:
        raise SystemExit(f"work advanced {advanced:,} and queued {queued:,} of {runs:,} runs")

    plain = [
        {"key": f"baseline:{i}", "customer_id": i, "template": "thank_you", "flow": SEND.name, "offer": None,
         "not_before": now, "created_at": now}
        for i in range(1, runs + 1)
    ]  # fmt: skip
    with app.engine.connect() as connection:
        transaction = connection.begin()
        started = time.perf_counter()
        connection.execute(insert(message_queue), plain)
        transaction.commit()
        baseline = time.perf_counter() - started
        with connection.begin():
            connection.execute(delete(message_queue).where(message_queue.c.key.like("baseline:%")))
    return {
        "runs": runs,
        "messages": queued,
        "seconds": seconds,
        "runs_per_second": runs / seconds,
        "messages_per_second": queued / seconds,
        "baseline_insert_seconds": baseline,
        "work_over_baseline": seconds / baseline,
    }


def postgres_url() -> str | None:
    """A fresh ``retain_bench`` database, or None (with a note) when the server is away."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    except OperationalError as exc:
        print(f"PostgreSQL skipped: not reachable at {ADMIN_URL} ({str(exc.orig).splitlines()[0]})")
        return None
    finally:
        admin.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"


def bench(backend: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    profiles = args.out.parent if args.profile else None

    def profile(step: str) -> Path | None:
        return None if profiles is None else profiles / f"flows-{backend}-{step}.prof"

    started = time.perf_counter()
    app = build_store(url, args.customers)
    built = time.perf_counter() - started
    print(f"{backend}: store of {args.customers:,} customers built in {built:.1f} s", flush=True)
    try:
        first = run_plan(app, NOW, profile("plan-first-day"))
        print(f"{backend}: plan, first day {first['seconds']:.2f} s", flush=True)
        following = run_plan(app, NOW + timedelta(days=1), profile("plan-next-day"))
        print(f"{backend}: plan, next day {following['seconds']:.2f} s", flush=True)
        worked = run_work(app, min(args.runs, args.customers), profile("work"))
        print(f"{backend}: work {worked['seconds']:.2f} s", flush=True)
    finally:
        app.close()
    return {"build_seconds": built, "plan_first_day": first, "plan_next_day": following, "work": worked}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=100_000, help="due runs for the work benchmark")
    parser.add_argument(
        "--backend", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile plan and work; .prof files beside --out"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/flows.json"))
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backend:
            url = f"sqlite:///{folder}/flows.db" if backend == "sqlite" else postgres_url()
            if url is not None:
                results[backend] = bench(backend, url, args)

    print(f"\n{args.customers:,} customers, all library flows enabled (+ a segment-triggered flow)")
    print(f"{'backend':<10}{'step':<18}{'seconds':>9}{'entered':>10}{'per second':>12}  target")
    for backend, result in results.items():
        for day in ("plan_first_day", "plan_next_day"):
            step = result[day]
            met = "met" if step["seconds"] < PLAN_TARGET_S else "MISSED"
            entered = sum(step["entered"].values())
            print(f"{backend:<10}{day.replace('_', ' '):<18}{step['seconds']:>9.2f}{entered:>10,}{'':>12}"
                  f"  < {PLAN_TARGET_S:.0f} s: {met}")  # fmt: skip
        w = result["work"]
        met = "met" if w["messages_per_second"] >= WORK_TARGET_PER_S else "MISSED"
        print(f"{backend:<10}{'work':<18}{w['seconds']:>9.2f}{w['runs']:>10,}{w['messages_per_second']:>12,.0f}"
              f"  >= {WORK_TARGET_PER_S:,} msg/s: {met}")  # fmt: skip
        base = w["baseline_insert_seconds"]
        print(f"{backend:<10}{'baseline insert':<18}{base:>9.2f}{w['runs']:>10,}{w['runs'] / base:>12,.0f}"
              f"  work takes {w['work_over_baseline']:.1f}x")  # fmt: skip
    for backend, result in results.items():
        print(f"\n{backend}: entered per flow, first day / next day")
        first, following = result["plan_first_day"]["entered"], result["plan_next_day"]["entered"]
        for name in sorted(set(first) | set(following)):
            print(f"  {name:<26}{first.get(name, 0):>9,}{following.get(name, 0):>9,}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak memory: {peak:.2f} GiB")
    summary = {
        "customers": args.customers,
        "targets": {"plan_seconds": PLAN_TARGET_S, "work_messages_per_second": WORK_TARGET_PER_S},
        "peak_gib": peak,
        **results,
    }
    for result in results.values():
        result["met"] = {
            "plan_first_day": result["plan_first_day"]["seconds"] < PLAN_TARGET_S,
            "plan_next_day": result["plan_next_day"]["seconds"] < PLAN_TARGET_S,
            "work": result["work"]["messages_per_second"] >= WORK_TARGET_PER_S,
        }
    args.out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
