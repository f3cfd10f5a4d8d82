"""Small charts drawn on the server as SVG geometry: a sparkline for a trend and stacked bars.

Only numbers go into the SVG (the templates write the elements), so nothing a customer typed
can reach it, and a page needs no script to show its charts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 160, 40, 3


@dataclass(frozen=True)
class Spark:
    lines: tuple[str, ...]  # polyline points, one per unbroken run of values
    last: tuple[float, float] | None  # the latest value's dot
    label: str  # what the chart says, for screen readers
    width: int = WIDTH
    height: int = HEIGHT


def sparkline(
    values: Sequence[float | None], labels: Sequence[str], say: Callable[[float], str], what: str
) -> Spark:
    """A line through ``values`` (None leaves a gap), scaled to its own range."""
    known = [v for v in values if v is not None]
    if not known:
        return Spark((), None, f"{what}: no figures yet")
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    lines: list[str] = []
    run: list[str] = []
    last = None
    for i, value in enumerate(values):
        if value is None:
            if run:
                lines.append(" ".join(run))
            run = []
            continue
        x = PAD + i * step
        y = HEIGHT - PAD - (value - low) / span * (HEIGHT - 2 * PAD)
        run.append(f"{x:.1f},{y:.1f}")
        last = (round(x, 1), round(y, 1))
    if run:
        lines.append(" ".join(run if len(run) > 1 else [*run, run[0]]))
    pairs = [(label, v) for label, v in zip(labels, values, strict=True) if v is not None]
    first_label, first = pairs[0]
    last_label, latest = pairs[-1]
    label = f"{what}: {say(first)} in {first_label}, {say(latest)} in {last_label}"
    return Spark(tuple(lines), last, label)


@dataclass(frozen=True)
class Part:
    y: float
    height: float
    kind: str  # a CSS class


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    parts: tuple[Part, ...]
    title: str


@dataclass(frozen=True)
class Bars:
    bars: tuple[Bar, ...]
    label: str
    width: int
    height: int


def stacked_bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    say: Callable[[int], str],
    what: str,
    width: int = 480,
    height: int = 140,
) -> Bars:
    """One bar per label, its parts stacked bottom up in the order of ``series`` (name, values)."""
    totals = [sum(values[i] for _, values in series) for i in range(len(labels))]
    top = max([*totals, 1])
    slot = width / max(len(labels), 1)
    bars = []
    for i, label in enumerate(labels):
        base = float(height)
        parts = []
        for kind, values in series:
            size = max(values[i], 0) / top * (height - 2)
            base -= size
            parts.append(Part(round(base, 1), round(size, 1), kind))
        title = f"{label}: " + ", ".join(f"{kind} {say(values[i])}" for kind, values in series)
        bars.append(Bar(round(i * slot + slot * 0.15, 1), round(slot * 0.7, 1), tuple(parts), title))
    return Bars(tuple(bars), what, width, height)
