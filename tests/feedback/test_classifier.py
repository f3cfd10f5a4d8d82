"""The shipped feedback classifier, measured on examples it never trained on."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from retain.cli import app
from retain.domain.feedback import CATEGORIES, SENTIMENTS
from retain.feedback.classifier import evaluate, read_examples, shipped


def test_the_held_out_set_is_large_labelled_and_never_trained_on() -> None:
    train, test = read_examples("train"), read_examples("test")
    assert len(test) >= 200
    assert {e.text.strip().lower() for e in train}.isdisjoint(e.text.strip().lower() for e in test)
    for example in train + test:
        assert example.category in CATEGORIES
        assert example.sentiment in SENTIMENTS
    assert {e.category for e in test} == set(CATEGORIES)


def test_held_out_accuracy_meets_the_targets() -> None:
    result = evaluate(shipped(), read_examples("test"))
    assert result.category >= 0.85
    assert result.mentions_competitor >= 0.90
    assert result.intends_to_leave >= 0.90
    assert sum(map(sum, result.confusion)) == result.examples


@pytest.mark.parametrize(
    ("text", "competitor", "leaving"),
    [
        ("Honestly better than anything I found on Amazon.", True, False),
        ("I will never shop anywhere else, you are the best", False, False),
        ("Cancel my subscription. Done.", False, True),
        ("The parcel came a day early, thank you!", False, False),
        ("My parcel never arrived and I will shop at Amazon instead", True, True),
        ("Still going elsewhere for my beans after this", True, True),
    ],
)
def test_the_keyword_layer_settles_the_flags(text: str, competitor: bool, leaving: bool) -> None:
    (found,) = shipped().classify([text])
    assert (found.mentions_competitor, found.intends_to_leave) == (competitor, leaving)


def test_classify_prints_each_answer_as_json(cli: CliRunner) -> None:
    texts = ["My order arrived smashed and nobody answers the phone", "Love the new blend"]
    result = cli.invoke(app, ["feedback", "classify", *texts, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [row["text"] for row in rows] == texts
    keys = {"text", "category", "sentiment", "mentions_competitor", "intends_to_leave", "team"}
    assert all(set(row) == keys for row in rows)
    assert rows[1]["sentiment"] == "positive"


def test_classify_refuses_only_empty_text(cli: CliRunner) -> None:
    result = cli.invoke(app, ["feedback", "classify", "  "])
    assert result.exit_code == 1
    assert "not empty" in result.output
