"""`retain fit` from the command line on the CDNOW sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retain.bootstrap import bootstrap
from retain.cli import app as cli_app
from retain.ingest.reader import read_orders
from retain.service.imports import import_orders
from tests.conftest import DATA


@pytest.fixture(scope="module")
def cdnow_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder: Path = tmp_path_factory.mktemp("fitcli")
    url = f"sqlite:///{folder / 'cdnow.db'}"
    app = bootstrap(url)
    import_orders(read_orders(DATA / "cdnow" / "CDNOW_sample.txt"), app.unit_of_work())
    app.close()
    return url


@pytest.mark.parametrize(
    ("model", "first", "value", "customers"),
    [("bgnbd", "r", 0.243, 2_357), ("pareto-nbd", "s", 0.606, 2_357), ("gamma-gamma", "gamma", 15.44, 946)],
)
def test_fit_prints_the_documented_json(
    cli: CliRunner, cdnow_url: str, model: str, first: str, value: float, customers: int
) -> None:
    result = cli.invoke(
        cli_app, ["fit", model, "--calibration-end", "1997-09-30", "--json", "--db", cdnow_url]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"model", "params", "log_likelihood", "customers"}
    assert data["params"][first] == pytest.approx(value, abs=5e-3)
    assert data["customers"] == customers


def test_too_little_history_is_refused(cli: CliRunner, cdnow_url: str) -> None:
    result = cli.invoke(cli_app, ["fit", "bgnbd", "--calibration-end", "1997-01-02", "--db", cdnow_url])
    assert result.exit_code == 2
    assert "the models need at least 200" in result.output
