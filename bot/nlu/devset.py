"""Measuring triage on words nobody here wrote: a development set such as triage-dev.

A development set is a TSV file with the columns `topic urgency text` (more columns are
kept but not read), labelled from outside: by the publisher's own category, not by our
rules. Training data is never drawn from it, so its figures say how the classifier does on
other people's wording, which the held-out splits of nlu_data/ cannot.

Three figures decide whether triage is safe enough (NLU issue): topic macro-F1, the share
of emergencies called routine (a resident with no water told "we'll come in 20 days"), and
the share of routine items called emergency (an out-of-hours call-out for a dripping tap).
Each is given for the model alone and for the model with the hazard rules on top, so the
rules' part is visible.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.nlu.evaluate import Scores, score
from bot.nlu.topics import TOPICS, URGENCIES
from bot.nlu.types import Classification, Classifier

REQUIRED_COLUMNS = ("topic", "urgency", "text")
# NLU issue: targets on the development set.
TARGET_MACRO_F1 = 0.85
TARGET_EMERGENCY_AS_ROUTINE = 0.03
TARGET_ROUTINE_AS_EMERGENCY = 0.05


class DevSetError(ValueError):
    """The development set file is missing, unreadable or has bad rows."""


@dataclass(frozen=True, slots=True)
class DevItem:
    topic: str
    urgency: str
    text: str
    source: str = ""  # the publisher, when the file says


@dataclass(frozen=True, slots=True)
class DevMiss:
    item: DevItem
    topic: str
    urgency: str


@dataclass(slots=True)
class DevScores:
    name: str
    items: int
    topic: Scores
    urgency: Scores
    emergencies: int
    emergency_as_routine: int
    routine: int
    routine_as_emergency: int
    misses: list[DevMiss] = field(default_factory=list)

    @property
    def emergency_as_routine_share(self) -> float:
        return self.emergency_as_routine / self.emergencies if self.emergencies else 0.0

    @property
    def routine_as_emergency_share(self) -> float:
        return self.routine_as_emergency / self.routine if self.routine else 0.0

    @property
    def meets_targets(self) -> bool:
        return (
            self.topic.macro_f1 >= TARGET_MACRO_F1
            and self.emergency_as_routine_share <= TARGET_EMERGENCY_AS_ROUTINE
            and self.routine_as_emergency_share <= TARGET_ROUTINE_AS_EMERGENCY
        )


def load_dev(path: Path) -> list[DevItem]:
    """The rows of a development-set TSV, or DevSetError naming the first bad row."""
    try:
        with Path(path).open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise DevSetError(f"{path}: missing column(s) {', '.join(missing)}")
            items = []
            for n, row in enumerate(reader, start=2):
                topic, urgency = (row["topic"] or "").strip(), (row["urgency"] or "").strip()
                text = (row["text"] or "").strip()
                if topic not in TOPICS or urgency not in URGENCIES or not text:
                    raise DevSetError(f"{path}:{n}: bad row (topic {topic!r}, urgency {urgency!r})")
                items.append(DevItem(topic, urgency, text, (row.get("publisher") or "").strip()))
    except (OSError, UnicodeDecodeError) as exc:
        raise DevSetError(f"cannot read {path}: {exc}") from exc
    if not items:
        raise DevSetError(f"{path}: no rows")
    return items


def score_dev(name: str, items: Sequence[DevItem], results: Sequence[Classification]) -> DevScores:
    gold_u = [i.urgency for i in items]
    pred_u = [r.urgency for r in results]
    scores = DevScores(
        name=name,
        items=len(items),
        topic=score([i.topic for i in items], [r.topic for r in results], TOPICS),
        urgency=score(gold_u, pred_u, URGENCIES),
        emergencies=gold_u.count("emergency"),
        emergency_as_routine=sum(
            g == "emergency" and p == "routine" for g, p in zip(gold_u, pred_u, strict=True)
        ),
        routine=gold_u.count("routine"),
        routine_as_emergency=sum(
            g == "routine" and p == "emergency" for g, p in zip(gold_u, pred_u, strict=True)
        ),
    )
    for item, r in zip(items, results, strict=True):
        if item.topic != r.topic or item.urgency != r.urgency:
            scores.misses.append(DevMiss(item, r.topic, r.urgency))
    return scores


def evaluate_dev(name: str, classifier: Classifier, items: Sequence[DevItem]) -> DevScores:
    return score_dev(name, items, classifier.classify_many([i.text for i in items]))


def summary(scores: DevScores) -> str:
    return (
        f"{scores.name}: topic macro-F1 {scores.topic.macro_f1:.3f}; emergencies called routine "
        f"{scores.emergency_as_routine}/{scores.emergencies} "
        f"({scores.emergency_as_routine_share:.1%}); routine called emergency "
        f"{scores.routine_as_emergency}/{scores.routine} "
        f"({scores.routine_as_emergency_share:.1%}); urgency accuracy "
        f"{scores.urgency.accuracy:.3f}"
    )


def format_misses(scores: DevScores, limit: int) -> list[str]:
    """The worst misses first: emergencies called routine, then other urgency, then topic."""

    def badness(miss: DevMiss) -> int:
        if miss.item.urgency == "emergency" and miss.urgency == "routine":
            return 0
        if miss.item.urgency == "routine" and miss.urgency == "emergency":
            return 1
        return 2 if miss.item.urgency != miss.urgency else 3

    ordered = sorted(scores.misses, key=badness)[:limit]
    return [
        f"  {m.item.topic}/{m.item.urgency} -> {m.topic}/{m.urgency}: {m.item.text[:100]}"
        for m in ordered
    ]
