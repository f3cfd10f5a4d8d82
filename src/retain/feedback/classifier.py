"""The feedback classifier: TF-IDF features and linear models, with a keyword layer.

Four questions are asked of every text: its category and sentiment (multiclass), and
whether it names a competitor or says the customer is leaving (yes or no). Each has its own
logistic regression over word n-grams (1-2) and character n-grams (2-5, which forgive
typos); the two flags also listen to a keyword layer, phrases that settle the question
whatever the model thinks ("Amazon", "cancel my subscription"), with the negations that
undo them ("I'd never go anywhere else").

The models are trained from ``data/train.csv``, kept in the package, the first time they
are needed: about a second, and no file to download or unpickle. ``data/test.csv`` is the
held-out set ``evaluate`` measures accuracy on; it never trains anything.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from retain.domain.feedback import CATEGORIES, Category, Sentiment, Triage

MAX_CHARACTERS = 5_000  # longer texts are read up to here: enough for any complaint

# The keyword layer: phrases that settle a flag, and the ones that undo "leaving".
_COMPETITOR_WORDS = (
    r"amazon",
    r"etsy",
    r"ebay",
    r"walmart",
    r"target",
    r"costco",
    r"aliexpress",
    r"temu",
    r"shein",
    r"zalando",
    r"asos",
    r"tesco",
    r"sainsbury'?s",
    r"lidl",
    r"aldi",
    r"supermarket",
    r"competitors?",
    r"competition",
    r"another (shop|store|site|brand|roaster|seller)",
    r"other (shops|stores|sites|brands)",
    r"elsewhere",
    r"down the road",
    r"high street",
)
_LEAVING_WORDS = (
    r"never (again|coming back)",
    r"never (order|buy|shop)(ing)? (again|from you|here|with you)",
    r"last (order|time i)",
    r"cancel(l?ing|l?ed)? (my|the) (subscription|account|membership)",
    r"(close|delete) my account",
    r"unsubscribe me",
    r"won'?t be (back|ordering|buying|returning)",
    r"taking my (business|money) elsewhere",
    r"(switching|moving) to",
    r"i'?m done with",
    r"lost (a|another) customer",
    r"good ?bye",
    r"(shop|buy|order)(ping|ing)? (at|from|with) (?!(you|us)\b)[\w'&. -]{2,40} instead",
    r"(go|going|went) (to [\w'&. -]{2,30} instead|elsewhere|somewhere else)",
)
_STAYING_WORDS = (
    r"never (shop|buy|order|go) anywhere else",
    r"won'?t (shop|buy|go) anywhere else",
    r"not (going|switching) (anywhere|elsewhere)",
    r"('ll|will) (definitely )?be back",
)


def _phrases(words: Sequence[str]) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(words) + r")\b", re.IGNORECASE)


_COMPETITOR, _LEAVING, _STAYING = (_phrases(w) for w in (_COMPETITOR_WORDS, _LEAVING_WORDS, _STAYING_WORDS))


@dataclass(frozen=True)
class Example:
    text: str
    category: Category
    sentiment: Sentiment
    mentions_competitor: bool
    intends_to_leave: bool


def read_examples(name: str) -> list[Example]:
    """The labelled examples of ``data/<name>.csv`` (train or test)."""
    text = resources.files(__package__).joinpath("data", f"{name}.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return [
        Example(
            row["text"], row["category"], row["sentiment"],  # type: ignore[arg-type]
            row["mentions_competitor"] == "1", row["intends_to_leave"] == "1",
        )
        for row in rows
    ]  # fmt: skip


def _features() -> FeatureUnion:
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, lowercase=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)),
        ]
    )


def _model(balanced: bool = False) -> LogisticRegression:
    return LogisticRegression(C=10.0, max_iter=2_000, class_weight="balanced" if balanced else None)


class Classifier:
    """Triage for any text; ``classify`` takes many at once, which is much faster per text.
    The four models share one set of features, computed once per text."""

    def __init__(self, examples: Sequence[Example]) -> None:
        self._features = _features()
        matrix = self._features.fit_transform([_clip(e.text) for e in examples])
        self._category = _model().fit(matrix, [e.category for e in examples])
        self._sentiment = _model().fit(matrix, [e.sentiment for e in examples])
        self._competitor = _model(balanced=True).fit(matrix, [e.mentions_competitor for e in examples])
        self._leaving = _model(balanced=True).fit(matrix, [e.intends_to_leave for e in examples])

    def classify(self, texts: Sequence[str]) -> list[Triage]:
        if not texts:
            return []
        clipped = [_clip(text) for text in texts]
        matrix = self._features.transform(clipped)
        categories = self._category.predict(matrix)
        sentiments = self._sentiment.predict(matrix)
        competitor = self._competitor.predict(matrix)
        leaving = self._leaving.predict(matrix)
        found = []
        for i, text in enumerate(clipped):
            found.append(
                Triage(
                    category=str(categories[i]),  # type: ignore[arg-type]
                    sentiment=str(sentiments[i]),  # type: ignore[arg-type]
                    mentions_competitor=bool(competitor[i]) or bool(_COMPETITOR.search(text)),
                    intends_to_leave=_leaving_by_words(text, bool(leaving[i])),
                )
            )
        return found


def _clip(text: str) -> str:
    return text[:MAX_CHARACTERS]


def _leaving_by_words(text: str, model_says: bool) -> bool:
    if _STAYING.search(text):
        return False
    return model_says or bool(_LEAVING.search(text))


@cache
def shipped() -> Classifier:
    """The classifier trained on the examples Retain ships."""
    return Classifier(read_examples("train"))


@dataclass(frozen=True)
class Evaluation:
    examples: int
    category: float
    sentiment: float
    mentions_competitor: float
    intends_to_leave: float
    confusion: list[list[int]]  # rows: true category, columns: predicted, in CATEGORIES order


def evaluate(classifier: Classifier, examples: Sequence[Example]) -> Evaluation:
    """Accuracy of each answer on ``examples``, and the category confusion matrix."""
    found = classifier.classify([e.text for e in examples])
    index = {name: i for i, name in enumerate(CATEGORIES)}
    confusion = np.zeros((len(CATEGORIES), len(CATEGORIES)), dtype=int)
    for example, triage in zip(examples, found, strict=True):
        confusion[index[example.category], index[triage.category]] += 1

    def share(hits: int) -> float:
        return hits / len(examples) if examples else 0.0

    return Evaluation(
        examples=len(examples),
        category=share(sum(e.category == t.category for e, t in zip(examples, found, strict=True))),
        sentiment=share(sum(e.sentiment == t.sentiment for e, t in zip(examples, found, strict=True))),
        mentions_competitor=share(
            sum(e.mentions_competitor == t.mentions_competitor for e, t in zip(examples, found, strict=True))
        ),
        intends_to_leave=share(
            sum(e.intends_to_leave == t.intends_to_leave for e, t in zip(examples, found, strict=True))
        ),
        confusion=confusion.tolist(),
    )
