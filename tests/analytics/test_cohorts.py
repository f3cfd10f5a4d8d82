"""The cohort triangle, asserted whole as a literal table from a literal history."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from retain.analytics.cohorts import cohort_table
from retain.bootstrap import App
from retain.cli import app as cli_app
from retain.ingest.reader import read_orders
from retain.service.imports import import_orders
from tests.analytics.history import history
from tests.conftest import DATA

STORE = history(
    (1, "2025-01-05", 1_000), (1, "2025-02-10", 500), (1, "2025-02-20", 500), (1, "2025-04-01", 700),
    (2, "2025-01-31 23:30", 2_000),  # 18:30 on 31 January in New York, still January there
    (3, "2025-02-01 02:00", 300), (3, "2025-03-15", 300),  # 21:00 on 31 January in New York
    (4, "2025-02-14", 900),
)  # fmt: skip


def test_the_retention_and_revenue_triangles_by_month() -> None:
    table = cohort_table(STORE, "month")
    assert [(c.start, c.size, c.active, c.revenue) for c in table.cohorts] == [
        (date(2025, 1, 1), 2, (2, 1, 0, 1), (3_000, 1_000, 0, 700)),
        (date(2025, 2, 1), 2, (2, 1, 0), (1_200, 300, 0)),
    ]
    assert table.cohorts[0].retention == (1.0, 0.5, 0.0, 0.5)


def test_months_follow_the_store_time_zone() -> None:
    table = cohort_table(STORE, "month", "America/New_York")
    # There, customer 3 started in January and customer 1's April order fell on 31 March.
    assert [(c.start, c.size, c.active) for c in table.cohorts] == [
        (date(2025, 1, 1), 3, (3, 1, 2)),
        (date(2025, 2, 1), 1, (1, 0)),
    ]


def test_quarters_group_three_months() -> None:
    table = cohort_table(STORE, "quarter")
    assert [(table.label(c.start), c.size, c.active) for c in table.cohorts] == [("2025-Q1", 4, (4, 1))]


def test_the_cli_writes_csv_json_and_a_heatmap(cli: CliRunner, sqlite_app: App, tmp_path: Path) -> None:
    import json

    import_orders(read_orders(DATA / "shopify" / "orders_export.csv"), sqlite_app.unit_of_work())
    csv_file, png = tmp_path / "cohorts.csv", tmp_path / "cohorts.png"
    result = cli.invoke(
        cli_app, ["cohorts", "--csv", str(csv_file), "--plot", str(png), "--db", sqlite_app.url]
    )
    assert result.exit_code == 0, result.output
    assert csv_file.read_text(encoding="utf-8").splitlines() == [
        "cohort,size,period_0,period_1,period_2",
        "2025-01,1,1.0,0.0,1.0",  # Maria: January, then March
        "2025-02,1,1.0,0.0",  # John: February (Li's order was cancelled)
    ]
    assert png.read_bytes().startswith(b"\x89PNG")
    result = cli.invoke(cli_app, ["cohorts", "--metric", "revenue", "--json", "--db", sqlite_app.url])
    assert json.loads(result.output)["cohorts"][0] == {
        "cohort": "2025-01",
        "size": 1,
        "values": [56.16, 0.0, 26.82],
    }
