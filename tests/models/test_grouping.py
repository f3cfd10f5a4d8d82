"""Distinct rows: the same answer as numpy's row-wise unique, whichever path is taken."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from retain.analytics.models.grouping import count_rows, group_rows


@pytest.mark.parametrize(
    "columns",
    [
        # whole days: coded as themselves, counted densely
        lambda rng: (rng.integers(0, 30, 5000), rng.integers(0, 400, 5000), rng.integers(300, 400, 5000)),
        # weeks: fractional, sorted per column
        lambda rng: (
            rng.integers(0, 30, 5000),
            rng.integers(0, 400, 5000) / 7,
            rng.integers(300, 400, 5000) / 7,
        ),
        # large whole numbers: too many combinations to count densely
        lambda rng: (rng.integers(0, 2**23, 5000), rng.integers(0, 2**23, 5000)),
        # too many combinations for one integer key
        lambda rng: tuple(rng.random(5000) for _ in range(6)),
    ],
)
def test_groups_match_numpy_unique_rows(columns: Callable[[np.random.Generator], tuple[Any, ...]]) -> None:
    rng = np.random.default_rng(3)
    data = tuple(np.asarray(c, dtype=np.float64) for c in columns(rng))
    groups = group_rows(*data)
    expected, counts = np.unique(np.stack(data, axis=1), axis=0, return_counts=True)
    np.testing.assert_array_equal(np.stack(groups.columns, axis=1), expected)
    np.testing.assert_array_equal(groups.counts, counts)
    for column, distinct in zip(data, groups.columns, strict=True):
        np.testing.assert_array_equal(distinct[groups.inverse], column)
    counted = count_rows(*data)
    np.testing.assert_array_equal(np.stack(counted.columns, axis=1), expected)
    np.testing.assert_array_equal(counted.counts, counts)
