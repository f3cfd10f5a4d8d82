"""Sending at scale: render and deliver personalized e-mails to an SMTP sink on loopback.

A SQLite store of N customers (default 100,000), each with consent and one order of two
products, receives the ``thank_you`` template through the whole send path: consent checks,
personalization from the store, MJML compiled by mrml, tracked links, MIME, SMTP, and a
row per message. The SMTP server is bench/smtp_sink.py, a lean sink in a separate process, on 127.0.0.1.

Measured, each alone:
- render: filling in and compiling the template for every customer (no MIME, no SMTP);
- raw SMTP, the named baseline: the same number of prebuilt messages handed to the sink
  over one smtplib connection, the ceiling any sender in Python reaches on this machine;
- end to end: ``retain.mailer.send``, everything above plus the store.
Target: end to end at least 1,000 e-mails a second.

    python bench/send.py [--customers 100000] [--out bench/results/send.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import insert

from retain.bootstrap import App, bootstrap
from retain.config import Settings
from retain.domain.messages import Mailbox, OutgoingEmail
from retain.domain.personalization import Brand, Links, MessageContext, OrderView, ProductView, customer_view
from retain.mailer import load_templates, save_brand, send
from retain.messaging.mime import message_bytes
from retain.messaging.templating import sample_context
from retain.service.outreach import Campaign
from retain.store.tables import customers, order_lines, orders

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
BRAND = Brand(
    store_name="Fernwood Coffee",
    sender_name="Fernwood Coffee",
    sender_address="hello@fernwood.example",
    postal_address="12 Mill Lane, Bristol BS1 4DJ, United Kingdom",
    shop_url="https://fernwood.example",
)
FIRST = ["Ada", "Grace", "Alan", "Maria", "Li", "Noah", "Sofia", "", "Amara", "Kenji"]
LAST = ["Lovelace", "Hopper", "Turing", "Garcia", "Wei", "Smith", "Rossi", "", "Okafor", "Sato"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_sink(port: int) -> subprocess.Popen[bytes]:
    """bench/smtp_sink.py (accepts and discards) in its own process."""
    sink = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("smtp_sink.py")), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return sink
        except OSError:
            time.sleep(0.1)
    sink.kill()
    raise RuntimeError("the SMTP sink did not start")


def make_store(url: str, count: int) -> App:
    app = bootstrap(url)
    app.now = lambda: NOW
    save_brand(app, BRAND)
    people, placed, lines = [], [], []
    for i in range(1, count + 1):
        name = f"{FIRST[i % 10]} {LAST[(i // 10) % 10]}".strip()
        people.append(
            {
                "id": i, "external_id": f"C{i:07d}", "email": f"customer{i}@example.com",
                "name": name or None, "marketing_consent": True, "consent_source": "checkout",
                "consent_at": NOW, "attributes": {},
            }
        )  # fmt: skip
        when = NOW - timedelta(days=1 + i % 30)
        placed.append(
            {
                "id": i, "external_id": f"#{1000 + i}", "customer_id": i, "placed_at": when,
                "currency": "USD", "subtotal": 3450, "discounts": 0, "shipping": 450, "tax": 0, "total": 3900,
                "refunded": 0,
                "financial_status": "paid", "item_count": 2, "content_hash": f"{i:032x}",
            }
        )  # fmt: skip
        lines.append({"order_id": i, "position": 1, "title": "Ethiopia Yirgacheffe - 250g", "quantity": 1,
                      "unit_price": 1400, "line_discount": 0})  # fmt: skip
        lines.append({"order_id": i, "position": 2, "title": "Colombia Huila - 1kg", "quantity": 1,
                      "unit_price": 2050, "line_discount": 0})  # fmt: skip
    with app.engine.begin() as connection:
        for table, rows in ((customers, people), (orders, placed), (order_lines, lines)):
            for start in range(0, len(rows), 20_000):
                connection.execute(insert(table), rows[start : start + 20_000])
    return app


def render_only(app: App, count: int) -> float:
    templates = load_templates(app)
    products = (ProductView("Ethiopia Yirgacheffe - 250g", "Coffee", "$14.00"),)
    started = time.perf_counter()
    for i in range(count):
        context = MessageContext(
            customer=customer_view(FIRST[i % 10], LAST[(i // 10) % 10], f"customer{i}@example.com"),
            store=BRAND,
            links=Links(
                BRAND.shop_url, f"https://r.example/u/{i}", f"https://r.example/p/{i}", "https://r.example/c"
            ),
            last_order=OrderView(f"#{1000 + i}", NOW.date(), "$39.00", products),
        )
        templates.render("thank_you", context)
    return time.perf_counter() - started


def raw_smtp(app: App, port: int, count: int) -> float:
    """The baseline: prebuilt messages of the same size over one connection, nothing else."""
    sender = Mailbox(BRAND.sender_address, BRAND.sender_name)
    sample = load_templates(app).render("thank_you", sample_context())
    data = [
        message_bytes(
            OutgoingEmail(
                f"raw:{i}", f"customer{i}@example.com", "", sender, sample.subject, sample.text, sample.html
            ),
            NOW,
        )
        for i in range(count)
    ]
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i, message in enumerate(data):
            smtp.sendmail(BRAND.sender_address, [f"customer{i}@example.com"], message)
    return time.perf_counter() - started


def end_to_end(app: App, port: int, count: int, outbox: Path) -> tuple[float, int]:
    settings = Settings(
        smtp_url=SecretStr(f"smtp://127.0.0.1:{port}"),
        public_url="https://retain.fernwood.example",
        secret_key=SecretStr("bench-secret-key-of-enough-length"),
    )
    started = time.perf_counter()
    report = send(app, Campaign("bench", "thank_you"), list(range(1, count + 1)), outbox, settings=settings)
    return time.perf_counter() - started, report.sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path("bench/results/send.json"))
    args = parser.parse_args()
    count = args.customers
    port = free_port()
    sink = start_sink(port)
    try:
        with tempfile.TemporaryDirectory() as folder:
            built = time.perf_counter()
            app = make_store(f"sqlite:///{folder}/send.db", count)
            setup = time.perf_counter() - built
            render_s = render_only(app, count)
            raw_s = raw_smtp(app, port, count)
            e2e_s, sent = end_to_end(app, port, count, Path(folder) / "outbox")
            app.close()
    finally:
        sink.terminate()
        received = int((sink.communicate(timeout=10)[0] or b"0").strip() or 0)
    if sent != count or received != 2 * count:
        raise SystemExit(f"{sent:,} of {count:,} sent; the sink accepted {received:,} of {2 * count:,}")
    rows = {
        "render only": render_s,
        "raw SMTP (baseline)": raw_s,
        "end to end": e2e_s,
    }
    print(f"{count:,} e-mails (store built in {setup:.1f} s)")
    print(f"{'step':<22}{'seconds':>10}{'e-mails/s':>12}")
    for name, seconds in rows.items():
        print(f"{name:<22}{seconds:>10.2f}{count / seconds:>12,.0f}")
    ratio = e2e_s / raw_s
    rate = count / e2e_s
    print(f"end to end takes {ratio:.2f}x the raw SMTP time; target >= 1,000 e-mails/s: "
          f"{'met' if rate >= 1000 else 'MISSED'} ({rate:,.0f}/s)")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak memory: {peak:.2f} GiB")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "customers": count,
        "seconds": rows,
        "per_second": {name: count / s for name, s in rows.items()},
        "end_to_end_over_raw_smtp": ratio,
        "target_per_second": 1000,
        "met": rate >= 1000,
        "peak_gib": peak,
    }
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
