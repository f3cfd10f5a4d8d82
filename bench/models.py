"""Predictive models at scale, side by side with lifetimes 0.11.3 on the same data.

A million customers and about five million transactions are simulated from BG/NBD with the
published CDNOW parameters, at day grain, and spend from Gamma-Gamma (bench/simulate.py).
Retain's pipeline is `score_customers`: the calibration summary on the analytics engine,
the BG/NBD and Gamma-Gamma fits, and every customer's P(alive), expected orders and
discounted CLV over a year. The Pareto/NBD fit is timed on its own. The named baseline is
lifetimes doing the same steps (bench/lifetimes_side.py), run in the same invocation in its
own virtual environment (bench/.venv-lifetimes, made by `make bench`), never a dependency
of Retain. Every Retain line of the table is the median of five runs: in each run the
pipeline is timed end to end, then its steps (summary, the two fits, scoring) are called one
by one and timed on their own, so the steps and the pipeline come from the same runs; the
Pareto/NBD fit is timed five times too. lifetimes, at twenty seconds a pipeline and minutes a
Pareto/NBD fit, runs once; its pipeline is the sum of its steps. Targets: the pipeline under
1.5 s and at least 8x faster than lifetimes; the Pareto/NBD fit at least 50x faster; BG/NBD
and Gamma-Gamma parameters within 5% of the truth.

    python bench/models.py [--customers 1000000] [--no-lifetimes] [--out bench/results/models.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from retain.analytics.engine import ORDERS_SCHEMA, Analytics
from retain.analytics.models.bgnbd import BetaGeoModel
from retain.analytics.models.gamma_gamma import GammaGammaModel
from retain.analytics.models.pareto_nbd import ParetoNBDModel
from retain.analytics.models.predict import Scores, score, score_customers
from retain.analytics.models.summary import calibration_summary

sys.path.insert(0, str(Path(__file__).parent))
from simulate import Simulation, simulate

LIFETIMES_PYTHON = Path(__file__).parent / ".venv-lifetimes" / "bin" / "python"
YEARLY_RATE = 1.01**12 - 1  # lifetimes' CLV discounts 1% a month
LIFETIMES_NAMES = {"gamma": "v"}  # lifetimes calls Gamma-Gamma's scale v
RUNS = 5  # Retain's timings are medians of this many runs


def orders_of(transactions: pa.Table) -> pa.Table:
    """The transactions as the engine's orders, in time order as a store hands them over (by
    order id): the simulation lists them by customer, an order the summary would not need
    to sort."""
    transactions = transactions.take(pc.sort_indices(transactions, [("day", "ascending")]))
    cents = pc.cast(pc.round(pc.multiply(transactions["amount"], 100)), pa.int64())
    return pa.table(
        {
            "customer_id": transactions["customer_id"],
            "placed_at": transactions["day"].cast(pa.timestamp("us")),
            "net": cents,
            "currency": pa.repeat(pa.scalar("USD"), transactions.num_rows),
        },
        schema=ORDERS_SCHEMA,
    )


def timed(step: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = step()
    return result, time.perf_counter() - started


def retain_side(sim: Simulation, pareto: bool) -> dict[str, Any]:
    analytics = Analytics(orders_of(sim.transactions))  # like reading the file: not timed
    end = sim.calibration_end
    currency = analytics.currency()  # found once per snapshot and kept; the pipeline asks too

    def pipeline() -> Scores:
        return score_customers(analytics, end, 365, yearly_discount_rate=YEARLY_RATE)

    def steps() -> dict[str, float]:
        """The pipeline's steps called one by one, each timed on its own."""
        summary, t_summary = timed(lambda: calibration_summary(analytics, end, "day"))
        bg, t_bg = timed(lambda: BetaGeoModel().fit(summary.x, summary.t_x, summary.T))
        gg, t_gg = timed(lambda: GammaGammaModel().fit(summary.x, summary.mean_repeat_spend / 100))
        _, t_score = timed(lambda: score(summary, bg, gg, end, currency, 365, YEARLY_RATE))
        return {"summary": t_summary, "bgnbd_fit": t_bg, "gamma_gamma_fit": t_gg, "scoring": t_score}

    # The machine is noisy: every timing is taken RUNS times and its median counts, the
    # pipeline end to end and each step on its own, in the same runs.
    runs: list[dict[str, float]] = []
    for _ in range(RUNS):
        scores, t_pipeline = timed(pipeline)
        runs.append({**steps(), "pipeline": t_pipeline})
    summary = calibration_summary(analytics, end, "day")
    bg = BetaGeoModel().fit(summary.x, summary.t_x, summary.T)
    gg = GammaGammaModel().fit(summary.x, summary.mean_repeat_spend / 100)
    result: dict[str, Any] = {
        "customers": len(scores.customer_id),
        "runs": RUNS,
        "timings": {step: statistics.median(run[step] for run in runs) for step in runs[0]},
        "all_runs": runs,
        "params": {
            "bgnbd": dict(zip(bg.PARAMS, map(float, bg.params_), strict=True)),
            "gamma_gamma": dict(zip(gg.PARAMS, map(float, gg.params_), strict=True)),
        },
        "scores": {
            "mean_p_alive": float(scores.p_alive.mean()),
            "mean_predicted_orders": float(scores.predicted_orders.mean()),
            "mean_predicted_clv": float(scores.predicted_clv.mean() / 100),
        },
    }
    if pareto:
        fits = [timed(lambda: ParetoNBDModel().fit(summary.x, summary.t_x, summary.T)) for _ in range(RUNS)]
        pnbd = fits[0][0]
        result["timings"]["pareto_nbd_fit"] = statistics.median(seconds for _, seconds in fits)
        result["pareto_nbd_runs"] = [seconds for _, seconds in fits]
        result["params"]["pareto_nbd"] = dict(zip(pnbd.PARAMS, map(float, pnbd.params_), strict=True))
    return result


