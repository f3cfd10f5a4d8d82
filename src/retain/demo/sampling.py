"""Drawing from many small discrete distributions with one ``searchsorted`` call."""

from __future__ import annotations

import numpy as np

from retain.demo.arrays import FloatArray, IntArray


def stacked_cumulative(weights: FloatArray, groups: IntArray) -> FloatArray:
    """Cumulative weights normalised within each (contiguous) group and shifted by the group
    number, so one ``searchsorted`` draws from many different distributions at once."""
    out = np.empty(weights.size, dtype=np.float64)
    for group in np.unique(groups):  # one pass per category, not per draw
        members = np.flatnonzero(groups == group)
        running = np.cumsum(weights[members])
        out[members] = group + running / running[-1]
        out[members[-1]] = group + 1.0
    return out


def draw_stacked(rng: np.random.Generator, stacked: FloatArray, groups: IntArray, ends: IntArray) -> IntArray:
    """For each group number in ``groups``, the index of an item drawn from that group."""
    index = np.searchsorted(stacked, groups + rng.random(groups.size), side="right").astype(np.int64)
    # group + u can round up to group + 1 when u is within an ulp of 1; stay in the group.
    return np.minimum(index, ends[groups] - 1)
