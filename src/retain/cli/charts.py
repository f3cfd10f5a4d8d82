"""Charts written as PNG files (matplotlib without a display)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def _chart(
    path: Path, title: str, xlabel: str, ylabel: str, size: tuple[float, float] = (8, 4.5)
) -> Iterator[tuple[Any, Any]]:
    """A labelled figure and axes, saved to ``path`` and closed when the block ends."""
    import matplotlib

    matplotlib.use("Agg")  # no screen needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size)
    try:
        yield fig, ax
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)


def heatmap(path: Path, rows: list[str], values: list[list[float]], title: str, fmt: str) -> None:
    """A triangle of ``values`` (rows may be shorter than the longest) as a heatmap."""
    width = max((len(r) for r in values), default=0)
    grid = [[*r, *([math.nan] * (width - len(r)))] for r in values]
    size = (min(2 + width * 0.55, 24), min(1.5 + len(rows) * 0.35, 30))
    with _chart(path, title, "periods since first order", "cohort (first order)", size) as (fig, ax):
        # Colours scale on the later periods: period 0 is the whole cohort and would wash them out.
        later = [v for row in values for v in row[1:] if not math.isnan(v)]
        image = ax.imshow(grid, aspect="auto", cmap="Greens", vmin=0, vmax=max(later, default=None))
        ax.set_yticks(range(len(rows)), rows)
        ax.set_xticks(range(width), [str(k) for k in range(width)])
        if width * len(rows) <= 400:  # numbers stay readable only on small triangles
            for y, row in enumerate(values):
                for x, value in enumerate(row):
                    ax.text(x, y, format(value, fmt), ha="center", va="center", fontsize=7)
        fig.colorbar(image, ax=ax)


def lines(
    path: Path, series: dict[str, list[float]], title: str, xlabel: str, ylabel: str, mark: float | None
) -> None:
    """Line chart of named series over 1, 2, 3...; ``mark`` draws a dotted vertical line."""
    with _chart(path, title, xlabel, ylabel) as (_, ax):
        for name, values in series.items():
            style = "--" if "expected" in name else "-"
            ax.plot(range(1, len(values) + 1), values, label=name, linestyle=style)
        if mark is not None:
            ax.axvline(mark, color="grey", linestyle=":", linewidth=1)
        ax.legend()


def paired_bars(
    path: Path, labels: list[str], series: dict[str, list[float]], title: str, xlabel: str, ylabel: str
) -> None:
    """Side-by-side bars of two or more named series over ``labels``."""
    with _chart(path, title, xlabel, ylabel) as (_, ax):
        width = 0.8 / len(series)
        for i, (name, values) in enumerate(series.items()):
            ax.bar([k + i * width for k in range(len(labels))], values, width, label=name)
        ax.set_xticks([k + width * (len(series) - 1) / 2 for k in range(len(labels))], labels)
        ax.legend()


def roc(path: Path, curves: dict[str, tuple[list[float], list[float]]], title: str) -> None:
    """ROC curves (false positive rate, true positive rate), with the diagonal of a coin toss."""
    with _chart(path, title, "false positive rate", "true positive rate", (5.5, 5)) as (_, ax):
        for name, (false_positive, true_positive) in curves.items():
            ax.plot(false_positive, true_positive, label=name)
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="chance (AUC 0.500)")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(loc="lower right")


def calibration(path: Path, predicted: list[float], observed: list[float], title: str) -> None:
    """Mean predicted against observed rate per group; a calibrated model sits on the diagonal."""
    with _chart(path, title, "mean predicted probability", "observed rate", (5.5, 5)) as (_, ax):
        top = max([*predicted, *observed, 0.01]) * 1.05
        ax.plot([0, top], [0, top], color="grey", linestyle=":", linewidth=1, label="perfect calibration")
        ax.plot(predicted, observed, marker="o", label="deciles of predicted probability")
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.legend(loc="upper left")
