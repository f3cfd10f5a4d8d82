"""Operational time: a clock that runs faster in busy seasons and slower in quiet ones.

Purchases are simulated at a steady pace in operational time; mapping each one back to the
calendar puts more of them in November and December and fewer in summer, which gives the
store its seasonality without any per-order logic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from retain.demo.arrays import BoolArray, FloatArray, IntArray

DAY = 86_400  # seconds
EPOCH = date(1970, 1, 1)

_MONTH_FACTOR = np.array([0.95, 0.85, 0.95, 0.95, 0.95, 0.82, 0.78, 0.85, 1.0, 1.05, 1.25, 1.45])
_WEEKDAY_FACTOR = np.array([1.08, 1.03, 1.0, 0.98, 0.93, 0.9, 1.08])  # Monday first
# Days from Black Friday: the week before warms up, the weekend through Cyber Monday peaks.
_BFCM_FACTOR = {-4: 1.5, -3: 1.5, -2: 1.6, -1: 1.3, 0: 3.5, 1: 2.6, 2: 2.4, 3: 3.0}
_CHRISTMAS_LULL = 0.5  # 24-26 December: the gifts have shipped
# Orders per hour of the day: quiet at night, a lunch bump, the evening on the sofa.
_HOUR_WEIGHT = np.array([
    0.8, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.6, 2.6, 3.4, 3.8, 4.0,
    4.6, 4.4, 4.0, 3.8, 3.8, 4.0, 4.6, 5.4, 5.8, 5.2, 3.6, 1.8,
])  # fmt: skip


@dataclass(frozen=True)
class Calendar:
    first_second: int  # the period's first local midnight, in seconds since 1970 (wall clock)
    days: int
    boundaries: FloatArray  # operational time elapsed at each midnight, days + 1 of them
    month: IntArray  # 1-12, per day
    day_of_month: IntArray
    bfcm: BoolArray  # Black Friday week through Cyber Monday, per day

    @classmethod
    def build(cls, start: date, end: date) -> Calendar:
        first_day = (start - EPOCH).days
        days = (end - start).days + 1  # the end date is included
        numbers = first_day + np.arange(days, dtype=np.int64)
        dates = numbers.astype("datetime64[D]")
        months = dates.astype("datetime64[M]")
        month = months.astype(np.int64) % 12 + 1
        day_of_month = (dates - months.astype("datetime64[D]")).astype(np.int64) + 1
        weekday = (numbers + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
        intensity, bfcm = _seasonality(month, day_of_month, weekday)
        boundaries = np.concatenate(([0.0], np.cumsum(intensity / intensity.mean())))
        return cls(first_day * DAY, days, boundaries, month, day_of_month, bfcm)

    @property
    def span(self) -> float:
        return float(self.boundaries[-1])

    @property
    def end_second(self) -> int:
        return self.first_second + self.days * DAY

    def day_of(self, seconds: IntArray) -> IntArray:
        return (seconds - self.first_second) // DAY

    def wall_clock(self, rng: np.random.Generator, operational: FloatArray) -> IntArray:
        """Local seconds for operational times: the day from the season, the hour from habit."""
        day = np.interp(operational, self.boundaries, np.arange(self.days + 1, dtype=np.float64))
        whole_day = np.minimum(np.floor(day).astype(np.int64), self.days - 1)
        hour = rng.choice(24, size=operational.size, p=_HOUR_WEIGHT / _HOUR_WEIGHT.sum())
        second = rng.integers(0, 3600, size=operational.size)
        return self.first_second + whole_day * DAY + hour * 3600 + second


def _seasonality(month: IntArray, day_of_month: IntArray, weekday: IntArray) -> tuple[FloatArray, BoolArray]:
    """Relative order intensity per day, and which days are Black Friday week."""
    intensity = _MONTH_FACTOR[month - 1] * _WEEKDAY_FACTOR[weekday]
    black_friday = (month == 11) & (weekday == 4) & (day_of_month >= 23) & (day_of_month <= 29)
    bfcm = np.zeros(month.size, dtype=np.bool_)
    for offset, factor in _BFCM_FACTOR.items():
        hit = _shifted(black_friday, offset)
        intensity[hit] *= factor
        bfcm |= hit
    intensity[(month == 12) & (day_of_month >= 24) & (day_of_month <= 26)] *= _CHRISTMAS_LULL
    return intensity, bfcm


def _shifted(mask: BoolArray, offset: int) -> BoolArray:
    """``mask`` moved ``offset`` days later (earlier when negative), padded with False."""
    out = np.zeros_like(mask)
    if abs(offset) >= mask.size:
        return out
    if offset >= 0:
        out[offset:] = mask[: mask.size - offset]
    else:
        out[:offset] = mask[-offset:]
    return out
