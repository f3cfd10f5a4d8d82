"""Store webhooks under load: signed Shopify ``orders/create`` webhooks from a load generator.

The server is ``retain serve`` itself (uvicorn with ``create_app``, one process) on a
loopback port, on a fresh store: a SQLite file, and a fresh schema of the local PostgreSQL
server's ``test`` database (dropped afterwards; skipped with a note when the server does not
answer). The load generator is another process: N distinct, realistic orders (a catalog of
coffee and gear, returning customers, one to four lines, discount codes, Shopify's full
payload of about 3 KB), each signed as Shopify signs, sent over a fixed number of keep-alive
connections (the concurrency; a run, on a fresh store, for each of 32 and 64) as fast as the
server answers, with one delivery in ten sent a second time (Shopify's retries). The client
is a few lines of HTTP/1.1 over asyncio streams, so it leaves the machine's two cores to the
server.

Measured, per database and concurrency:
- webhooks: sustained orders per second (N over the time from the first request to the
  last answer), the p50/p99 latency of each request as the load generator saw it, and the
  server's CPU time per order;
- the named baseline: ``GET /healthz`` from the same load generator, the most requests per
  second this server answers on this machine, and the webhooks' rate as a share of it.
Checked: every order arrived exactly once (``count(*)`` of the orders and of the kept
deliveries equals N, none pending or rejected) and every answer was 200 or 202. The
machine's load average is recorded beside the figures: other work on the same cores lowers
them.
Target: at least 500 orders/s with p99 under 100 ms on SQLite.

    python bench/api.py [--orders 20000] [--concurrency 32 64] [--backend sqlite postgres]
                        [--out bench/results/api.json]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import OperationalError

TARGET_PER_S, TARGET_P99_MS = 500, 100
SECRET = "bench-shopify-secret-" + "x" * 16
POSTGRES = os.environ.get("RETAIN_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FIRST_ID = 6_100_000_000  # Shopify-sized order ids
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
EASTERN = timezone(timedelta(hours=-4))  # the shop's offset, as Shopify writes times
CATALOG = [
    (f"COF-{origin[:3].upper()}-{size}", f"{origin} {size}g", "coffee", price)
    for origin, base in (("Ethiopia Yirgacheffe", 1400), ("Colombia Huila", 1250), ("Kenya Nyeri", 1550),
                         ("Brazil Cerrado", 1100), ("Guatemala Antigua", 1350), ("Sumatra Mandheling", 1450))
    for size, price in ((250, base), (500, base * 19 // 10), (1000, base * 7 // 2))
] + [
    ("GEAR-DRIP", "Ceramic Pour-Over Dripper", "gear", 2400), ("GEAR-GRIND", "Hand Grinder", "gear", 6900),
    ("GEAR-KETTLE", "Gooseneck Kettle", "gear", 5400), ("GEAR-FILTER", "Paper Filters x100", "gear", 650),
    ("TEA-SEN-100", "Sencha Green Tea 100g", "tea", 1150), ("TEA-EARL-100", "Earl Grey 100g", "tea", 950),
    ("MUG-STONE", "Stoneware Mug", "gear", 1500), ("GIFT-25", "Gift Card $25", "gift", 2500),
]  # fmt: skip
FIRST = ["Ana", "Bruno", "Chloe", "Dev", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Keiko", "Liam"]
LAST = ["Lima", "Costa", "Martin", "Patel", "Smith", "Haddad", "Hopper", "Rossi", "Sato", "Berg", "Okafor"]
console = Console()


# -- the orders ---------------------------------------------------------------------------


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def shopify_order(index: int, rng: random.Random, customers: int) -> dict[str, Any]:
    """A realistic orders/create payload: Shopify's fields, consistent amounts."""
    who = rng.randrange(customers)
    first, last = FIRST[who % len(FIRST)], LAST[(who // len(FIRST)) % len(LAST)]
    email = f"{first}.{last}.{who}@example.com".lower()
    placed = NOW - timedelta(days=rng.random() * 30)
    items = []
    chosen = rng.sample(range(len(CATALOG)), rng.choice((1, 1, 2, 2, 3, 4)))
    for position, product in enumerate(chosen):
        sku, title, _, price = CATALOG[product]
        quantity = rng.choice((1, 1, 1, 2, 3))
        items.append({
            "id": 7_000_000_000 + index * 10 + position, "product_id": 8_000_000 + product,
            "variant_id": 9_000_000 + product, "sku": sku, "title": title, "name": title,
            "variant_title": None, "vendor": "Fernwood Coffee", "quantity": quantity, "price": money(price),
            "total_discount": "0.00", "taxable": True, "requires_shipping": True, "gift_card": False,
            "fulfillment_status": None, "discount_allocations": [], "tax_lines": [],
        })  # fmt: skip
    lines = sum(int(i["price"].replace(".", "")) * i["quantity"] for i in items)
    code = "WELCOME10" if rng.random() < 0.1 else None
    discount = lines // 10 if code else 0
    shipping = 0 if lines - discount >= 5000 else 490
    tax = (lines - discount) * 8 // 100
    total = lines - discount + shipping + tax
    stamp = placed.astimezone(EASTERN).isoformat(timespec="seconds")
    person = {
        "id": 5_000_000 + who, "email": email, "first_name": first, "last_name": last,
        "phone": f"+1 555 {who % 10_000:04d}", "created_at": stamp, "updated_at": stamp, "state": "enabled",
        "tags": "", "currency": "USD", "verified_email": True,
        "email_marketing_consent": {"state": rng.choice(("subscribed", "not_subscribed")),
                                    "opt_in_level": "single_opt_in", "consent_updated_at": stamp},
    }  # fmt: skip
    address = {
        "first_name": first, "last_name": last, "name": f"{first} {last}", "address1": "12 Mill Lane",
        "city": "Boston", "zip": "02118", "province_code": "MA", "country_code": "US", "phone": None,
    }  # fmt: skip
    return {
        "id": FIRST_ID + index, "admin_graphql_api_id": f"gid://shopify/Order/{FIRST_ID + index}",
        "name": f"#{10_000 + index}", "order_number": 10_000 + index, "email": email, "contact_email": email,
        "created_at": stamp, "updated_at": stamp, "processed_at": stamp, "cancelled_at": None,
        "closed_at": None, "currency": "USD", "presentment_currency": "USD",
        "subtotal_price": money(lines - discount), "total_line_items_price": money(lines),
        "total_discounts": money(discount), "total_tax": money(tax), "total_price": money(total),
        "total_shipping_price_set": {
            "shop_money": {"amount": money(shipping), "currency_code": "USD"},
            "presentment_money": {"amount": money(shipping), "currency_code": "USD"},
        },
        "shipping_lines": [{"title": "Standard", "price": money(shipping), "code": "standard"}],
        "financial_status": "paid", "fulfillment_status": None, "buyer_accepts_marketing": True,
        "source_name": rng.choice(("web", "web", "web", "shopify_draft_order", "pos")), "tags": "",
        "discount_codes": [{"code": code, "amount": money(discount), "type": "percentage"}] if code else [],
        "billing_address": address, "shipping_address": address, "customer": person,
        "line_items": items, "refunds": [], "note": None, "note_attributes": [],
    }  # fmt: skip


def signed_request(port: int, body: bytes, event: str) -> bytes:
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    head = (
        f"POST /webhooks/shopify HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"X-Shopify-Topic: orders/create\r\nX-Shopify-Hmac-Sha256: {signature}\r\n"
        f"X-Shopify-Event-Id: {event}\r\nX-Shopify-Webhook-Id: {uuid.uuid4()}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def webhook_requests(port: int, first: int, count: int, seed: int, resend: float) -> list[bytes]:
    """``count`` distinct signed orders; a share of them also sent again, a little later."""
    rng = random.Random(seed)
    sent = []
    for index in range(first, first + count):
        body = json.dumps(shopify_order(index, rng, max(count // 3, 1))).encode()
        sent.append(signed_request(port, body, f"{uuid.UUID(int=rng.getrandbits(128))}"))
    for position in sorted(rng.sample(range(count), int(count * resend)), reverse=True):
        later = min(len(sent), position + rng.randrange(1, 200))
        sent.insert(later, sent[position])
    return sent


# -- the load generator (its own process) -------------------------------------------------


async def _send(port: int, requests: list[bytes], concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    answers: Counter[str] = Counter()
    queue = iter(requests)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for request in queue:
            started = time.perf_counter()
            writer.write(request)
            code = (await reader.readline()).split(b" ", 2)[1].decode()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[code] += 1
            if body.startswith(b"{"):
                answers[str(json.loads(body).get("status"))] += 1
        writer.close()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    latencies.sort()
    return {
        "requests": len(latencies), "seconds": seconds, "per_second": len(latencies) / seconds,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "max_ms": 1000 * latencies[-1], "statuses": dict(statuses), "answers": dict(answers),
        "client_cpu_ms_per_request": 1000 * cpu / len(latencies),
    }  # fmt: skip


def load(args: argparse.Namespace) -> None:
    """The load generator: build its requests, then send them, and print what it saw."""
    if args.load == "healthz":
        requests = [f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\n\r\n".encode()] * args.orders
        orders = 0
    else:
        requests = webhook_requests(args.port, args.first, args.orders, args.seed, args.resend)
        orders = args.orders
    result = asyncio.run(_send(args.port, requests, args.concurrency[0]))
    result["orders"] = orders
    result["orders_per_second"] = orders / result["seconds"]
    print(json.dumps(result))


def run_load(
    port: int, kind: str, count: int, concurrency: int, args: argparse.Namespace, first: int = 0
) -> dict[str, Any]:
    command = [
        sys.executable, __file__, "--load", kind, "--port", str(port), "--orders", str(count),
        "--first", str(first), "--concurrency", str(concurrency), "--seed", str(args.seed + first),
        "--resend", str(args.resend),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# -- the server (its own process) ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    """``retain serve`` itself, with the Shopify secret in its environment."""
    command = [sys.executable, "-c", "from retain.cli import main; main()", "serve"]
    environment = os.environ | {"RETAIN_SHOPIFY_WEBHOOK_SECRET": SECRET}
    server = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--db", url],
        env=environment,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not start")


# -- one database -------------------------------------------------------------------------


def counts(url: str) -> dict[str, int]:
    from retain.store.tables import orders, webhook_deliveries

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            deliveries = webhook_deliveries.c
            found = {
                "orders": connection.scalar(select(func.count()).select_from(orders)),
                "distinct_orders": connection.scalar(select(func.count(orders.c.external_id.distinct()))),
                "deliveries": connection.scalar(select(func.count()).select_from(webhook_deliveries)),
                "pending": connection.scalar(select(func.count()).where(deliveries.processed_at.is_(None))),
                "rejected": connection.scalar(select(func.count()).where(deliveries.error.is_not(None))),
            }
    finally:
        engine.dispose()
    return {k: int(v or 0) for k, v in found.items()}


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) a process has used so far, from Linux's /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench(backend: str, url: str, concurrency: int, args: argparse.Namespace) -> dict[str, Any]:
    from retain.bootstrap import bootstrap

    bootstrap(url).close()  # the schema, before the server starts
    port = free_port()
    server = start_server(url, port)
    try:
        warm = run_load(port, "shopify", args.warmup, concurrency, args, first=args.orders)
        console.print(
            f"{backend}, {concurrency} connections: warmed up with {args.warmup:,} orders "
            f"({warm['orders_per_second']:,.0f}/s)"
        )
        baseline = run_load(port, "healthz", args.orders, concurrency, args)
        console.print(f"{backend}: GET /healthz {baseline['per_second']:,.0f} requests/s")
        cpu, load_before = cpu_seconds(server.pid), os.getloadavg()[0]
        measured = run_load(port, "shopify", args.orders, concurrency, args)
        measured["machine_load"] = [load_before, os.getloadavg()[0]]  # other work on the cores
        measured["server_cpu_ms_per_order"] = 1000 * (cpu_seconds(server.pid) - cpu) / args.orders
        console.print(
            f"{backend}: {args.orders:,} orders in {measured['seconds']:.1f} s, "
            f"{measured['orders_per_second']:,.0f} orders/s, p50 {measured['p50_ms']:.1f} ms, "
            f"p99 {measured['p99_ms']:.1f} ms; the server used {measured['server_cpu_ms_per_order']:.2f} ms "
            "of CPU per order"
        )
    finally:
        server.terminate()
        server.wait(30)
    found = counts(url)
    expected = args.orders + args.warmup
    # 202 is a kept delivery still being applied when its request stopped waiting.
    exactly_once = (
        found["orders"] == found["distinct_orders"] == found["deliveries"] == expected
        and found["pending"] == found["rejected"] == 0
        and set(measured["statuses"]) <= {"200", "202"}
    )
    return {
        "concurrency": concurrency,
        "webhooks": measured,
        "baseline_healthz": baseline,
        "webhooks_over_healthz": measured["per_second"] / baseline["per_second"],
        "warmup": warm,
        "database": found,
        "expected_orders": expected,
        "exactly_once": exactly_once,
        "met": backend != "sqlite"
        or (measured["orders_per_second"] >= TARGET_PER_S and measured["p99_ms"] < TARGET_P99_MS),
    }


def postgres_schema() -> tuple[str, str] | None:
    """A fresh schema on the local server and a URL that lives in it; None when it is away."""
    schema = f"bench_api_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        console.print(f"PostgreSQL skipped: not reachable at {POSTGRES} ({str(exc.orig).splitlines()[0]})")
        return None
    finally:
        admin.dispose()
    separator = "&" if "?" in POSTGRES else "?"
    return schema, f"{POSTGRES}{separator}options=-csearch_path%3D{schema}"


def drop_schema(schema: str) -> None:
    admin = create_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    table = Table(title=f"Shopify orders/create webhooks: {args.orders:,} orders per run")
    for name in ("backend", "conns", "orders/s", "p50 ms", "p99 ms", "202s", "CPU ms", "once", "target"):
        table.add_column(name, justify="left" if name == "backend" else "right")
    for backend, r in runs(results):
        w = r["webhooks"]
        target = ("met" if r["met"] else "MISSED") if backend == "sqlite" else "-"
        table.add_row(
            backend, str(r["concurrency"]), f"{w['orders_per_second']:,.0f}", f"{w['p50_ms']:.1f}",
            f"{w['p99_ms']:.1f}",
            f"{w['statuses'].get('202', 0):,}", f"{w['server_cpu_ms_per_order']:.2f}",
            "yes" if r["exactly_once"] else "NO", target,
        )  # fmt: skip
    console.print()
    console.print(table)
    console.print(
        f"target (SQLite): at least {TARGET_PER_S} orders/s with p99 under {TARGET_P99_MS} ms; "
        "CPU ms: the server's CPU time per order; "
        f"once: every order stored exactly once though {args.resend:.0%} of the deliveries were sent "
        "twice; 202: kept, still being applied when its request stopped waiting"
    )
    for backend, r in runs(results):
        console.print(
            f"{backend}, {r['concurrency']} connections: GET /healthz (the baseline, this server's ceiling "
            f"here) {r['baseline_healthz']['per_second']:,.0f} requests/s; the webhooks ran at "
            f"{r['webhooks_over_healthz']:.0%} of it"
        )
    for backend, r in runs(results):
        before, after = r["webhooks"]["machine_load"]
        console.print(
            f"{backend}, {r['concurrency']} connections: load average {before:.1f} before the run, "
            f"{after:.1f} after ({os.cpu_count()} CPUs)"
        )


def runs(results: dict[str, list[dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    return [(backend, run) for backend, found in results.items() for run in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[32, 64], help="connections, one run each"
    )
    parser.add_argument("--resend", type=float, default=0.1, help="share of deliveries sent twice")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--backend", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/api.json"))
    parser.add_argument("--load", choices=["shopify", "healthz"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        load(args)
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backend:
            for concurrency in args.concurrency:  # a fresh store for each run
                if backend == "sqlite":
                    url = f"sqlite:///{folder}/api-{concurrency}.db"
                    results.setdefault(backend, []).append(bench(backend, url, concurrency, args))
                    continue
                made = postgres_schema()
                if made is None:
                    break
                try:
                    results.setdefault(backend, []).append(bench(backend, made[1], concurrency, args))
                finally:
                    drop_schema(made[0])
    report(results, args)
    summary = {
        "orders": args.orders,
        "resent_share": args.resend,
        "sqlite_target_met": any(r["met"] for r in results.get("sqlite", [])),
        "cpus": os.cpu_count(),
        "targets": {"sqlite_orders_per_second": TARGET_PER_S, "sqlite_p99_ms": TARGET_P99_MS},
        **results,
    }
    args.out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
