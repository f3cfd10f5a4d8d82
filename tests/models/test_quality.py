"""The model-quality figures and report on the CDNOW sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from retain.analytics.engine import Analytics
from retain.analytics.models.churn import evaluate_churn_model
from retain.analytics.models.quality import model_quality
from retain.cli import app as cli_app
from tests.models.conftest import CALIBRATION_END, HOLDOUT_END


def test_actual_cumulative_transactions_are_the_published_counts(cdnow: Analytics) -> None:
    quality = model_quality(cdnow, CALIBRATION_END, HOLDOUT_END)
    assert quality.calibration_periods == 39
    assert len(quality.actual_cumulative) == 78
    assert (quality.actual_cumulative[38], quality.actual_cumulative[77]) == (2_457, 4_339)
    assert abs(quality.expected_cumulative[77] - 4_339) / 4_339 < 0.05
    assert round(quality.correlation, 2) == 0.63


def test_more_calibration_purchases_mean_more_holdout_purchases(cdnow: Analytics) -> None:
    quality = model_quality(cdnow, CALIBRATION_END, HOLDOUT_END)
    assert quality.buckets == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert np.all(np.diff(quality.expected_holdout) > 0)
    assert np.all(np.diff(quality.actual_holdout[:5]) > 0)


def test_the_report_writes_html_and_charts(cli: CliRunner, tmp_path: Path) -> None:
    from retain.bootstrap import bootstrap
    from retain.ingest.reader import read_orders
    from retain.service.imports import import_orders
    from tests.conftest import DATA

    url = f"sqlite:///{tmp_path / 'store.db'}"
    app = bootstrap(url)
    import_orders(read_orders(DATA / "cdnow" / "CDNOW_sample.txt"), app.unit_of_work())
    app.close()
    out = tmp_path / "report"
    args = ["models", "report", "--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30"]
    result = cli.invoke(cli_app, [*args, "--out", str(out), "--db", url])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "4,165.7" in html
    assert "http" not in html  # self-contained: charts beside it, nothing from elsewhere
    for chart in ("cumulative.png", "conditional.png", "churn_roc.png", "churn_calibration.png"):
        assert (out / chart).read_bytes().startswith(b"\x89PNG")
        assert f'src="{chart}"' in html
    churn = evaluate_churn_model(Analytics.from_store(url), HOLDOUT_END, horizon_days=90)
    assert f"AUC: supervised {churn.auc_model:.3f}, BG/NBD {churn.auc_btyd:.3f}" in " ".join(html.split())
    early = ["models", "report", "--calibration-end", "1997-03-31", "--holdout-end", "1997-06-30"]
    short = cli.invoke(cli_app, [*early, "--out", str(out), "--db", url])
    assert short.exit_code == 0, short.output
    html = " ".join((out / "report.html").read_text(encoding="utf-8").split())
    reason = "not enough history before the holdout to train the churn model"
    assert f"No churn model section: {reason}." in html
    assert reason in " ".join(short.output.split())
    assert "churn_roc.png" not in html
    assert not (out / "churn_roc.png").exists()  # none left from the report before
    assert (out / "cumulative.png").exists()
    too_early = cli.invoke(
        cli_app, [*args[:2], "--calibration-end", "1996-01-31", "--holdout-end", "1996-12-31", "--db", url]
    )
    assert (too_early.exit_code, "the report needs 200" in too_early.output) == (2, True)
    backwards = cli.invoke(
        cli_app, ["models", "report", "--calibration-end", "1998-01-01", "--holdout-end", "1997-01-01"]
    )
    assert backwards.exit_code == 2
