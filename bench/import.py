"""Import a generated Shopify export of 1,000,000 line items into SQLite.

Reports line items per second and peak memory of the import process, next to a named
baseline measured in the same run: ``naive-csv-sqlite``, the standard library's csv reader
feeding ``sqlite3.executemany`` one row per line item with no validation at all (a floor
for any importer that reads every row in Python). Targets: >= 100,000 line items/s and
< 2 GiB peak on a 2-core machine.

    python bench/import.py [--line-items N] [--out bench/results/import.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATE = 100_000
TARGET_PEAK_MIB = 2048


def child_retain(orders_csv: Path, db: Path) -> dict[str, float]:
    from retain.bootstrap import bootstrap
    from retain.ingest.reader import read_orders
    from retain.service.imports import import_orders

    app = bootstrap(str(db))
    started = time.perf_counter()
    result = import_orders(read_orders(orders_csv, "shopify"), app.unit_of_work())
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "orders": result.orders_in_file, "lines": result.counts.lines_written}


def child_naive(orders_csv: Path, db: Path) -> dict[str, float]:
    started = time.perf_counter()
    connection = sqlite3.connect(db)
    connection.execute(
        "CREATE TABLE lines (name TEXT, email TEXT, created TEXT, qty TEXT, title TEXT, price TEXT)"
    )
    with orders_csv.open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle)
        fields = ("Name", "Email", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price")
        connection.executemany(
            "INSERT INTO lines VALUES (?, ?, ?, ?, ?, ?)", (tuple(r[f] for f in fields) for r in rows)
        )
    connection.commit()
    lines = connection.execute("SELECT count(*) FROM lines").fetchone()[0]
    connection.close()
    return {"seconds": time.perf_counter() - started, "orders": 0, "lines": lines}


def run_child(kind: str, orders_csv: Path, db: Path) -> dict[str, float]:
    """Each import in its own process, so peak memory is that import's alone."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(orders_csv), str(db)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--line-items", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("bench/results/import.json"))
    parser.add_argument("--child", nargs=3, metavar=("KIND", "CSV", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, orders_csv, db = args.child
        figures = (child_retain if kind == "retain" else child_naive)(Path(orders_csv), Path(db))
        figures["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(figures))
        return

    from retain.demo.generator import generate_store

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        # About 3.5 line items per customer over three years; cap at exactly what we need.
        store = generate_store(folder / "store", customers=min(1_000_000, args.line_items // 3 + 1000),
                               seed=2026, max_line_items=args.line_items)  # fmt: skip
        generated = time.perf_counter() - started
        size_mib = store.orders_csv.stat().st_size / 2**20
        runs = {
            "naive-csv-sqlite": run_child("naive", store.orders_csv, folder / "naive.db"),
            "retain": run_child("retain", store.orders_csv, folder / "retain.db"),
        }
    report = {
        "line_items": store.line_items,
        "orders": store.orders,
        "customers": store.customers,
        "file_mib": round(size_mib, 1),
        "generate_seconds": round(generated, 2),
        "runs": {},
    }
    print(f"{store.line_items:,} line items, {store.orders:,} orders, {store.customers:,} customers; "
          f"{size_mib:,.0f} MiB file generated in {generated:.1f} s")  # fmt: skip
    print(f"{'run':<18}{'seconds':>10}{'line items/s':>15}{'peak MiB':>10}{'vs baseline':>13}")
    base_rate = store.line_items / runs["naive-csv-sqlite"]["seconds"]
    for name, run in runs.items():
        rate = store.line_items / run["seconds"]
        report["runs"][name] = {  # type: ignore[index]
            "seconds": round(run["seconds"], 2), "line_items_per_second": round(rate),
            "peak_mib": round(run["peak_mib"]), "rate_vs_baseline": round(rate / base_rate, 2),
        }  # fmt: skip
        print(
            f"{name:<18}{run['seconds']:>10.2f}{rate:>15,.0f}{run['peak_mib']:>10,.0f}"
            f"{rate / base_rate:>12.2f}x"
        )
    retain = report["runs"]["retain"]  # type: ignore[index]
    ok = retain["line_items_per_second"] >= TARGET_RATE and retain["peak_mib"] < TARGET_PEAK_MIB
    print(
        f"target >= {TARGET_RATE:,} line items/s and < {TARGET_PEAK_MIB:,} MiB: {'met' if ok else 'MISSED'}"
    )
    report["target_met"] = ok
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
