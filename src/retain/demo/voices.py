"""What the demo store's customers say: survey answers and reviews over the last weeks.

Scores follow the words: a complaint comes with a low score, praise with a high one, so
the NPS, the action plan and the inbox of the demo look like a real store's. The words are
the labelled examples the classifier learns from, passed in by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

AGENTS = ("Sam", "Priya", "Alex")
# Score ranges by sentiment: (NPS low, NPS high), (rating low, rating high).
_NPS = {"negative": (0, 6), "neutral": (7, 8), "positive": (9, 10)}
_RATING = {"negative": (1, 2), "neutral": (3, 3), "positive": (4, 5)}


@dataclass(frozen=True)
class Voice:
    customer_id: int
    kind: str  # nps or review
    score: int
    text: str
    at: datetime


def voices(
    customers: Sequence[int],
    examples: Sequence[tuple[str, str]],  # (text, sentiment)
    end: datetime,
    *,
    days: int = 60,
    share: float = 0.04,
    seed: int = 7,
) -> list[Voice]:
    """Answers from about ``share`` of ``customers``, spread over the ``days`` before ``end``,
    oldest first."""
    rng = np.random.default_rng(seed)
    if not customers or not examples:
        return []
    chosen = rng.choice(np.asarray(customers), size=max(1, int(len(customers) * share)), replace=False)
    found = []
    for customer in chosen:
        text, sentiment = examples[int(rng.integers(len(examples)))]
        kind = "nps" if rng.random() < 0.6 else "review"
        low, high = (_NPS if kind == "nps" else _RATING)[sentiment]
        at = end - timedelta(minutes=int(rng.integers(days * 24 * 60)))
        written = text if rng.random() < 0.8 else ""  # some answer with a score alone
        found.append(Voice(int(customer), kind, int(rng.integers(low, high + 1)), written, at))
    return sorted(found, key=lambda v: v.at)


def handling(ticket_ids: Sequence[int], seed: int = 7) -> list[tuple[int, str, float, float | None]]:
    """(ticket, agent, hours to the first reply, hours to resolution or None while open) for
    the demo's tickets: most answered within the day, a few left late to show the clocks."""
    rng = np.random.default_rng(seed)
    plan = []
    for index, ticket in enumerate(ticket_ids):
        first = float(rng.gamma(2.0, 5.0))
        solved = None if rng.random() < 0.2 else first + float(rng.gamma(2.0, 12.0))
        plan.append((ticket, AGENTS[index % len(AGENTS)], first, solved))
    return plan
