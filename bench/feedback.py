"""Classifying feedback at scale: 100,000 texts through the shipped classifier.

The texts are the held-out examples drawn with replacement and shuffled, so their lengths
and words are a customer's, not a generator's. Measured:
- training: fitting the four models on the shipped training set (done once per process);
- batch: ``Classifier.classify`` over all the texts at once, texts per second;
- the named baseline, one at a time: the same classifier called per text, as a web request
  handling one answer would, on a sample of 2,000;
- the accuracy figures on the held-out set, with the category confusion matrix.

    python bench/feedback.py [--texts 100000] [--out bench/results/feedback.json]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from retain.domain.feedback import CATEGORIES
from retain.feedback.classifier import Classifier, evaluate, read_examples

SINGLE = 2_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("bench/results/feedback.json"))
    args = parser.parse_args()
    console = Console()

    start = time.perf_counter()
    classifier = Classifier(read_examples("train"))
    training = time.perf_counter() - start

    held_out = read_examples("test")
    rng = random.Random(args.seed)
    texts = [rng.choice(held_out).text for _ in range(args.texts)]
    start = time.perf_counter()
    found = classifier.classify(texts)
    batch = time.perf_counter() - start
    assert len(found) == len(texts)

    sample = texts[:SINGLE]
    start = time.perf_counter()
    for text in sample:
        classifier.classify([text])
    single = time.perf_counter() - start

    result = evaluate(classifier, held_out)
    batch_rate, single_rate = len(texts) / batch, len(sample) / single
    table = Table(title=f"Feedback classifier: {len(texts):,} texts")
    for column in ("measure", "value"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    table.add_row("training (s)", f"{training:.2f}")
    table.add_row("batch (texts/s)", f"{batch_rate:,.0f}")
    table.add_row(f"one at a time, baseline (texts/s, {SINGLE:,})", f"{single_rate:,.0f}")
    table.add_row("ratio batch / baseline", f"{batch_rate / single_rate:.1f}x")
    for name in ("category", "sentiment", "mentions_competitor", "intends_to_leave"):
        table.add_row(f"held-out accuracy: {name} ({result.examples})", f"{getattr(result, name):.1%}")
    console.print(table)
    matrix = Table(title="Held-out categories: true (rows) by predicted (columns)")
    matrix.add_column("")
    for name in CATEGORIES:
        matrix.add_column(name[:12], justify="right")
    for name, row in zip(CATEGORIES, result.confusion, strict=True):
        matrix.add_row(name, *map(str, row))
    console.print(matrix)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "texts": len(texts), "training_seconds": training, "batch_seconds": batch,
        "batch_texts_per_second": batch_rate, "single_texts_per_second": single_rate,
        "ratio": batch_rate / single_rate, "held_out": asdict(result), "categories": list(CATEGORIES),
    }  # fmt: skip
    args.out.write_text(json.dumps(report, indent=2))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