def lifetimes_side(sim: Simulation, pareto: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        data, out = Path(folder) / "transactions.parquet", Path(folder) / "lifetimes.json"
        pq.write_table(sim.transactions, data)
        command = [str(LIFETIMES_PYTHON), str(Path(__file__).parent / "lifetimes_side.py")]
        command += ["--transactions", str(data), "--calibration-end", sim.calibration_end.isoformat()]
        command += ["--out", str(out)] + (["--pareto"] if pareto else [])
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def print_report(report: dict[str, Any]) -> None:
    ours, theirs = report["retain"], report.get("lifetimes")
    print(f"{report['customers']:,} customers, {report['transactions']:,} transactions (day grain)")
    print(
        f"Retain: median of {ours['runs']} runs of each line; the steps are called one by one,"
        " the pipeline is score_customers end to end (the steps, and the currency lookup)."
    )
    if theirs:
        print("lifetimes: one run; its pipeline is the sum of its four steps.")
    spread = sorted(run["pipeline"] for run in ours["all_runs"])
    print(f"Retain's pipeline runs: {', '.join(f'{seconds:.3f}' for seconds in spread)} s\n")
    print(f"{'step':<18}{'Retain s':>10}{'lifetimes s':>13}{'speed-up':>10}")
    for step, seconds in ours["timings"].items():
        other = theirs["timings"].get(step) if theirs else None
        ratio = f"{other / seconds:>9.1f}x" if other else f"{'-':>10}"
        print(f"{step:<18}{seconds:>10.3f}{(f'{other:.3f}' if other else '-'):>13}{ratio}")
    print(f"\n{'parameter':<18}{'truth':>10}{'Retain':>10}{'error':>8}{'lifetimes':>11}")
    for model, params in ours["params"].items():
        for name, value in params.items():
            truth = report["truth"].get(name) if model != "pareto_nbd" else None
            other = theirs["params"].get(model, {}).get(LIFETIMES_NAMES.get(name, name)) if theirs else None
            error = f"{abs(value / truth - 1):>7.1%}" if truth else f"{'-':>7}"
            print(
                f"{model + ' ' + name:<18}{(f'{truth:.3f}' if truth else '-'):>10}{value:>10.3f} {error}"
                f"{(f'{other:.3f}' if other is not None else '-'):>11}"
            )
    print()
    for target, met in report["targets"].items():
        print(f"{target}: {'met' if met else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--no-lifetimes", action="store_true", help="time Retain alone")
    parser.add_argument("--no-pareto", action="store_true", help="leave out the Pareto/NBD fits")
    parser.add_argument("--out", type=Path, default=Path("bench/results/models.json"))
    args = parser.parse_args()
    sim = simulate(args.customers)
    pareto = not args.no_pareto
    ours = retain_side(sim, pareto)
    theirs = None if args.no_lifetimes else lifetimes_side(sim, pareto)
    truth = sim.truth
    recovered = [
        abs(ours["params"][model][name] / truth[name] - 1) <= 0.05
        for model in ("bgnbd", "gamma_gamma")
        for name in ours["params"][model]
    ]
    targets = {
        "pipeline under 1.5 s": ours["timings"]["pipeline"] < 1.5,
        "parameters within 5% of the truth": all(recovered),
    }
    if theirs:
        targets["pipeline at least 8x faster than lifetimes"] = (
            theirs["timings"]["pipeline"] / ours["timings"]["pipeline"] >= 8
        )
        if pareto:
            targets["Pareto/NBD fit at least 50x faster than lifetimes"] = (
                theirs["timings"]["pareto_nbd_fit"] / ours["timings"]["pareto_nbd_fit"] >= 50
            )
    report = {
        "customers": args.customers,
        "transactions": sim.transactions.num_rows,
        "truth": truth,
        "retain": ours,
        "lifetimes": theirs,
        "targets": targets,
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print_report(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
