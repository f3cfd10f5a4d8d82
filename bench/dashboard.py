"""The dashboard on a large store: the overview's server time from kept figures.

A SQLite store of N customers (default 1,000,000) is written straight with sqlite3 and kept
in bench/results/cache/ for the next run: one to six orders each over three years, a score
row each (churn probability, predicted CLV, expected next order), NPS answers from 2% of
them and a few hundred open tickets. Measured:
- refresh: ``refresh_insights`` once, computing the overview, cohorts and segments and
  keeping them (the work a page would otherwise do per request);
- the overview: R requests of ``GET /`` (default 50) through the ASGI app with a signed-in
  viewer's cookie, an hour after the refresh, each request's time in the server process
  (sign-in check, the kept figures checked against the store's fingerprint, the alerts, the
  page), p50/p95/max. Target: p95 under 300 ms;
- for reference, the same for the cohorts, segments, customers list and one customer's page.

    python bench/dashboard.py [--customers 1000000] [--requests 50] [--fresh]
                              [--out bench/results/dashboard.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table

from retain.analytics.insight_cache import refresh_insights
from retain.bootstrap import App, bootstrap
from retain.service import access
from retain.web.app import create_app

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
DAYS = 3 * 365
TARGET_MS = 300.0
PASSWORD = "bench password, not a real one"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CHUNK = 200_000


def _stamp(moments: np.ndarray) -> list[str]:
    """SQLAlchemy's SQLite text form of naive UTC instants."""
    return [str(m).replace("T", " ") for m in moments.astype("datetime64[us]")]


