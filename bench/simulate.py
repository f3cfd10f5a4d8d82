"""Transactions simulated from BG/NBD (purchases) and Gamma-Gamma (spend), at day grain.

Each customer buys once on a day in the first ``join_days``; then, while alive, at a
Poisson rate lambda ~ Gamma(r, alpha); after every repeat purchase they drop out with
probability p ~ Beta(a, b). Spend per purchase is Gamma(p, nu) with nu ~ Gamma(q, gamma).

Given the number N of Poisson arrivals in (0, T] and the number J of purchases before
dropping out, the customer makes x = min(J, N) repeat purchases, at the first x order
statistics of N uniforms on (0, T]; those are drawn by the sequential product
U(k) = 1 - prod_{j<=k} V_j^(1/(N-j+1)), so nothing beyond the x purchases is generated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

# The published CDNOW estimates (weeks for alpha; days below), FHL 2005 and 2005b.
BGNBD_WEEKS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}
START = date(2020, 1, 1)


@dataclass(frozen=True)
class Simulation:
    transactions: pa.Table  # customer_id int64, day date32, amount float64
    calibration_end: date
    truth: dict[str, float]  # BG/NBD in days, and Gamma-Gamma


def simulate(customers: int, observed_days: int = 2184, join_days: int = 84, seed: int = 7) -> Simulation:
    rng = np.random.default_rng(seed)
    r, alpha, a, b = BGNBD_WEEKS["r"], BGNBD_WEEKS["alpha"] * 7, BGNBD_WEEKS["a"], BGNBD_WEEKS["b"]
    first = rng.integers(0, join_days, customers)
    T = (observed_days - first).astype(np.float64)
    rate = rng.gamma(r, 1 / alpha, customers)
    dropout = rng.beta(a, b, customers)
    arrivals = rng.poisson(rate * T)
    repeats = np.minimum(rng.geometric(dropout), arrivals)

    owner = np.repeat(np.arange(customers), repeats)
    starts = np.cumsum(repeats) - repeats
    k = np.arange(owner.size) - np.repeat(starts, repeats)  # 0-based index of the purchase
    log_tail = np.log(rng.random(owner.size)) / (arrivals[owner] - k)
    cumulative = np.cumsum(log_tail)
    # A segmented cumulative sum: subtract what the customers before this one contributed.
    before = np.concatenate([[0.0], cumulative])[np.repeat(starts, repeats)]
    times = T[owner] * -np.expm1(cumulative - before)
    repeat_days = first[owner] + np.minimum(np.floor(times), T[owner]).astype(np.int64)

    customer_id = np.concatenate([np.arange(customers), owner]) + 1
    day = np.concatenate([first, repeat_days])
    nu = rng.gamma(GAMMA_GAMMA["q"], 1 / GAMMA_GAMMA["gamma"], customers)
    amount = rng.gamma(GAMMA_GAMMA["p"], 1 / nu[customer_id - 1])
    order = np.lexsort((day, customer_id))
    epoch = np.datetime64(START, "D")
    table = pa.table(
        {
            "customer_id": customer_id[order].astype(np.int64),
            "day": (epoch + day[order]).astype("datetime64[D]"),
            "amount": np.round(amount[order], 2),
        }
    )
    truth = {"r": r, "alpha": alpha, "a": a, "b": b, **GAMMA_GAMMA}
    return Simulation(table, START + timedelta(days=observed_days), truth)
