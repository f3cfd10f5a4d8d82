"""Loyalty at scale: replay a store's orders through the earning rules, with refunds and expiry.

A store of N orders (default 1,000,000) from N/5 customers over the two years before a fixed
``now`` is written straight into the tables (COPY on PostgreSQL, multi-row INSERTs on
SQLite; set-up, not measured). About 5% of the orders are refunded (2% in full, 3% in
part), 1% are cancelled, and a quarter of the customers stopped buying more than a year
ago, so their points expire. The program is Retain's default with the exclusions removed
(no order lines are written, so a category exclusion could not be told apart anyway).

Measured, on SQLite and on PostgreSQL (a fresh ``retain_bench_loyalty`` database on the
local server; skipped with a note when it does not answer):
- sync: ``retain.service.loyalty.sync`` over the whole store as of ``now``: earning,
  reversals, approvals, tiers, birthday and anniversary bonuses, expiry and the events;
  ledger entries written per second (checked against ``count(*)`` of the ledger);
- report: ``retain.service.loyalty.report``, the liability report;
- re-run: ``sync`` again over the unchanged store, which must write nothing;
- the named baseline: the same earning done one order at a time, as a straightforward
  implementation would (an UPDATE of the balance row and a single-row INSERT into the
  ledger, in a transaction per order) for a sample of the orders; entries per second, and
  the ratio of the real path's rate to it.
With ``--profile``, one more sync from an empty ledger runs under cProfile after the measured
steps (its time is not reported): the stats go beside ``--out``, the top of them to the screen.

    python bench/loyalty.py [--orders 1000000] [--customers 200000] [--backend sqlite|postgres|both ...]
                            [--runs 1] [--baseline 20000] [--profile] [--out bench/results/loyalty.json]
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import json
import pstats
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table
from sqlalchemy import bindparam, create_engine, insert, text, update
from sqlalchemy.exc import OperationalError

from retain.bootstrap import App, bootstrap
from retain.domain.loyalty import Program, order_points
from retain.loyalty.program import default_program
from retain.service.loyalty import SyncReport, report, sync
from retain.store.bulk_base import BulkWriter
from retain.store.tables import customers, loyalty_accounts, loyalty_ledger, orders

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)
DAYS = 730  # the orders span the two years before NOW
LAPSED_SHARE = 0.25  # customers whose last order is more than 12 months old
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASE = "retain_bench_loyalty"
# What sync writes; cleared between runs (nothing else in the bench store lives there).
SYNC_TABLES = (
    "loyalty_ledger", "loyalty_orders", "loyalty_accounts", "customer_events", "segment_members",
    "segment_changes", "discount_codes",
)  # fmt: skip
PROGRAM_NOTE = "default program, exclusions removed (excluded_categories=frozenset()); no order lines"
console = Console(highlight=False, width=150)


def bench_program() -> Program:
    return dataclasses.replace(default_program(), excluded_categories=frozenset(), excluded_skus=frozenset())


# --- the store -------------------------------------------------------------------------------


def _utc(values: np.ndarray, name: str) -> pl.Series:
    return pl.Series(name, values.astype("datetime64[us]")).dt.replace_time_zone("UTC")


def synthetic(order_count: int, customer_count: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(customers, orders) frames as the tables hold them; orders are numbered by time."""
    rng = np.random.default_rng(seed)
    # Every customer orders once; the rest of the orders go by a skewed appetite, so a few
    # buy often enough for Silver and Gold.
    appetite = rng.gamma(0.6, 1.0, customer_count)
    extra = rng.choice(customer_count, size=order_count - customer_count, p=appetite / appetite.sum())
    owner = np.concatenate([np.arange(customer_count), extra])
    lapsed = rng.random(customer_count) < LAPSED_SHARE
    days_ago = np.where(
        lapsed[owner], rng.uniform(380, DAYS, order_count), rng.uniform(0, DAYS, order_count)
    )  # lapsed customers stopped at least 380 days ago: past the 12 months of expiry
    now_us = np.datetime64(NOW.replace(tzinfo=None), "us")
    placed = now_us - (days_ago * 86_400e6).astype("timedelta64[us]")
    order = np.argsort(placed, kind="stable")
    owner, placed = owner[order], placed[order]

    subtotal = np.clip(np.round(rng.lognormal(np.log(4500), 0.6, order_count)), 500, 100_000).astype(np.int64)
    discounts = np.where(rng.random(order_count) < 0.15, subtotal // 10, 0)
    goods = subtotal - discounts
    shipping = np.where(goods >= 5000, 0, 599)
    tax = np.round(goods * 0.08).astype(np.int64)
    total = goods + shipping + tax
    roll = rng.random(order_count)
    cancelled = roll < 0.01
    full = (roll >= 0.01) & (roll < 0.03)
    partial = (roll >= 0.03) & (roll < 0.06)
    refunded = np.where(full | cancelled, total, 0)
    refunded = np.where(partial, (total * rng.uniform(0.1, 0.9, order_count)).astype(np.int64), refunded)
    status = np.where(full | cancelled, "refunded", np.where(partial, "partially_refunded", "paid"))
    ids = np.arange(1, order_count + 1)
    placed_at = _utc(placed, "placed_at")
    order_frame = pl.DataFrame(
        {
            "id": ids,
            "external_id": [f"#{i}" for i in ids.tolist()],
            "customer_id": owner + 1,
            "placed_at": placed_at,
            "currency": pl.repeat("USD", order_count, eager=True),
            "subtotal": subtotal,
            "discounts": discounts,
            "shipping": shipping,
            "tax": tax,
            "total": total,
            "refunded": refunded,
            "financial_status": status,
            "paid_at": placed_at + timedelta(minutes=1),
            "cancelled_at": _utc(
                np.where(cancelled, placed + np.timedelta64(2, "h"), np.datetime64("NaT")), "c"
            ),
            "item_count": 1 + rng.integers(0, 4, order_count),
            "content_hash": [f"{i:032x}" for i in ids.tolist()],
        }
    )

    first = order_frame.group_by("customer_id").agg(pl.col("placed_at").min()).sort("customer_id")
    people = np.arange(1, customer_count + 1)
    born = np.datetime64("1950-01-01") + rng.integers(0, 55 * 365, customer_count).astype("timedelta64[D]")
    born = np.where(rng.random(customer_count) < 0.3, born, np.datetime64("NaT"))
    customer_frame = pl.DataFrame(
        {
            "id": people,
            "external_id": [f"C{i:07d}" for i in people.tolist()],
            "email": [f"customer{i}@example.com" for i in people.tolist()],
            "name": [f"Customer {i}" for i in people.tolist()],
            "created_at": first["placed_at"],
            "marketing_consent": rng.random(customer_count) < 0.8,
            "consent_source": pl.repeat("checkout", customer_count, eager=True),
            "consent_at": first["placed_at"],
            "birthday": pl.Series("birthday", born.astype("datetime64[D]")).cast(pl.Date),
            "attributes": pl.repeat("{}", customer_count, eager=True),
        }
    )
    return customer_frame, order_frame


def ticker(label: str, final: bool = True, every: int = 200_000) -> Callable[[str, int, int], None]:
    """A progress sink printing a line every ``every`` rows of a stage, and with ``final`` when
    it is done (sync passes ``done`` as the total: it cannot know how much is left)."""
    started = time.perf_counter()
    shown: dict[str, int] = {}

    def tick(stage: str, done: int, total: int) -> None:
        last = shown.get(stage, 0)
        if done - last >= every or (final and done == total and done != last):
            shown[stage] = done
            of = f" / {total:,}" if total != done else ""
            console.print(f"  {label}: {stage} {done:,}{of}  ({time.perf_counter() - started:.1f} s)")

    return tick


def build_store(url: str, order_count: int, customer_count: int, seed: int, label: str) -> App:
    app = bootstrap(url)
    app.now = lambda: NOW
    people, placed = synthetic(order_count, customer_count, seed)
    console.print(f"  {label}: generated {people.height:,} customers and {placed.height:,} orders")
    tick = ticker(label)
    with app.engine.begin() as connection:
        writer = BulkWriter(connection)
        writer.write_rows(customers, people, tick)
        writer.write_rows(orders, placed, tick)
        if app.engine.dialect.name == "postgresql":
            for table in ("customers", "orders"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                connection.execute(text(f"SELECT setval({sequence}, (SELECT max(id) FROM {table}))"))
    analyse(app)
    return app


def analyse(app: App) -> None:
    if app.engine.dialect.name == "postgresql":
        with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))