def build(path: Path, count: int, seed: int = 11) -> None:
    """Customers, orders, scores, NPS answers and tickets, written in bulk."""
    bootstrap(f"sqlite:///{path}").close()
    rng = np.random.default_rng(seed)
    now = np.datetime64(NOW.replace(tzinfo=None), "us")
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA foreign_keys = OFF")
    connection.execute("PRAGMA synchronous = OFF")
    created = _stamp(np.array([now - np.timedelta64(4 * 365, "D")]))[0]
    connection.executemany(
        "INSERT INTO customers (id, external_id, email, name, created_at, marketing_consent, attributes)"
        " VALUES (?, ?, ?, ?, ?, 1, '{}')",
        ((i, f"C{i}", f"customer{i}@example.com", f"Customer {i}", created) for i in range(1, count + 1)),
    )
    orders = 1 + np.minimum(5, rng.exponential(1.25, count).astype(int))
    owners = np.repeat(np.arange(1, count + 1), orders)
    placed = now - (rng.uniform(1, DAYS, owners.size) * 86_400_000_000).astype("timedelta64[us]")
    totals = rng.integers(1_500, 25_000, owners.size)
    for start in range(0, owners.size, CHUNK):
        part = slice(start, start + CHUNK)
        connection.executemany(
            "INSERT INTO orders (external_id, customer_id, placed_at, currency, subtotal, discounts,"
            " shipping, tax, total, refunded, financial_status, item_count, content_hash)"
            " VALUES (?, ?, ?, 'USD', ?, 0, 0, 0, ?, 0, 'paid', 1, '')",
            (
                (f"#{start + k + 1}", int(c), p, int(t), int(t))
                for k, (c, p, t) in enumerate(
                    zip(owners[part], _stamp(placed[part]), totals[part], strict=True)
                )
            ),
        )
    churn = rng.beta(2, 3, count)
    clv = rng.lognormal(9.5, 1.0, count).astype(int)
    expected = [str(d) for d in (np.datetime64(NOW.date()) + rng.integers(-60, 121, count))]
    connection.executemany(
        "INSERT INTO customer_scores (customer_id, model, model_version, as_of, horizon_days, p_alive,"
        " churn_probability, predicted_orders, expected_next_order, average_order_value,"
        " average_days_between_orders, historic_clv, predicted_clv, total_clv, currency)"
        " VALUES (?, 'bgnbd+gamma-gamma', 1, ?, 90, ?, ?, 1.0, ?, 5000, 90.0, ?, ?, ?, 'USD')",
        (
            (i + 1, str(NOW.date()), 1 - float(churn[i]), float(churn[i]), expected[i], int(clv[i]),
             int(clv[i]), 2 * int(clv[i]))
            for i in range(count)
        ),
    )  # fmt: skip
    answered = rng.choice(count, count // 50, replace=False) + 1
    said = now - (rng.uniform(1, 365, answered.size) * 86_400_000_000).astype("timedelta64[us]")
    connection.executemany(
        "INSERT INTO feedback (ref, customer_id, source, survey, score, text, category, sentiment,"
        " mentions_competitor, intends_to_leave, team, data, created_at)"
        " VALUES (?, ?, 'survey', 'nps', ?, '', 'other', 'neutral', 0, 0, 'support', '{}', ?)",
        ((f"nps:{c}", int(c), int(s), at) for c, s, at in
         zip(answered, rng.integers(0, 11, answered.size), _stamp(said), strict=True)),
    )  # fmt: skip
    opened = _stamp(np.array([now - np.timedelta64(3, "D")]))[0]
    due = _stamp(np.array([now - np.timedelta64(1, "D")]))[0]
    connection.executemany(
        "INSERT INTO tickets (customer_id, subject, status, priority, team, category, source, created_at,"
        " updated_at, first_response_due, resolution_due) VALUES (?, 'Where is my order?', 'open', 'normal',"
        " 'delivery', 'delivery', 'complaint', ?, ?, ?, ?)",
        ((int(c), opened, opened, due, due) for c in rng.choice(count, 300, replace=False) + 1),
    )
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


def signed_in(app: App) -> TestClient:
    """A client with a viewer's session, signed in through the login form."""
    email = "bench-viewer@example.com"
    with app.unit_of_work() as uow:
        known = any(u.email == email for u in uow.access.users())
    if not known:
        access.create_user(app.unit_of_work, email, "Bench", "viewer", PASSWORD, NOW)
    client = TestClient(create_app(app))
    form = client.get("/login")
    token = CSRF.search(form.text)
    assert token is not None
    answer = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf": token.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def timed(client: TestClient, path: str, requests: int) -> dict[str, float]:
    """Milliseconds per request in the server process; the first, warming caches, not counted."""
    assert client.get(path).status_code == 200
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        page = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert page.status_code == 200, path
        assert "new figures are being" not in page.text, "the kept figures went stale during the run"
    times.sort()
    return {
        "requests": requests, "p50_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], "max_ms": times[-1],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--fresh", action="store_true", help="Build the store again even if cached.")
    parser.add_argument("--out", type=Path, default=Path("bench/results/dashboard.json"))
    args = parser.parse_args()
    console = Console()

    path = Path("bench/results/cache") / f"dashboard-{args.customers}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    built = None
    if args.fresh or not path.exists():
        for stale in path.parent.glob(f"{path.name}*"):
            stale.unlink()
        started = time.perf_counter()
        build(path, args.customers)
        built = time.perf_counter() - started
    app = bootstrap(f"sqlite:///{path}")
    app.now = lambda: NOW
    with app.engine.connect() as connection:
        orders = connection.exec_driver_sql("SELECT count(*) FROM orders").scalar_one()

    started = time.perf_counter()
    refreshed = refresh_insights(app)
    refresh = time.perf_counter() - started

    # An hour later, the same day: the figures are past the few minutes in which pages take them
    # as they are, so every request also checks the store's fingerprint against them.
    app.now = lambda: NOW + timedelta(hours=1)
    client = signed_in(app)
    pages = {
        "overview": "/", "cohorts": "/cohorts", "segments": "/segments",
        "customers list": "/customers", "customer 360": f"/customers/{args.customers // 2}",
    }  # fmt: skip
    results = {}
    for name, target in pages.items():
        results[name] = timed(
            client, target, args.requests if name == "overview" else max(10, args.requests // 5)
        )
    app.close()

    overview = results["overview"]
    met = overview["p95_ms"] < TARGET_MS
    table = Table(title=f"Dashboard on {args.customers:,} customers, {orders:,} orders (SQLite)")
    for column in ("page", "requests", "p50 (ms)", "p95 (ms)", "max (ms)"):
        table.add_column(column, justify="left" if column == "page" else "right")
    for name, found in results.items():
        table.add_row(name, str(found["requests"]), f"{found['p50_ms']:.1f}", f"{found['p95_ms']:.1f}",
                      f"{found['max_ms']:.1f}")  # fmt: skip
    console.print(table)
    if built is not None:
        console.print(f"Store built in {built:.1f} s (kept in {path} for the next run).")
    console.print(
        f"Refreshing the kept figures took {refresh:.1f} s. Overview p95 {overview['p95_ms']:.1f} ms: "
        f"target under {TARGET_MS:.0f} ms {'met' if met else 'MISSED'}."
    )
    report = {
        "customers": args.customers, "orders": orders, "backend": "sqlite", "store_build_seconds": built,
        "refresh_seconds": refresh, "refresh_seconds_inside": refreshed.seconds, "pages": results,
        "target_p95_ms": TARGET_MS, "target_met": met,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
