"""Discount codes in a real store: issued, exported, and redeemed once by an imported order."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from retain.bootstrap import App
from retain.cli import app as cli_app
from retain.domain.discounts import DiscountError, DiscountSpec, normalise
from retain.ingest.reader import ReadOptions, read_orders
from retain.service.discounts import issue_codes
from retain.service.imports import import_orders
from retain.store.tables import discount_codes, orders

ISSUED = datetime(2025, 3, 1, tzinfo=UTC)
SPEC = DiscountSpec("percent", 15, "USD", purpose="winback")
MAPPING = {"order_key": "order", "customer_id": "customer", "placed_at": "date", "total": "total",
           "discount_codes": "coupon", "cancelled_at": "cancelled"}  # fmt: skip


def _import(app: App, path: Path, rows: list[tuple[str, str, str, str, str]]) -> int:
    path.write_text(
        "order,customer,date,total,coupon,cancelled\n"
        + "".join(f"{o},{c},{d},10.00,{code},{cancelled}\n" for o, c, d, code, cancelled in rows),
        encoding="utf-8",
    )
    options = ReadOptions(mapping=MAPPING, currency="USD", date_format="%Y-%m-%d")
    return import_orders(read_orders(path, "csv", options), app.unit_of_work()).counts.codes_redeemed


def _state(app: App) -> dict[str, tuple[datetime | None, str | None]]:
    with app.engine.connect() as connection:
        rows = connection.execute(
            select(discount_codes.c.code, discount_codes.c.redeemed_at, orders.c.external_id).outerjoin(
                orders, orders.c.id == discount_codes.c.order_id
            )
        ).all()
    return {code: (at, order) for code, at, order in rows}


def test_the_first_order_carrying_a_code_redeems_it_once(app: App, tmp_path: Path) -> None:
    first, second, third, late = issue_codes(app.unit_of_work(), SPEC, ISSUED, count=4)
    redeemed = _import(
        app,
        tmp_path / "orders.csv",
        [
            ("A-1", "c1", "2025-02-20", first, ""),  # placed before the code existed
            ("A-2", "c2", "2025-03-05", first.lower().replace("-", ""), ""),  # written another way
            ("A-3", "c3", "2025-03-06", first, ""),  # a second use: the code is spent
            ("A-4", "c4", "2025-03-07", second, "2025-03-08"),  # cancelled
            ("A-5", "c5", "2025-03-09", f"WELCOME10; {third}", ""),  # beside another code
        ],
    )
    assert redeemed == 2
    state = _state(app)
    assert state[normalise(first)] == (datetime(2025, 3, 5, tzinfo=UTC), "A-2")
    assert state[normalise(second)] == (None, None)
    assert state[normalise(third)][1] == "A-5"
    assert state[normalise(late)] == (None, None)
    # Importing again changes nothing: a redeemed code stays with its first order.
    assert _import(app, tmp_path / "again.csv", [("A-6", "c6", "2025-04-01", first, "")]) == 0
    assert _state(app)[normalise(first)][1] == "A-2"


def test_codes_for_given_customers_are_theirs(app: App, tmp_path: Path) -> None:
    _import(
        app,
        tmp_path / "orders.csv",
        [("A-1", "c1", "2025-02-20", "", ""), ("A-2", "c2", "2025-02-21", "", "")],
    )
    with app.engine.connect() as connection:
        ids = list(connection.scalars(select(orders.c.customer_id).order_by(orders.c.external_id)))
    codes = issue_codes(app.unit_of_work(), SPEC, ISSUED, customer_ids=ids)
    with app.engine.connect() as connection:
        rows = connection.execute(select(discount_codes.c.code, discount_codes.c.customer_id))
        owners = {row.code: row.customer_id for row in rows}
    assert [owners[normalise(c)] for c in codes] == ids


def test_an_impossible_batch_writes_nothing(app: App) -> None:
    with pytest.raises(DiscountError, match="count"):
        issue_codes(app.unit_of_work(), SPEC, ISSUED, count=0)
    expired = DiscountSpec("fixed", 500, "USD", expires_at=datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(DiscountError, match="already passed"):
        issue_codes(app.unit_of_work(), expired, ISSUED, count=3)
    with pytest.raises(DiscountError, match="customer_ids: no customer 404"):
        issue_codes(app.unit_of_work(), SPEC, ISSUED, customer_ids=[404])
    with app.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(discount_codes)) == 0


def test_the_cli_creates_exports_and_counts_codes(cli: CliRunner, app: App, tmp_path: Path) -> None:
    created = cli.invoke(
        cli_app,
        ["codes", "create", "--kind", "fixed", "--value", "10.00", "--count", "3", "--min-order", "50",
         "--valid-days", "30", "--purpose", "winback", "--currency", "EUR", "--db", app.url],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert "Created 3 EUR 10.00 off on orders from EUR 50.00" in " ".join(created.output.split())
    out = tmp_path / "codes.csv"
    exported = cli.invoke(cli_app, ["codes", "export", str(out), "--db", app.url])
    assert exported.exit_code == 0, exported.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3
    assert {(r["kind"], r["value"], r["currency"], r["minimum_order"], r["purpose"]) for r in rows} == {
        ("fixed", "10.00", "EUR", "50.00", "winback")
    }
    assert all(r["code"] in created.output for r in rows)
    listed = cli.invoke(cli_app, ["codes", "list", "--db", app.url])
    assert "winback" in listed.output
    assert "0.0%" in listed.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--kind", "percent", "--value", "150"], "value: a percent discount takes 1 to 100"),
        (["--kind", "fixed", "--value", "ten"], "--value: 'ten' is not an amount"),
        (["--kind", "coupon"], "kind: 'coupon' is not one of"),
    ],
)
def test_the_cli_refuses_a_bad_code_in_one_line(
    cli: CliRunner, app: App, arguments: list[str], message: str
) -> None:
    result = cli.invoke(cli_app, ["codes", "create", *arguments, "--db", app.url])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    with app.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(discount_codes)) == 0
