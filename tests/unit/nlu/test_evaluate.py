"""Splits, scores and reports of `doorstep nlu evaluate`, with a keyword fake as the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlu.data import Example, folds, split, split_blocked
from bot.nlu.evaluate import (
    cross_validate,
    format_report,
    held_out,
    held_out_blocked,
    score,
    summary_line,
    write_confusion_png,
)
from tests.fakes import KeywordClassifier


def _examples() -> list[Example]:
    rows = [
        ("report_repair", "routine", "the boiler makes a noise {}"),
        ("report_repair", "emergency", "I can smell gas near the boiler {}"),
        ("report_asb", "routine", "noise from my neighbour {}"),
        ("make_complaint", "routine", "disgusted, third time I asked {}"),
        ("general_enquiry", "routine", "when are the bins collected {}"),
    ]
    return [
        Example(text.format(i), intent, urgency)
        for intent, urgency, text in rows
        for i in range(10)
    ]


def test_split_is_stratified_deterministic_and_disjoint() -> None:
    examples = _examples()
    train, test = split(examples)
    assert len(test) == 10 and len(train) == 40
    assert {ex.intent for ex in test} == {ex.intent for ex in examples}
    assert not {ex.text for ex in train} & {ex.text for ex in test}
    assert split(examples) == (train, test)
    assert split(list(reversed(examples)))[1] == sorted(test, key=test.index)  # order-free
    assert split(examples, seed=2)[1] != test


def test_split_takes_bench_rasa_tuples_and_ignores_annotations() -> None:
    plain = [(f"tap {i} in the kitchen", "report_repair", False) for i in range(10)]
    marked = [(f"tap {i} in the [kitchen](room)", "report_repair", False) for i in range(10)]
    assert [t[0] for t in split(plain)[1]] == [
        t[0].replace("[kitchen](room)", "kitchen") for t in split(marked)[1]
    ]


def test_blocked_split_holds_out_whole_runs() -> None:
    examples = _examples()
    train, test = split_blocked(examples, blocks=5, test_blocks=1)
    assert len(test) == 10 and len(train) == 40
    held = {ex.text for ex in test}
    for intent in {ex.intent for ex in examples}:
        members = [ex for ex in examples if ex.intent == intent]
        positions = [i for i, ex in enumerate(members) if ex.text in held]
        assert positions == list(range(positions[0], positions[0] + len(positions)))


def test_folds_test_every_example_once() -> None:
    examples = _examples()
    pairs = folds(examples, 5)
    tested = [ex.text for _, test in pairs for ex in test]
    assert sorted(tested) == sorted(ex.text for ex in examples)
    for train, test in pairs:
        assert not {ex.text for ex in train} & {ex.text for ex in test}
    with pytest.raises(ValueError):
        folds(examples, 1)


def test_scores() -> None:
    scores = score(["a", "a", "b", "b"], ["a", "b", "b", "b"], labels=("a", "b", "c"))
    a, b, c = scores.per_label
    assert (a.precision, a.recall, a.support) == (1.0, 0.5, 2)
    assert b.precision == pytest.approx(2 / 3) and b.recall == 1.0
    assert c.support == 0  # an absent label does not drag the macro average down
    assert scores.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)
    assert scores.accuracy == 0.75
    assert scores.confusion == ((1, 1, 0), (0, 2, 0), (0, 0, 0))


def test_evaluations_and_reports(tmp_path: Path) -> None:
    examples = _examples()
    runs = [
        held_out(examples, lambda _: KeywordClassifier()),
        held_out_blocked(examples, lambda _: KeywordClassifier()),
        cross_validate(examples, lambda _: KeywordClassifier(), 5),
    ]
    first = runs[0]
    assert first.emergencies >= 1 and first.emergency_recall == 1.0
    assert runs[2].test_size == len(examples)
    report = format_report(first)
    for needle in ("topic", "precision", "macro-F1", "gold \\ predicted", "emergency recall"):
        assert needle in report
    assert summary_line(runs[2]).startswith("5-fold: topic macro-F1")
    png = tmp_path / "reports" / "confusion.png"
    write_confusion_png(runs, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
