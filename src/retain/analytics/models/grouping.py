"""Distinct rows of a few aligned columns, with counts and a way back to every row.

The models' likelihoods and expectations depend on a customer only through a few numbers
(x, t_x, T), which many customers share; computing each distinct combination once and
gathering the results back is what makes them fast on a million customers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Codes = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class Groups:
    columns: tuple[Array, ...]  # the distinct rows, one array per column
    counts: Array  # how many rows share each distinct row
    inverse: Codes  # for each input row, the index of its distinct row (empty from count_rows)


def whole_numbers(column: Array) -> tuple[Codes, Array] | None:
    """For whole numbers in a small range (counts of days, of purchases), each value's code,
    its distance from the smallest, and the value of each code; otherwise None."""
    if column.size:
        low, high = column.min(), column.max()
        if low >= 0 and high < 2**24 and np.array_equal(column, np.trunc(column)):
            codes = column.astype(np.intp)
            codes -= int(low)
            return codes, np.arange(low, high + 1, dtype=np.float64)
    return None


def _codes(column: Array) -> tuple[Codes, Array]:
    """Each value's code and the value of each code: whole numbers as ``whole_numbers``
    codes them; anything else is sorted once."""
    if (coded := whole_numbers(column)) is not None:
        return coded
    values, inverse = np.unique(column, return_inverse=True)
    return inverse.astype(np.intp), values.astype(np.float64)


def group_rows(*columns: Array) -> Groups:
    """The distinct rows of ``columns`` (equal-length 1-D arrays), in ascending order."""
    return _group(columns, inverse=True)


def count_rows(*columns: Array) -> Groups:
    """``group_rows`` without the way back (``inverse`` is empty): several times faster
    when the combinations are too many to count densely, since nothing has to be argsorted."""
    return _group(columns, inverse=False)


def _group(columns: tuple[Array, ...], inverse: bool) -> Groups:
    coded = [_codes(np.asarray(c, dtype=np.float64)) for c in columns]
    sizes = [values.size for _, values in coded]
    span = int(np.prod(sizes, dtype=np.float64))
    if span >= 2**62:  # too many combinations for one integer key
        stacked = np.stack([codes for codes, _ in coded], axis=1)
        _, first, back, counts = np.unique(
            stacked, axis=0, return_index=True, return_inverse=True, return_counts=True
        )
        return Groups(tuple(c[first] for c in columns), counts.astype(np.float64), back.ravel())
    key = np.zeros(columns[0].shape, dtype=np.int64)
    for (codes, _), size in zip(coded, sizes, strict=True):
        key = key * size + codes
    back = np.empty(0, dtype=np.intp)
    if span <= max(2**22, 4 * key.size):  # a dense count over every possible key: no sort
        tally = np.bincount(key, minlength=span)
        distinct = np.flatnonzero(tally)
        counts = tally[distinct]
        if inverse:
            position = np.empty(span, dtype=np.intp)
            position[distinct] = np.arange(distinct.size)
            back = position[key]
    else:
        # Keys that fit in 32 bits sort about twice as fast.
        sortable = key.astype(np.int32) if span <= 2**31 else key
        if inverse:
            distinct, back, counts = np.unique(sortable, return_inverse=True, return_counts=True)
        else:
            distinct, counts = np.unique(sortable, return_counts=True)
        distinct = distinct.astype(np.int64)
    values = []
    for (_, lookup), size in zip(reversed(coded), reversed(sizes), strict=True):
        values.append(lookup[distinct % size])
        distinct = distinct // size
    return Groups(tuple(reversed(values)), counts.astype(np.float64), back.astype(np.intp))
