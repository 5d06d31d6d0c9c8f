"""How good the classifier is: a held-out split and k-fold cross-validation of nlu_data/.

The splits (`bot.nlu.data.split`, `split_blocked`, `folds`) are deterministic, so the same
data gives the same figures on every machine.

The figures that matter for triage: topic macro-F1 (which team), urgency accuracy, and the
recall of emergencies, reported on its own because one missed gas smell outweighs any
number of well-routed rent queries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bot.nlu.data import DEFAULT_SEED, TEST_FRACTION, Example, folds, split, split_blocked
from bot.nlu.types import Classification, Classifier


# ---- scores ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LabelScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Scores:
    """Per-label precision, recall and F1, and the confusion matrix (rows: gold)."""

    labels: tuple[str, ...]
    per_label: tuple[LabelScore, ...]
    confusion: tuple[tuple[int, ...], ...]
    accuracy: float

    @property
    def macro_f1(self) -> float:
        present = [s.f1 for s in self.per_label if s.support > 0]
        return sum(present) / len(present) if present else 0.0


def score(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = ()) -> Scores:
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    names = tuple(labels) or tuple(sorted(set(gold) | set(predicted)))
    names += tuple(sorted((set(gold) | set(predicted)) - set(names)))
    index = {label: i for i, label in enumerate(names)}
    matrix = [[0] * len(names) for _ in names]
    for g, p in zip(gold, predicted, strict=True):
        matrix[index[g]][index[p]] += 1
    per_label = []
    for i, label in enumerate(names):
        tp = matrix[i][i]
        support = sum(matrix[i])
        predicted_n = sum(row[i] for row in matrix)
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label.append(LabelScore(label, precision, recall, f1, support))
    correct = sum(matrix[i][i] for i in range(len(names)))
    return Scores(
        labels=names,
        per_label=tuple(per_label),
        confusion=tuple(tuple(row) for row in matrix),
        accuracy=correct / len(gold) if gold else 0.0,
    )


@dataclass(frozen=True, slots=True)
class Miss:
    text: str
    gold: str
    predicted: str


@dataclass(slots=True)
class Evaluation:
    """One evaluation run: scores for topic, urgency and intent, and emergency recall."""

    name: str
    train_size: int
    test_size: int
    topic: Scores
    urgency: Scores
    intent: Scores
    emergencies: int
    emergencies_found: int
    train_seconds: float
    missed_emergencies: list[Miss] = field(default_factory=list)
    topic_errors: list[Miss] = field(default_factory=list)

    @property
    def emergency_recall(self) -> float:
        return self.emergencies_found / self.emergencies if self.emergencies else float("nan")


def evaluate_on(
    name: str,
    classifier: Classifier,
    train_size: int,
    test: Sequence[Example],
    train_seconds: float = 0.0,
) -> Evaluation:
    from bot.nlu.topics import INTENTS, TOPICS, URGENCIES

    results: list[Classification] = classifier.classify_many([ex.text for ex in test])
    evaluation = Evaluation(
        name=name,
        train_size=train_size,
        test_size=len(test),
        topic=score([ex.topic for ex in test], [r.topic for r in results], TOPICS),
        urgency=score([ex.urgency for ex in test], [r.urgency for r in results], URGENCIES),
        intent=score([ex.intent for ex in test], [r.intent for r in results], INTENTS),
        emergencies=sum(ex.urgency == "emergency" for ex in test),
        emergencies_found=sum(
            ex.urgency == r.urgency == "emergency" for ex, r in zip(test, results, strict=True)
        ),
        train_seconds=train_seconds,
    )
    for ex, r in zip(test, results, strict=True):
        if ex.urgency == "emergency" and r.urgency != "emergency":
            evaluation.missed_emergencies.append(Miss(ex.text, ex.urgency, r.urgency))
        if ex.topic != r.topic:
            evaluation.topic_errors.append(Miss(ex.text, ex.topic, r.topic))
    return evaluation


Trainer = Callable[[Sequence[Example]], Classifier]


def held_out(
    examples: Sequence[Example],
    trainer: Trainer,
    test_fraction: float = TEST_FRACTION,
    seed: int = DEFAULT_SEED,
) -> Evaluation:
    import time

    train, test = split(examples, test_fraction, seed)
    started = time.perf_counter()
    classifier = trainer(train)
    seconds = time.perf_counter() - started
    return evaluate_on("held-out", classifier, len(train), test, seconds)


def held_out_blocked(
    examples: Sequence[Example], trainer: Trainer, seed: int = DEFAULT_SEED
) -> Evaluation:
    import time

    train, test = split_blocked(examples, seed=seed)
    started = time.perf_counter()
    classifier = trainer(train)
    seconds = time.perf_counter() - started
    return evaluate_on("unseen-templates", classifier, len(train), test, seconds)


def cross_validate(
    examples: Sequence[Example], trainer: Trainer, k: int, seed: int = DEFAULT_SEED
) -> Evaluation:
    """k-fold: every example predicted once by a model that never saw it; pooled scores."""
    import time

    from bot.nlu.topics import INTENTS, TOPICS, URGENCIES

    gold: list[Example] = []
    predicted: list[Classification] = []
    seconds = 0.0
    for train, test in folds(examples, k, seed):
        started = time.perf_counter()
        classifier = trainer(train)
        seconds += time.perf_counter() - started
        gold.extend(test)
        predicted.extend(classifier.classify_many([ex.text for ex in test]))
    pooled = Evaluation(
        name=f"{k}-fold",
        train_size=round(len(examples) * (k - 1) / k),
        test_size=len(gold),
        topic=score([ex.topic for ex in gold], [r.topic for r in predicted], TOPICS),
        urgency=score([ex.urgency for ex in gold], [r.urgency for r in predicted], URGENCIES),
        intent=score([ex.intent for ex in gold], [r.intent for r in predicted], INTENTS),
        emergencies=sum(ex.urgency == "emergency" for ex in gold),
        emergencies_found=sum(
            ex.urgency == r.urgency == "emergency" for ex, r in zip(gold, predicted, strict=True)
        ),
        train_seconds=seconds / k,
    )
    for ex, r in zip(gold, predicted, strict=True):
        if ex.urgency == "emergency" and r.urgency != "emergency":
            pooled.missed_emergencies.append(Miss(ex.text, ex.urgency, r.urgency))
        if ex.topic != r.topic:
            pooled.topic_errors.append(Miss(ex.text, ex.topic, r.topic))
    return pooled


# ---- reports -----------------------------------------------------------------------------
def format_scores(title: str, scores: Scores) -> list[str]:
    width = max(len(title), *(len(label) for label in scores.labels))
    lines = [
        f"{title:<{width}}  precision  recall     f1  support",
    ]
    for s in scores.per_label:
        lines.append(
            f"{s.label:<{width}}  {s.precision:9.3f}  {s.recall:6.3f}  {s.f1:5.3f}  {s.support:7d}"
        )
    lines.append(f"{'macro-F1':<{width}}  {'':9}  {'':6}  {scores.macro_f1:5.3f}")
    lines.append(f"{'accuracy':<{width}}  {'':9}  {'':6}  {scores.accuracy:5.3f}")
    return lines


def format_confusion(scores: Scores) -> list[str]:
    short = [label[:10] for label in scores.labels]
    corner = "gold \\ predicted"
    width = max(len(corner), *(len(label) for label in scores.labels))
    cell = max(5, *(len(s) for s in short))
    lines = [f"{corner:<{width}}  " + " ".join(f"{s:>{cell}}" for s in short)]
    for label, row in zip(scores.labels, scores.confusion, strict=True):
        lines.append(f"{label:<{width}}  " + " ".join(f"{n:>{cell}d}" for n in row))
    return lines


def summary_line(evaluation: Evaluation) -> str:
    return (
        f"{evaluation.name}: topic macro-F1 {evaluation.topic.macro_f1:.3f}, "
        f"emergency recall {evaluation.emergency_recall:.3f} "
        f"({evaluation.emergencies_found}/{evaluation.emergencies}), "
        f"urgency accuracy {evaluation.urgency.accuracy:.3f}, "
        f"intent accuracy {evaluation.intent.accuracy:.3f}"
    )


def format_report(evaluation: Evaluation, *, show_errors: int = 10) -> str:
    lines = [
        f"== {evaluation.name}: trained on {evaluation.train_size}, "
        f"tested on {evaluation.test_size} (training {evaluation.train_seconds:.1f} s"
        f"{' per fold' if 'fold' in evaluation.name else ''})",
        "",
        *format_scores("topic", evaluation.topic),
        "",
        *format_confusion(evaluation.topic),
        "",
        *format_scores("urgency", evaluation.urgency),
        "",
        *format_confusion(evaluation.urgency),
        "",
        f"emergency recall: {evaluation.emergency_recall:.3f} "
        f"({evaluation.emergencies_found} of {evaluation.emergencies} emergencies)",
        f"intent accuracy: {evaluation.intent.accuracy:.3f}, "
        f"intent macro-F1: {evaluation.intent.macro_f1:.3f}",
    ]
    for miss in evaluation.missed_emergencies:
        lines.append(f"  MISSED EMERGENCY (said {miss.predicted}): {_clip(miss.text)}")
    if show_errors and evaluation.topic_errors:
        lines.append(f"topic errors ({len(evaluation.topic_errors)}; first {show_errors}):")
        for miss in evaluation.topic_errors[:show_errors]:
            lines.append(f"  {miss.gold} -> {miss.predicted}: {_clip(miss.text)}")
    return "\n".join(lines)


def _clip(text: str, limit: int = 110) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class _Scored(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def topic(self) -> Scores: ...

    @property
    def urgency(self) -> Scores: ...


def write_confusion_png(evaluations: Iterable[_Scored], path: Path) -> None:
    """Topic and urgency confusion matrices, one row of panels per evaluation."""
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    import matplotlib.pyplot as plt

    runs = list(evaluations)
    fig, axes = plt.subplots(
        len(runs), 2, figsize=(11, 4.4 * len(runs)), squeeze=False, constrained_layout=True
    )
    for row, evaluation in enumerate(runs):
        for col, (what, scores) in enumerate(
            (("topic", evaluation.topic), ("urgency", evaluation.urgency))
        ):
            _confusion_panel(axes[row][col], scores, f"{evaluation.name}: {what}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _confusion_panel(ax: Any, scores: Scores, title: str) -> None:
    import numpy as np

    matrix = np.array(scores.confusion, dtype=float)
    totals = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    ticks = range(len(scores.labels))
    ax.set_xticks(list(ticks), labels=list(scores.labels), rotation=30, ha="right")
    ax.set_yticks(list(ticks), labels=list(scores.labels))
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(f"{title} (macro-F1 {scores.macro_f1:.3f})")
    for i, row in enumerate(scores.confusion):
        for j, count in enumerate(row):
            colour = "white" if shares[i, j] > 0.6 else "black"
            ax.text(j, i, str(count), ha="center", va="center", color=colour, fontsize=9)
