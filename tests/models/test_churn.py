"""The supervised churn model against BG/NBD's ranking, on a fixed synthetic store."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retain.analytics.engine import Analytics
from retain.analytics.models.bgnbd import FitError
from retain.analytics.models.churn import evaluate_churn_model
from retain.bootstrap import bootstrap
from retain.cli import app as cli_app
from retain.demo.generator import generate_store
from retain.ingest.reader import read_orders
from retain.service.imports import import_orders

LAST_DAY = date(2025, 12, 31)


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder: Path = tmp_path_factory.mktemp("churn")
    store = generate_store(folder / "files", customers=3000, seed=11, start=date(2023, 1, 1), end=LAST_DAY)
    url = f"sqlite:///{folder / 'store.db'}"
    app = bootstrap(url)
    import_orders(read_orders(store.orders_csv), app.unit_of_work())
    app.close()
    return url


def test_both_rankings_are_judged_on_the_temporal_holdout(store_url: str) -> None:
    report = evaluate_churn_model(Analytics.from_store(store_url), LAST_DAY, horizon_days=90)
    assert report.holdout_cutoff == date(2025, 10, 2)
    assert report.training_rows > report.holdout_rows > 0
    assert 0.6 < report.auc_model < 1
    assert 0.6 < report.auc_btyd < 1
    assert report.use_model == (report.auc_model > report.auc_btyd)
    predicted = [p for p, _, _ in report.calibration]
    observed = [o for _, o, _ in report.calibration]
    assert predicted == sorted(predicted)
    assert observed[-1] > observed[0]  # the top decile really orders again more


def test_too_little_history_is_refused(store_url: str) -> None:
    with pytest.raises(FitError):
        evaluate_churn_model(Analytics.from_store(store_url), date(2023, 3, 1), horizon_days=90)


def test_the_cli_prints_the_comparison(cli: CliRunner, store_url: str) -> None:
    result = cli.invoke(cli_app, ["models", "churn", "--last-day", "2025-12-31", "--json", "--db", store_url])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"auc_model", "auc_btyd", "brier_model", "calibration", "use_model"}