def reset(app: App) -> None:
    """Empty everything sync writes, for another run over the same orders."""
    with app.engine.begin() as connection:
        if app.engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(SYNC_TABLES)}"))
        else:
            for table in SYNC_TABLES:
                connection.execute(text(f"DELETE FROM {table}"))
    analyse(app)


def ledger_rows(app: App) -> int:
    with app.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM loyalty_ledger")).scalar_one())


# --- measuring -------------------------------------------------------------------------------


def profiled(step: Callable[[], Any], path: Path) -> None:
    """Run ``step`` under cProfile; save the stats and print the top by cumulative and own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    step()
    profiler.disable()
    profiler.dump_stats(path)
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(25)
        console.print(f"--- profile of {path.stem}, by {order} (full stats in {path}) ---")
        console.print(
            "\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()),
            markup=False,
            soft_wrap=True,
        )


def timed_sync(app: App, program: Program, label: str) -> tuple[float, SyncReport]:
    tick = ticker(f"{label} sync", final=False)
    started = time.perf_counter()
    result = sync(program, app.unit_of_work, NOW, tick)
    return time.perf_counter() - started, result


def naive_baseline(app: App, program: Program, count: int, seed: int) -> dict[str, Any]:
    """Earning one order at a time: per order, its own transaction with an UPDATE of the
    member's pending balance (RETURNING the buckets) and a single-row INSERT into the ledger."""
    with app.engine.connect() as connection:
        candidates = connection.execute(
            text(
                "SELECT o.id, o.customer_id, o.total - o.shipping - o.tax FROM orders o"
                " JOIN loyalty_accounts a ON a.customer_id = o.customer_id WHERE o.cancelled_at IS NULL"
            )
        ).all()
    sample = random.Random(seed).sample(candidates, min(count, len(candidates)))
    bump = (
        update(loyalty_accounts)
        .where(loyalty_accounts.c.customer_id == bindparam("cid"))
        .values(pending=loyalty_accounts.c.pending + bindparam("add"), updated_at=bindparam("stamp"))
        .returning(loyalty_accounts.c.balance, loyalty_accounts.c.pending)
    )
    entry = insert(loyalty_ledger)
    started = time.perf_counter()
    for order_id, customer_id, basis in sample:
        points = order_points(int(basis), 2, program)
        with app.engine.begin() as connection:
            balance, pending = connection.execute(
                bump, {"cid": customer_id, "add": points, "stamp": NOW}
            ).one()
            connection.execute(
                entry,
                {"key": f"naive:earn:order:{order_id}", "customer_id": customer_id, "kind": "earn",
                 "source": "order", "points": 0, "pending": points, "balance_after": balance,
                 "pending_after": pending, "shortfall": 0, "order_id": order_id, "reason": "order",
                 "at": NOW},
            )  # fmt: skip
    seconds = time.perf_counter() - started
    return {"orders": len(sample), "seconds": seconds, "entries_per_second": len(sample) / seconds}


