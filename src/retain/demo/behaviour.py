"""How customers behave: buy till you die (BG/NBD).

Each customer has a Gamma-distributed purchase rate and, after every purchase, a
Beta-distributed chance of never coming back. All of it happens in operational time (see
``seasons``), so the calendar's busy and quiet spells come for free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from retain.demo.arrays import FloatArray, IntArray
from retain.demo.catalog import Catalog, draw_products
from retain.demo.people import draw_people, favourite_categories
from retain.demo.seasons import Calendar

# Purchase rate per day ~ Gamma(shape, scale) while active; after each purchase the customer
# drops out with probability p ~ Beta(a, b). Tuned so roughly a third buy again.
_RATE_SHAPE = 0.8
_RATE_SCALE = 1 / 90
_MAX_RATE = 1 / 5  # nobody orders coffee every day, however keen
_DROPOUT_A = 1.2
_DROPOUT_B = 2.2
_GROWTH = 1.1  # new customers per day at the end of the period are e**1.1 (about 3) times the start's


@dataclass(frozen=True)
class Customers:
    frame: pl.DataFrame  # identity and address codes, one row per customer index
    favourite: IntArray  # (n, 2) categories; -1 where a customer has only one
    staple: IntArray  # the product the customer keeps coming back for
    rate: FloatArray  # purchases per operational day while active
    dropout: FloatArray  # chance of never coming back after each purchase
    acquired: FloatArray  # operational time of the first purchase

    @property
    def count(self) -> int:
        return int(self.rate.size)


def simulate_customers(
    rng: np.random.Generator, count: int, calendar: Calendar, catalog: Catalog
) -> Customers:
    favourite = favourite_categories(rng, count)
    staple = draw_products(rng, catalog, favourite[:, 0])
    columns = draw_people(rng, count, favourite[:, 0])
    rate = np.minimum(rng.gamma(_RATE_SHAPE, _RATE_SCALE, size=count), _MAX_RATE)
    dropout = np.clip(rng.beta(_DROPOUT_A, _DROPOUT_B, size=count), 1e-3, 1.0)
    # Inverse CDF of a density growing like exp(GROWTH * t) over the period.
    share = np.log1p(rng.random(count) * np.expm1(_GROWTH)) / _GROWTH
    return Customers(pl.DataFrame(columns), favourite, staple, rate, dropout, share * calendar.span)


def purchases(rng: np.random.Generator, people: Customers, span: float) -> tuple[IntArray, FloatArray]:
    """(customer, operational time) of every purchase, the first at acquisition.

    While active, purchases are a Poisson process, so the n purchases that would fall in the
    rest of the period are uniform order statistics; the customer only lives to make the first
    k of them. The first k of n uniform order statistics are cumulative exponential spacings
    over their total (k spacings plus a Gamma(n - k + 1) for the rest), so only the purchases
    that happen are ever drawn.
    """
    remaining = span - people.acquired
    lifetime = rng.geometric(people.dropout) - 1  # repeat purchases before dropping out
    possible = rng.poisson(people.rate * remaining)
    repeats = np.minimum(lifetime, possible)
    owner = np.repeat(np.arange(people.count, dtype=np.int64), repeats)
    running = np.concatenate(([0.0], np.cumsum(rng.standard_exponential(owner.size))))
    ends = np.cumsum(repeats)
    before = running[ends - repeats]
    spacing = running[1:] - before[owner]
    total = running[ends] - before + rng.standard_gamma((possible - repeats + 1).astype(np.float64))
    times = people.acquired[owner] + spacing / total[owner] * remaining[owner]
    everyone = np.arange(people.count, dtype=np.int64)
    return np.concatenate((everyone, owner)), np.concatenate((people.acquired, times))
