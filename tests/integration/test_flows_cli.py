"""``retain flows`` and ``retain worker`` on a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.integration.conftest import run

LIBRARY = {
    "anniversary", "birthday", "new-customer-thank-you", "newsletter", "points-expiring", "points-update",
    "post-purchase", "replenishment", "second-purchase-nudge", "warning-signs", "we-miss-you", "win-back",
    "feedback-acknowledgement", "ticket-csat", "nps-survey",
}  # fmt: skip
BRAND = [
    "messages", "brand", "--store-name", "Fernwood", "--sender", "hello@fernwood.example",
    "--postal-address", "12 Mill Lane", "--shop-url", "https://fernwood.example",
]  # fmt: skip


@pytest.fixture
def store(shop: str) -> str:
    return shop


def test_the_library_is_listed_with_only_the_service_flows_enabled(cli: CliRunner, store: str) -> None:
    code, output = run(cli, store, "flows", "list", "--json")
    assert code == 0
    rows = json.loads(output)
    assert {r["name"] for r in rows} == LIBRARY
    assert {r["name"] for r in rows if r["enabled"]} == {"feedback-acknowledgement", "ticket-csat"}


def test_enabling_an_unknown_flow_is_refused(cli: CliRunner, store: str) -> None:
    code, output = run(cli, store, "flows", "enable", "no-such-flow")
    assert code == 2
    assert "no flow 'no-such-flow'" in output


def test_validate_names_the_line(cli: CliRunner, store: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\ntitle: Bad\ntrigger: {kind: event, event: order_placed}\nsteps:\n"
        "  - {id: a, type: send, template: thank_you}\n  - {id: b, type: send, template: thanks}\n",
        encoding="utf-8",
    )
    code, output = run(cli, store, "flows", "validate", str(bad))
    assert code == 2
    assert "bad.yaml:6" in output
    assert "unknown template 'thanks'" in output
    good = tmp_path / "good.yaml"
    good.write_text(
        bad.read_text(encoding="utf-8").replace("template: thanks", "template: tips"), encoding="utf-8"
    )
    code, output = run(cli, store, "flows", "validate", str(good))
    assert code == 0, output
    assert "is valid (2 steps)" in output


def test_a_simulation_runs_the_enabled_flows_and_the_report_measures_them(
    cli: CliRunner, store: str, tmp_path: Path
) -> None:
    assert run(cli, store, *BRAND)[0] == 0
    assert run(cli, store, "flows", "enable", "new-customer-thank-you")[0] == 0
    code, output = run(cli, store, "flows", "simulate", "--days", "70", "--outbox", str(tmp_path / "sim"))
    assert code == 0, output
    assert "Replayed 70 days" in output
    # The 70 days before the last order (11 March) hold Maria's and John's first orders:
    # both are thanked, unless held out; Maria's second order enters nobody.
    code, output = run(cli, store, "flows", "report", "new-customer-thank-you", "--json")
    assert code == 0
    report = json.loads(output)
    assert report["treated"]["customers"] + report["holdout"]["customers"] == 2
    sent = list((tmp_path / "sim").glob("*.eml"))
    assert len(sent) == report["treated"]["customers"]


def test_a_worker_needs_a_brand_and_then_runs_a_round(cli: CliRunner, store: str) -> None:
    assert run(cli, store, "flows", "enable", "birthday")[0] == 0
    code, output = run(cli, store, "worker", "--once")
    assert code == 2
    assert "retain messages brand" in output
    assert run(cli, store, *BRAND)[0] == 0
    code, output = run(cli, store, "worker", "--once")
    assert code == 0, output
    assert "Worker stopped after 1 round(s)." in output
