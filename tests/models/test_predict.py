"""`retain predict` on the CDNOW sample: scores stored, sane, and unit-free."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from retain.analytics.engine import Analytics
from retain.analytics.models.predict import score_customers
from retain.bootstrap import App, bootstrap
from retain.cli import app as cli_app
from retain.store.tables import customer_scores, customers
from tests.models.conftest import CALIBRATION_END


def test_scores_do_not_depend_on_the_time_unit_of_the_fit(cdnow: Analytics) -> None:
    scores = score_customers(cdnow, CALIBRATION_END, horizon_days=273)
    # Customer 1 has x=2, t_x=30.43, T=38.86 weeks: FHL 2005 expect 1.226 orders in 39 weeks.
    first = int(np.flatnonzero(scores.customer_id == 1)[0])
    assert scores.predicted_orders[first] == pytest.approx(1.226, abs=1e-3)


def test_scores_are_probabilities_counts_and_money(cdnow: Analytics) -> None:
    s = score_customers(cdnow, CALIBRATION_END, horizon_days=365, gross_margin=0.5)
    assert len(s.customer_id) == 2_357
    assert np.all((s.p_alive >= 0) & (s.p_alive <= 1))
    assert np.all(s.predicted_orders >= 0)
    assert np.all(s.predicted_clv >= 0)
    assert np.all(s.total_clv >= s.historic_clv)
    known = s.expected_next_order[~np.isnat(s.expected_next_order)]
    assert 0 < known.size < len(s.customer_id)
    assert np.all(known > np.datetime64(CALIBRATION_END))
    full = score_customers(cdnow, CALIBRATION_END, horizon_days=365)
    assert float(s.predicted_clv.sum()) == pytest.approx(float(full.predicted_clv.sum()) * 0.5)


def test_churn_is_bgnbd_unless_the_supervised_model_is_applied(cdnow: Analytics) -> None:
    s = score_customers(cdnow, CALIBRATION_END)
    assert np.all((s.churn_probability >= 1 - s.p_alive - 1e-12) & (s.churn_probability <= 1))
    assert (s.churn_choice.source, s.churn_choice.auc_model, s.model) == ("bgnbd", None, "bgnbd+gamma-gamma")


def test_the_cli_stores_scores_and_prints_them(cli: CliRunner, tmp_path: Path) -> None:
    from retain.ingest.reader import read_orders
    from retain.service.imports import import_orders
    from tests.conftest import DATA

    url = f"sqlite:///{tmp_path / 'store.db'}"
    app = bootstrap(url)
    import_orders(read_orders(DATA / "cdnow" / "CDNOW_sample.txt"), app.unit_of_work())
    result = cli.invoke(cli_app, ["predict", "--as-of", "1997-09-30", "--json", "--db", url])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)  # the churn source goes to stderr
    assert (
        "Churn probability: BG/NBD, 1 - P(orders again within 90 days); the supervised model does not rank"
        in result.stderr
    )
    assert len(rows) == 2_357
    assert set(rows[0]) >= {"p_alive", "churn_probability", "predicted_orders", "predicted_clv", "total_clv"}
    with app.engine.connect() as connection:
        stored = connection.scalar(select(func.count()).select_from(customer_scores))
        as_of = connection.scalar(select(func.max(customer_scores.c.as_of)))
        known = connection.scalar(select(func.count()).select_from(customers))
    app.close()
    assert (stored, as_of, known) == (2_357, date(1997, 9, 30), 2_357)
    assert all(1 - row["p_alive"] - 1e-12 <= row["churn_probability"] <= 1 for row in rows)
    again = cli.invoke(cli_app, ["predict", "--as-of", "1997-06-30", "--db", url])
    assert again.exit_code == 0, again.output
    # The only training cutoff before the churn holdout, 1997-01-01, has too few customers.
    assert (
        "Churn probability: BG/NBD, 1 - P(orders again within 90 days); "
        "the supervised model could not be judged: "
        "not enough history before the holdout to train the churn model."
    ) in " ".join(again.output.split())


def test_too_little_history_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = cli.invoke(cli_app, ["predict", "--db", url])
    assert result.exit_code == 2
    assert "no orders yet" in result.output


def test_segments_can_use_the_stored_scores(app: App) -> None:
    from datetime import UTC, datetime

    from retain.analytics.segments import Segmenter
    from retain.cli.predict import score_rows
    from retain.domain.conditions import compile_rule
    from retain.domain.segments import CUSTOMER_FIELDS
    from retain.ingest.reader import read_orders
    from retain.service.imports import import_orders
    from retain.service.scores import store_scores
    from tests.conftest import DATA

    import_orders(read_orders(DATA / "cdnow" / "CDNOW_sample.txt"), app.unit_of_work())
    scores = score_customers(Analytics.from_store(app.url), CALIBRATION_END)
    store_scores(app.unit_of_work(), score_rows(scores))
    segmenter = Segmenter(Analytics.from_store(app.url, scores=True), datetime(1997, 10, 1, tzinfo=UTC))
    at_risk = segmenter.members(
        compile_rule({"field": "churn_probability", "op": ">", "value": 0.7}, CUSTOMER_FIELDS)
    )
    expected = sorted(
        int(c) for c, churn in zip(scores.customer_id, scores.churn_probability, strict=True) if churn > 0.7
    )
    assert at_risk == expected
    assert 0 < len(at_risk) < 2_357
