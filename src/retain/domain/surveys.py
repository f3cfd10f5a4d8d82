"""Surveys and what their answers add up to: NPS, CSAT, and who is unhappy enough to call.

A survey is one scored question and a free-text "why". NPS asks 0-10 how likely the
customer is to recommend the store; CSAT and the post-purchase survey ask 1-5 how satisfied
they are (with support, with an order); a review rates a purchase 1-5. An answer is checked
here, before anything is stored: a score outside the scale is refused with the scale in the
message.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

SurveyKind = Literal["nps", "csat", "post_purchase", "review"]
SURVEY_KINDS: tuple[str, ...] = get_args(SurveyKind)
MAX_TEXT = 5_000  # characters of a free-text answer, about two pages


class AnswerError(ValueError):
    """An answer that cannot be recorded: the message says what to change."""


@dataclass(frozen=True)
class Survey:
    kind: SurveyKind
    question: str
    why: str  # the free-text follow-up
    low: int
    high: int
    low_label: str
    high_label: str

    @property
    def scale(self) -> range:
        return range(self.low, self.high + 1)


SURVEYS: dict[str, Survey] = {
    "nps": Survey(
        "nps", "How likely are you to recommend us to a friend or colleague?",
        "What is the main reason for your score?", 0, 10, "Not at all likely", "Extremely likely",
    ),
    "csat": Survey(
        "csat", "How satisfied are you with the help you received?",
        "What could we have done better?", 1, 5, "Very dissatisfied", "Very satisfied",
    ),
    "post_purchase": Survey(
        "post_purchase", "How satisfied are you with your order?",
        "What did you like, and what could we do better?", 1, 5, "Very dissatisfied", "Very satisfied",
    ),
    "review": Survey(
        "review", "How would you rate what you bought?",
        "Tell other customers what you think of it.", 1, 5, "Poor", "Excellent",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Answer:
    kind: SurveyKind
    score: int
    text: str

    @property
    def negative(self) -> bool:
        """A detractor (NPS 0-6) or a rating of 1 or 2 out of 5: someone to call back."""
        return self.score <= 6 if self.kind == "nps" else self.score <= 2


def survey(kind: str) -> Survey:
    if kind not in SURVEYS:
        raise AnswerError(f"no survey {kind!r}; there are: {', '.join(SURVEY_KINDS)}")
    return SURVEYS[kind]


def answer(kind: str, score: object, text: object = "") -> Answer:
    """A checked answer; ``score`` may come from a form as text."""
    form = survey(kind)
    if isinstance(score, bool) or score is None or score == "":
        raise AnswerError(f"choose a score from {form.low} to {form.high}")
    try:
        value = int(str(score).strip()) if not isinstance(score, int) else score
    except ValueError:
        raise AnswerError(f"the score must be a whole number from {form.low} to {form.high}") from None
    if value not in form.scale:
        raise AnswerError(f"the score must be from {form.low} to {form.high}, not {value}")
    words = clean_text(text)
    return Answer(form.kind, value, words)


def clean_text(text: object) -> str:
    """Free text as it is kept: stripped, NUL-free, at most ``MAX_TEXT`` characters."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise AnswerError("the text must be a string")
    words = text.replace("\x00", "").strip()
    if len(words) > MAX_TEXT:
        raise AnswerError(f"the text is {len(words):,} characters long; at most {MAX_TEXT:,} are kept")
    return words


@dataclass(frozen=True)
class NetPromoter:
    promoters: int
    passives: int
    detractors: int

    @property
    def responses(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        """% promoters (9-10) minus % detractors (0-6), from -100 to 100; None with no answers."""
        if not self.responses:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.responses

    def as_dict(self) -> dict[str, float | int | None]:
        return {"score": self.score, "responses": self.responses, "promoters": self.promoters,
                "passives": self.passives, "detractors": self.detractors}  # fmt: skip


def net_promoter(scores: Iterable[int]) -> NetPromoter:
    promoters = passives = detractors = 0
    for score in scores:
        if score >= 9:
            promoters += 1
        elif score >= 7:
            passives += 1
        else:
            detractors += 1
    return NetPromoter(promoters, passives, detractors)
