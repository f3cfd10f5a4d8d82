"""Analytics at scale: metrics, the monthly cohort triangle and RFM segments.

For 10k, 100k and 1M customers (about five orders each, over three years), the orders are
generated straight into Arrow and the three analytics timed together; a pandas RFM
computation of the same scores is the named baseline, run on the same data. Loading the
orders from a real SQLite store is timed separately at 100k customers. Target: the three
together under 10 s at 1M customers. Peak memory is this process's maximum RSS.

    python bench/analytics.py [--sizes 10000 100000 1000000] [--out bench/results/analytics.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from retain.analytics.cohorts import cohort_table
from retain.analytics.engine import ORDERS_SCHEMA, Analytics
from retain.analytics.metrics import period_metrics
from retain.analytics.segments import Segmenter
from retain.bootstrap import bootstrap
from retain.domain.metrics import Period

START = np.datetime64("2023-01-01T00:00:00")  # naive UTC, as the engine stores instants
DAYS = 3 * 365
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)


def orders_for(customers: int, seed: int = 1) -> pa.Table:
    """About five orders a customer: geometric counts, uniform times, lognormal amounts."""
    rng = np.random.default_rng(seed)
    counts = rng.geometric(0.2, customers)
    ids = np.repeat(np.arange(1, customers + 1, dtype=np.int64), counts)
    seconds = rng.integers(0, DAYS * 86400, ids.size)
    placed = START + seconds.astype("timedelta64[s]")
    net = np.round(rng.lognormal(8, 0.6, ids.size)).astype(np.int64)
    return pa.table(
        {
            "customer_id": ids,
            "placed_at": placed.astype("datetime64[us]"),
            "net": net,
            "currency": ["USD"] * ids.size,
        },
        schema=ORDERS_SCHEMA,
    )


def retain_run(orders: pa.Table) -> dict[str, float]:
    analytics = Analytics(orders)
    timings = {}
    started = time.perf_counter()
    period_metrics(analytics, Period(date(2025, 1, 1), date(2025, 12, 31)))
    timings["metrics"] = time.perf_counter() - started
    mark = time.perf_counter()
    cohort_table(analytics, "month")
    timings["cohorts"] = time.perf_counter() - mark
    mark = time.perf_counter()
    segmenter = Segmenter(analytics, AS_OF)
    segmenter.sizes("rfm")
    timings["rfm"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    return timings


def pandas_rfm(orders: pa.Table) -> float:
    """The baseline: the same R, F, M quintile scores with pandas."""
    started = time.perf_counter()
    frame = orders.to_pandas()
    per = frame.groupby("customer_id").agg(
        last=("placed_at", "max"), orders=("net", "size"), revenue=("net", "sum")
    )
    recency = (pd.Timestamp(AS_OF.replace(tzinfo=None)) - per["last"]).dt.days
    for name, values, ascending in (
        ("r", recency, False),
        ("f", per["orders"], True),
        ("m", per["revenue"], True),
    ):
        ranks = values.rank(method="min", ascending=ascending, pct=False)
        per[name] = np.minimum(5, 1 + np.floor(5 * (ranks - 1) / max(len(per) - 1, 1))).astype(int)
    per.groupby(["r", "f"]).size()
    return time.perf_counter() - started


def store_load(customers: int) -> dict[str, float]:
    """Orders written into a migrated SQLite store, then read back through Analytics.from_store."""
    orders = orders_for(customers)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/store.db"
        bootstrap(url).close()
        connection = sqlite3.connect(f"{folder}/store.db")
        stamps = pd.Series(orders["placed_at"].to_numpy()).dt.strftime("%Y-%m-%d %H:%M:%S.000000")
        rows = zip(
            orders["customer_id"].to_pylist(),
            stamps,
            orders["net"].to_pylist(),
            range(orders.num_rows),
            strict=True,
        )
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.executemany(
            "INSERT INTO orders (customer_id, placed_at, currency, subtotal, discounts, shipping, tax, total,"
            " refunded, financial_status, item_count, content_hash, external_id)"
            " VALUES (?, ?, 'USD', 0, 0, 0, 0, ?, 0, 'paid', 1, '', ?)",
            ((c, s, n, str(i)) for c, s, n, i in rows),
        )
        connection.commit()
        connection.close()
        started = time.perf_counter()
        loaded = Analytics.from_store(url)
        seconds = time.perf_counter() - started
        (count,) = loaded.rows("SELECT count(*) FROM orders")[0]
    return {"orders": count, "seconds": seconds, "orders_per_second": count / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=Path("bench/results/analytics.json"))
    args = parser.parse_args()
    report: dict[str, object] = {"runs": {}}
    columns = (("customers", 10), ("orders", 11), ("metrics", 9), ("cohorts", 9), ("rfm", 8), ("total", 8))
    print("".join(f"{name:>{width}}" for name, width in columns) + f"{'pandas rfm':>12}{'rfm ratio':>11}")
    for size in args.sizes:
        orders = orders_for(size)
        timings = retain_run(orders)
        baseline = pandas_rfm(orders)
        report["runs"][str(size)] = {  # type: ignore[index]
            "orders": orders.num_rows, **{k: round(v, 3) for k, v in timings.items()},
            "pandas_rfm": round(baseline, 3), "rfm_vs_pandas": round(timings["rfm"] / baseline, 3),
        }  # fmt: skip
        print(
            f"{size:>10,}{orders.num_rows:>11,}{timings['metrics']:>9.2f}{timings['cohorts']:>9.2f}"
            f"{timings['rfm']:>8.2f}{timings['total']:>8.2f}{baseline:>12.2f}"
            f"{timings['rfm'] / baseline:>10.2f}x"
        )
    load = store_load(100_000)
    report["store_load_100k"] = {k: round(v, 3) for k, v in load.items()}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report["peak_mib"] = round(peak)
    largest = report["runs"][str(max(args.sizes))]  # type: ignore[index]
    report["target_met"] = largest["total"] < 10  # type: ignore[index]
    print(f"load from SQLite, 100k customers: {load['orders']:,.0f} orders in {load['seconds']:.2f} s")
    print(f"peak memory {peak:,.0f} MiB; target (all three < 10 s at the largest size): "
          f"{'met' if report['target_met'] else 'MISSED'}")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