def bench(backend: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    program = bench_program()
    started = time.perf_counter()
    app = build_store(url, args.orders, args.customers, args.seed, backend)
    built = time.perf_counter() - started
    console.print(f"{backend}: store of {args.orders:,} orders built in {built:.1f} s")
    try:
        runs: list[dict[str, Any]] = []
        first: SyncReport | None = None
        for run in range(args.runs):
            if run:
                reset(app)
            seconds, result = timed_sync(app, program, backend)
            written = ledger_rows(app)
            if written != result.entries:
                raise SystemExit(
                    f"{backend}: sync reported {result.entries:,} entries; the ledger holds {written:,}"
                )
            if first is not None and result.entries != first.entries:
                raise SystemExit(
                    f"{backend}: run {run + 1} wrote {result.entries:,}, run 1 {first.entries:,}"
                )
            first = first or result
            runs.append({"seconds": seconds, "entries": result.entries})
            console.print(
                f"{backend}: sync {seconds:.2f} s, {result.entries:,} entries "
                f"({result.entries / seconds:,.0f}/s), run {run + 1} of {args.runs}"
            )
        assert first is not None
        best = min(r["seconds"] for r in runs)

        report_started = time.perf_counter()
        liability = report(program, app.unit_of_work)
        report_seconds = time.perf_counter() - report_started
        console.print(f"{backend}: report {report_seconds:.2f} s")

        rerun_seconds, again = timed_sync(app, program, f"{backend} re-run")
        console.print(f"{backend}: re-run {rerun_seconds:.2f} s, {again.entries:,} entries")
        if again.entries != 0 or ledger_rows(app) != first.entries:
            raise SystemExit(f"{backend}: the re-run over an unchanged store wrote {again.entries:,} entries")

        baseline = naive_baseline(app, program, args.baseline, args.seed)
        console.print(
            f"{backend}: naive baseline {baseline['orders']:,} orders in {baseline['seconds']:.2f} s "
            f"({baseline['entries_per_second']:,.0f} entries/s)"
        )
        if args.profile:
            reset(app)
            profiled(
                lambda: sync(program, app.unit_of_work, NOW), args.out.parent / f"loyalty-{backend}-sync.prof"
            )
    finally:
        app.close()
    rate = first.entries / best
    counts = {k: v for k, v in dataclasses.asdict(first).items() if not k.startswith("_")}
    return {
        "build_seconds": built,
        "sync": {
            "runs": runs,
            "seconds": best,
            "median_seconds": statistics.median(r["seconds"] for r in runs),
            "entries": first.entries,
            "entries_per_second": rate,
            "report": counts,
        },
        "report_seconds": report_seconds,
        "liability": {
            k: str(v) if not isinstance(v, int | float | dict | type(None)) else v
            for k, v in dataclasses.asdict(liability).items()
        },
        "rerun_seconds": rerun_seconds,
        "rerun_entries": again.entries,
        "baseline": baseline,
        "sync_over_baseline_rate": rate / baseline["entries_per_second"],
    }


def postgres_url() -> str | None:
    """A fresh scratch database, or None (with a note) when the server is away."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    except OperationalError as exc:
        console.print(f"PostgreSQL skipped: not reachable at {ADMIN_URL} ({str(exc.orig).splitlines()[0]})")
        return None
    finally:
        admin.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"


def drop_postgres() -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
    finally:
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, help="default: a fifth of --orders")
    parser.add_argument("--backend", nargs="+", choices=["sqlite", "postgres", "both"], default=["both"])
    parser.add_argument(
        "--runs", type=int, default=1, help="timed syncs from an empty ledger; the best counts"
    )
    parser.add_argument("--baseline", type=int, default=20_000, help="orders earned one at a time")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--profile", action="store_true", help="cProfile one more sync; .prof files beside --out"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/loyalty.json"))
    args = parser.parse_args()
    args.customers = args.customers or max(1, args.orders // 5)
    if not 0 < args.customers <= args.orders or args.runs < 1:
        parser.error("need 0 < --customers <= --orders and --runs >= 1")
    backends = ["sqlite", "postgres"] if "both" in args.backend else list(dict.fromkeys(args.backend))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    console.print(
        f"{args.orders:,} orders from {args.customers:,} customers, {PROGRAM_NOTE}; now = {NOW:%Y-%m-%d}"
    )

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            if backend == "sqlite":
                results[backend] = bench(backend, f"sqlite:///{folder}/loyalty.db", args)
                continue
            url = postgres_url()
            if url is not None:
                try:
                    results[backend] = bench(backend, url, args)
                finally:
                    drop_postgres()

    table = Table(title=f"Loyalty sync: {args.orders:,} orders ({PROGRAM_NOTE})")
    for name in ("backend", "orders", "entries", "sync s", "entries/s", "report s", "re-run s",
                 "baseline entries/s", "ratio"):  # fmt: skip
        table.add_column(name, justify="left" if name == "backend" else "right")
    for backend, r in results.items():
        table.add_row(
            backend, f"{args.orders:,}", f"{r['sync']['entries']:,}", f"{r['sync']['seconds']:.2f}",
            f"{r['sync']['entries_per_second']:,.0f}", f"{r['report_seconds']:.2f}",
            f"{r['rerun_seconds']:.2f}",
            f"{r['baseline']['entries_per_second']:,.0f}", f"{r['sync_over_baseline_rate']:.1f}x",
        )  # fmt: skip
    console.print()
    console.print(table)
    console.print(
        f"sync s: best of {args.runs} run(s) from an empty ledger; ratio: sync entries/s over the naive "
        f"baseline's ({args.baseline:,} orders, a transaction, an UPDATE and an INSERT per order)"
    )
    for backend, r in results.items():
        counts, owed = r["sync"]["report"], r["liability"]
        console.print(
            f"{backend}: earned on {counts['orders']:,} orders ({counts['earned']:,} pts), "
            f"reversed {counts['reversed']:,}, approved {counts['approved']:,}, "
            f"bonuses {counts['bonuses']:,}, expired {counts['expired']:,} pts; "
            f"{counts['upgraded']:,} upgrades, {counts['shipping_codes']:,} shipping codes, "
            f"{counts['events']:,} points_changed + {counts['reminders']:,} points_expiring events; "
            f"liability ${owed['liability']} approved + ${owed['pending_liability']} pending, "
            f"{owed['members']:,} members {owed['tiers']}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    console.print(f"peak memory: {peak:.2f} GiB")
    summary = {
        "orders": args.orders,
        "customers": args.customers,
        "now": NOW.isoformat(),
        "program": PROGRAM_NOTE,
        "runs": args.runs,
        "peak_gib": peak,
        **results,
    }
    args.out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
