"""Baseline side of the BTYD benchmark: the same steps timed with `lifetimes` 0.11.3.

This script is not part of Retain and never imports it: it runs in its own virtual environment, so
that `lifetimes` (and the old numpy/pandas/scipy it needs) never becomes a dependency of the project:

    python3 -m venv bench/.venv-lifetimes
    bench/.venv-lifetimes/bin/pip install -r bench/requirements-lifetimes.txt
    bench/.venv-lifetimes/bin/python bench/lifetimes_side.py --transactions FILE.parquet \\
        --calibration-end YYYY-MM-DD --out RESULT.json [--pareto] [--skip-bgnbd]

The input parquet has one row a transaction: `customer_id` (int64), `day` (date32) and `amount`
(float64, currency units). Reading it is not timed; `day` is loaded as datetime64, which is what
`lifetimes` turns it into anyway. Each step is timed on its own with `time.perf_counter`, calling
`lifetimes` as a normal user would, with its default options:

- summary: `summary_data_from_transaction_data(..., freq="D")` up to the calibration end;
- bgnbd_fit: `BetaGeoFitter(penalizer_coef=0.0).fit(frequency, recency, T)`;
- gamma_gamma_fit: `GammaGammaFitter(penalizer_coef=0.0).fit(...)` on customers with frequency > 0;
- scoring: P(alive), expected purchases in the next 365 days and the 12-month CLV (monthly discount
  rate 0.01) for every customer. Customers with frequency 0 have monetary_value 0 in the summary, and
  the gamma-gamma conditional expected spend gives them the population mean, p*v/(q-1);
- pipeline: the sum of the four steps above;
- pareto_nbd_fit (with --pareto): `ParetoNBDFitter(penalizer_coef=0.0).fit(frequency, recency, T)`.

The JSON written to --out holds the library and version, the number of customers, the timings in
seconds, the fitted parameters of the models run, and a few means of the scores (a cross-check that
both sides compute the same quantities). A short table is printed to stdout.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import lifetimes
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
from lifetimes.utils import summary_data_from_transaction_data

HORIZON_DAYS = 365  # horizon of the expected number of purchases
CLV_MONTHS = 12
MONTHLY_DISCOUNT = 0.01


def load_transactions(path: Path) -> pd.DataFrame:
    """The transactions as a DataFrame, with `day` as datetime64 rather than Python date objects."""
    frame = pq.read_table(path, columns=["customer_id", "day", "amount"]).to_pandas(date_as_object=False)
    frame["day"] = frame["day"].astype("datetime64[ns]")
    return frame


def params_of(fitter: Any, names: tuple[str, ...]) -> dict[str, float]:
    return {name: float(fitter.params_[name]) for name in names}


def finite_mean(values: pd.Series) -> float:
    array = np.asarray(values, dtype=float)
    return float(array[np.isfinite(array)].mean())


def non_finite(values: pd.Series) -> int:
    return int((~np.isfinite(np.asarray(values, dtype=float))).sum())


def run(transactions: pd.DataFrame, calibration_end: str, *, bgnbd: bool, pareto: bool) -> dict[str, Any]:
    timings: dict[str, float] = {}
    params: dict[str, dict[str, float]] = {}
    scores: dict[str, float | int] = {}

    start = time.perf_counter()
    summary = summary_data_from_transaction_data(
        transactions,
        "customer_id",
        "day",
        monetary_value_col="amount",
        observation_period_end=calibration_end,
        freq="D",
    )
    timings["summary"] = time.perf_counter() - start
    frequency, recency, age = summary["frequency"], summary["recency"], summary["T"]
    monetary_value = summary["monetary_value"]

    if bgnbd:
        start = time.perf_counter()
        bgf = BetaGeoFitter(penalizer_coef=0.0).fit(frequency, recency, age)
        timings["bgnbd_fit"] = time.perf_counter() - start
        params["bgnbd"] = params_of(bgf, ("r", "alpha", "a", "b"))

        start = time.perf_counter()
        returning = summary[summary["frequency"] > 0]
        ggf = GammaGammaFitter(penalizer_coef=0.0).fit(returning["frequency"], returning["monetary_value"])
        timings["gamma_gamma_fit"] = time.perf_counter() - start
        params["gamma_gamma"] = params_of(ggf, ("p", "q", "v"))

        start = time.perf_counter()
        p_alive = bgf.conditional_probability_alive(frequency, recency, age)
        expected = bgf.conditional_expected_number_of_purchases_up_to_time(
            HORIZON_DAYS, frequency, recency, age
        )
        clv = ggf.customer_lifetime_value(
            bgf,
            frequency,
            recency,
            age,
            monetary_value,
            time=CLV_MONTHS,
            discount_rate=MONTHLY_DISCOUNT,
            freq="D",
        )
        timings["scoring"] = time.perf_counter() - start
        timings["pipeline"] = sum(timings[k] for k in ("summary", "bgnbd_fit", "gamma_gamma_fit", "scoring"))

        scores = {
            "p_alive_mean": finite_mean(p_alive),
            "expected_365_mean": finite_mean(expected),
            "clv_mean": finite_mean(clv),
            "non_finite": non_finite(p_alive) + non_finite(expected) + non_finite(clv),
        }

    if pareto:
        np.random.seed(0)  # lifetimes starts Nelder-Mead from random initial parameters
        start = time.perf_counter()
        pnbd = ParetoNBDFitter(penalizer_coef=0.0).fit(frequency, recency, age)
        timings["pareto_nbd_fit"] = time.perf_counter() - start
        params["pareto_nbd"] = params_of(pnbd, ("r", "alpha", "s", "beta"))

    result: dict[str, Any] = {
        "library": "lifetimes",
        "version": lifetimes.__version__,
        "customers": len(summary),
        "transactions": len(transactions),
        "timings": timings,
        "params": params,
    }
    if scores:
        result["scores"] = scores
    return result


def print_table(result: dict[str, Any]) -> None:
    print(f"lifetimes {result['version']}: {result['customers']:,} customers")
    for step, seconds in result["timings"].items():
        print(f"  {step:<16} {seconds:>10.3f} s")
    for model, values in result["params"].items():
        shown = "  ".join(f"{name}={value:.4g}" for name, value in values.items())
        print(f"  {model:<16} {shown}")
    for name, value in result.get("scores", {}).items():
        print(f"  {name:<16} {value:>10.4g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=Path, required=True, help="parquet: customer_id, day, amount")
    parser.add_argument("--calibration-end", required=True, help="YYYY-MM-DD, the observation period end")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON result")
    parser.add_argument("--pareto", action="store_true", help="also time the Pareto/NBD fit")
    parser.add_argument("--skip-bgnbd", action="store_true", help="skip the BG/NBD + gamma-gamma pipeline")
    args = parser.parse_args()

    transactions = load_transactions(args.transactions)
    result = run(transactions, args.calibration_end, bgnbd=not args.skip_bgnbd, pareto=args.pareto)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    if result.get("scores", {}).get("non_finite"):
        print("warning: some scores are not finite")


if __name__ == "__main__":
    main()
