"""The supervised churn model against BG/NBD's ranking, on a fixed synthetic store."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from retain.analytics.engine import Analytics
from retain.analytics.models.churn import (
    ChurnReport,
    apply_churn_model,
    churn_choice,
    evaluate_churn_model,
    score_churn,
)
from retain.analytics.models.numerics import FitError
from retain.analytics.models.predict import score_customers
from retain.bootstrap import bootstrap
from retain.cli import app as cli_app
from retain.demo.generator import generate_store
from retain.ingest.reader import read_orders
from retain.service.imports import import_orders
from retain.store.tables import customer_scores

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
    for false_positive, true_positive in (report.roc_model, report.roc_btyd):
        assert (false_positive[0], true_positive[0], false_positive[-1], true_positive[-1]) == (0, 0, 1, 1)
        assert false_positive == sorted(false_positive)
        assert true_positive == sorted(true_positive)
    # The area under each stored curve is the reported AUC.
    assert np.trapezoid(report.roc_model[1], report.roc_model[0]) == pytest.approx(report.auc_model)
    assert np.trapezoid(report.roc_btyd[1], report.roc_btyd[0]) == pytest.approx(report.auc_btyd)


def test_too_little_history_is_refused(store_url: str) -> None:
    with pytest.raises(FitError):
        evaluate_churn_model(Analytics.from_store(store_url), date(2023, 3, 1), horizon_days=90)


def test_the_cli_prints_the_comparison(cli: CliRunner, store_url: str) -> None:
    result = cli.invoke(cli_app, ["models", "churn", "--last-day", "2025-12-31", "--json", "--db", store_url])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"auc_model", "auc_btyd", "brier_model", "calibration", "use_model"}


def _report(auc_model: float, auc_btyd: float) -> ChurnReport:
    return ChurnReport(
        horizon_days=90, holdout_cutoff=date(2025, 10, 2), training_rows=900, holdout_rows=300,
        auc_model=auc_model, auc_btyd=auc_btyd, brier_model=0.1, calibration=[],
        roc_model=([0, 1], [0, 1]), roc_btyd=([0, 1], [0, 1]),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("auc_model", "auc_btyd", "source"),
    [(0.81, 0.79, "supervised"), (0.79, 0.81, "bgnbd"), (0.80, 0.80, "bgnbd")],
)
def test_the_supervised_churn_is_chosen_only_when_its_auc_is_higher(
    auc_model: float, auc_btyd: float, source: str
) -> None:
    choice = churn_choice(_report(auc_model, auc_btyd))
    assert choice.source == source
    assert (choice.auc_model, choice.auc_btyd, choice.horizon_days) == (auc_model, auc_btyd, 90)
    assert f"{auc_model:.3f}" in choice.reason
    assert f"{auc_btyd:.3f}" in choice.reason


def test_where_bgnbd_ranks_better_its_churn_is_kept(store_url: str) -> None:
    analytics = Analytics.from_store(store_url)
    scores = score_customers(analytics, LAST_DAY)
    chosen = apply_churn_model(scores, analytics, horizon_days=90)
    report = evaluate_churn_model(analytics, LAST_DAY, horizon_days=90)
    assert report.auc_btyd > report.auc_model  # this store follows the BG/NBD story
    assert chosen.churn_choice == churn_choice(report)
    assert chosen.churn_choice.source == "bgnbd"
    assert chosen.model == "bgnbd+gamma-gamma"
    np.testing.assert_array_equal(chosen.churn_probability, scores.churn_probability)


def test_the_supervised_model_scores_every_customer_at_the_as_of_day(store_url: str) -> None:
    analytics = Analytics.from_store(store_url)
    churn = score_churn(analytics, LAST_DAY, horizon_days=90)
    assert churn.report == evaluate_churn_model(analytics, LAST_DAY, horizon_days=90)
    np.testing.assert_array_equal(churn.customer_id, score_customers(analytics, LAST_DAY).customer_id)
    assert np.all((churn.churn_probability > 0) & (churn.churn_probability < 1))
    # The model learned that those who ordered lately come back: compare the extremes.
    days = analytics.connection.execute(
        "SELECT customer_id, max(placed_at::DATE) AS last FROM orders WHERE placed_at::DATE <= $day"
        " GROUP BY ALL ORDER BY customer_id",
        {"day": LAST_DAY},
    ).fetchnumpy()
    np.testing.assert_array_equal(days["customer_id"], churn.customer_id)
    since = (np.datetime64(LAST_DAY) - days["last"].astype("datetime64[D]")).astype(int)
    assert churn.churn_probability[since <= 30].mean() < churn.churn_probability[since > 365].mean()


def test_too_little_history_keeps_bgnbd_and_says_why(store_url: str) -> None:
    analytics = Analytics.from_store(store_url)
    scores = score_customers(analytics, date(2023, 6, 30))
    chosen = apply_churn_model(scores, analytics, horizon_days=90)
    assert chosen.churn_choice.source == "bgnbd"
    assert "not enough history" in chosen.churn_choice.reason
    assert chosen.churn_choice.auc_model is None
    np.testing.assert_array_equal(chosen.churn_probability, scores.churn_probability)


def test_predict_says_bgnbd_churn_is_used_and_why(cli: CliRunner, store_url: str) -> None:
    result = cli.invoke(cli_app, ["predict", "--as-of", "2025-12-31", "--db", store_url])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    report = evaluate_churn_model(Analytics.from_store(store_url), LAST_DAY, horizon_days=90)
    assert (
        "Churn probability: BG/NBD, 1 - P(orders again within 90 days); the supervised model does not rank"
        in output
    )
    assert f"holdout AUC {report.auc_model:.3f} against BG/NBD's {report.auc_btyd:.3f}" in output
    app = bootstrap(store_url)
    with app.engine.connect() as connection:
        stored = connection.execute(
            select(customer_scores.c.model, customer_scores.c.p_alive, customer_scores.c.churn_probability)
        ).all()
    app.close()
    assert {model for model, _, _ in stored} == {"bgnbd+gamma-gamma"}
    # No order in 90 days is likelier than having left for good.
    assert all(1 - alive - 1e-12 <= churn <= 1 for _, alive, churn in stored)
