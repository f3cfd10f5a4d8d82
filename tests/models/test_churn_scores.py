"""Where the supervised churn model beats BG/NBD, `retain predict` stores its churn probability.

The store is made of regular buyers: each orders every 40 to 120 days (give or take two)
until they stop for good. BG/NBD assumes orders come at random (Poisson), so it cannot see
that a regular buyer's next order is due; the supervised model's overdue feature can.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from retain.analytics.engine import Analytics
from retain.analytics.models.churn import apply_churn_model, score_churn
from retain.analytics.models.predict import score_customers
from retain.bootstrap import bootstrap
from retain.cli import app as cli_app
from retain.ingest.reader import read_orders
from retain.service.imports import import_orders
from retain.store.tables import customer_scores

START = date(2024, 1, 1)
LAST_DAY = START + timedelta(days=540)
HORIZON = 30


def _regular_buyers(path: Path, customers: int = 600, seed: int = 3) -> None:
    """Orders in the CDNOW text layout: customer, id, YYYYMMDD, quantity, amount."""
    rng = np.random.default_rng(seed)
    lines = []
    for customer in range(1, customers + 1):
        first, gap = int(rng.integers(0, 90)), int(rng.integers(40, 120))
        stop, mean_spend = first + rng.exponential(400), rng.gamma(4, 8)
        day = first
        while day <= min(stop, (LAST_DAY - START).days):
            placed = START + timedelta(days=day)
            spend = rng.gamma(6, mean_spend / 6)
            lines.append(f"{customer:05d} {customer:04d} {placed:%Y%m%d} 1 {spend:.2f}")
            day += gap + int(rng.integers(-2, 3))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder: Path = tmp_path_factory.mktemp("regular")
    _regular_buyers(folder / "orders.txt")
    url = f"sqlite:///{folder / 'store.db'}"
    app = bootstrap(url)
    import_orders(read_orders(folder / "orders.txt"), app.unit_of_work())
    app.close()
    return url


def test_where_the_model_ranks_better_its_churn_probability_is_used(store_url: str) -> None:
    analytics = Analytics.from_store(store_url)
    scores = score_customers(analytics, LAST_DAY)
    chosen = apply_churn_model(scores, analytics, horizon_days=HORIZON)
    supervised = score_churn(analytics, LAST_DAY, horizon_days=HORIZON)
    choice = chosen.churn_choice
    assert (choice.source, choice.horizon_days) == ("supervised", HORIZON)
    assert choice.auc_model == supervised.report.auc_model
    assert choice.auc_btyd == supervised.report.auc_btyd
    assert choice.auc_model is not None
    assert choice.auc_btyd is not None
    assert choice.auc_model > choice.auc_btyd + 0.05
    assert chosen.model == "bgnbd+gamma-gamma+churn-hgb"
    np.testing.assert_array_equal(supervised.customer_id, scores.customer_id)
    np.testing.assert_array_equal(chosen.churn_probability, supervised.churn_probability)
    assert not np.allclose(chosen.churn_probability, 1 - scores.p_alive)
    np.testing.assert_array_equal(chosen.p_alive, scores.p_alive)  # the rest is untouched
    np.testing.assert_array_equal(chosen.predicted_clv, scores.predicted_clv)


def test_regular_buyers_who_are_overdue_are_the_likely_churners(store_url: str) -> None:
    analytics = Analytics.from_store(store_url)
    supervised = score_churn(analytics, LAST_DAY, horizon_days=HORIZON)
    summary = score_customers(analytics, LAST_DAY)
    repeat = ~np.isnan(summary.average_days_between_orders)
    days = analytics.connection.execute(
        "SELECT customer_id, max(placed_at::DATE) AS last FROM orders GROUP BY ALL ORDER BY customer_id"
    ).fetchnumpy()
    since = (np.datetime64(LAST_DAY) - days["last"].astype("datetime64[D]")).astype(np.float64)
    overdue = since / summary.average_days_between_orders
    churn = supervised.churn_probability
    # Due within the horizon: still ordering, next order close. Three gaps late: gone.
    due = repeat & (overdue > 0.6) & (overdue < 0.9)
    gone = repeat & (overdue > 3)
    assert due.sum() > 10
    assert gone.sum() > 10
    assert churn[due].mean() < 0.5 < churn[gone].mean()


def test_predict_says_the_supervised_churn_is_used_and_stores_it(cli: CliRunner, store_url: str) -> None:
    args = ["predict", "--as-of", f"{LAST_DAY}", "--churn-horizon", str(HORIZON), "--db", store_url]
    result = cli.invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    supervised = score_churn(Analytics.from_store(store_url), LAST_DAY, horizon_days=HORIZON)
    report = supervised.report
    assert f"Churn probability: the supervised model, 1 - P(orders again within {HORIZON} days)" in output
    assert f"holdout AUC {report.auc_model:.3f} against BG/NBD's {report.auc_btyd:.3f}" in output
    app = bootstrap(store_url)
    with app.engine.connect() as connection:
        stored = connection.execute(
            select(
                customer_scores.c.customer_id, customer_scores.c.model, customer_scores.c.churn_probability
            ).order_by(customer_scores.c.customer_id)
        ).all()
    app.close()
    assert {model for _, model, _ in stored} == {"bgnbd+gamma-gamma+churn-hgb"}
    assert [c for c, _, _ in stored] == supervised.customer_id.tolist()
    np.testing.assert_allclose([p for _, _, p in stored], supervised.churn_probability)
    plain = cli.invoke(cli_app, [*args, "--no-churn-model", "--json"])
    assert plain.exit_code == 0, plain.output
    assert "the supervised churn model was not tried" in plain.stderr
