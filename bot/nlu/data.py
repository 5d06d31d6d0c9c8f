"""Reads nlu_data/ (Rasa 3 YAML) into labelled examples, and checks it the way Rasa would.

Rasa trains on the very same files, so the checks are Rasa's rules (only known keys, entity
annotations it can parse, no text under two intents) plus Doorstep's own: every example has
an urgency, given in its metadata or its intent's metadata.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

import yaml

from bot.nlu.topics import INTENT_TOPICS, URGENCIES

# Rasa: [text](entity), [text](entity:value), [text]{"entity": "...", ...}
ANNOTATION_RE = re.compile(
    r"\[(?P<text>[^\]]+?)\](?:\((?P<entity>[^:)]+?)(?::(?P<value>[^)]+))?\)|\{(?P<json>[^}]+?)\})"
)
ENTITY_LABELS = ("postcode", "phone_number", "reference", "date", "room")
TOP_KEYS = {"version", "nlu"}
ITEM_KEYS = {"intent", "examples", "metadata"}
OTHER_ITEM_KINDS = {"synonym", "regex", "lookup"}  # valid Rasa, not used by this classifier
EXAMPLE_KEYS = {"text", "metadata"}
YAML_SUFFIXES = (".yml", ".yaml")


class DataError(ValueError):
    """nlu_data/ is not valid training data; the message lists what is wrong."""


@dataclass(frozen=True, slots=True)
class Span:
    label: str
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Example:
    text: str  # annotations removed
    intent: str
    urgency: str
    entities: tuple[Span, ...] = ()
    source: str = ""  # file the example came from

    @property
    def topic(self) -> str:
        return INTENT_TOPICS[self.intent]


@dataclass(slots=True)
class LoadResult:
    examples: list[Example] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def data_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.rglob("*") if p.is_file() and p.suffix in YAML_SUFFIXES)


def data_hash(data_dir: Path, salt: str = "") -> str:
    """A fingerprint of the training data: a model trained on other data is stale."""
    digest = hashlib.sha256(salt.encode())
    for path in data_files(data_dir):
        digest.update(path.relative_to(data_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def parse_annotations(marked: str) -> tuple[str, tuple[Span, ...]]:
    """Rasa-annotated text -> plain text and entity spans."""
    out: list[str] = []
    spans: list[Span] = []
    pos = 0
    length = 0
    for match in ANNOTATION_RE.finditer(marked):
        before = marked[pos : match.start()]
        out.append(before)
        length += len(before)
        value = match.group("text")
        label = match.group("entity")
        if label is None:
            try:
                label = str(json.loads("{" + match.group("json") + "}")["entity"])
            except (ValueError, KeyError, TypeError) as exc:
                raise DataError(f"bad entity annotation {match.group(0)!r}") from exc
        spans.append(Span(label.strip(), value, length, length + len(value)))
        out.append(value)
        length += len(value)
        pos = match.end()
    out.append(marked[pos:])
    return "".join(out), tuple(spans)


def _examples_of(item: dict[str, Any], where: str, problems: list[str]) -> list[tuple[str, Any]]:
    raw = item.get("examples")
    if isinstance(raw, str):  # the compact form: "- text" lines in one block
        lines = [ln.strip() for ln in raw.splitlines() if ln.strip()]
        out: list[tuple[str, Any]] = []
        for ln in lines:
            if not ln.startswith("- "):
                problems.append(f"{where}: example line without '- ': {ln[:60]!r}")
                continue
            out.append((ln[2:].strip(), None))
        return out
    if isinstance(raw, list):
        found: list[tuple[str, Any]] = []
        for entry in raw:
            if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
                problems.append(f"{where}: an example is not a mapping with a 'text' string")
                continue
            unknown = set(entry) - EXAMPLE_KEYS
            if unknown:
                problems.append(f"{where}: unknown example keys {sorted(unknown)}")
            found.append((entry["text"].strip(), entry.get("metadata")))
        return found
    problems.append(f"{where}: 'examples' must be a block string or a list")
    return []


def _urgency(metadata: Any, default: str | None) -> str | None:
    if isinstance(metadata, dict) and "urgency" in metadata:
        return str(metadata["urgency"])
    return default


def load(data_dir: Path) -> LoadResult:
    """Every example under data_dir, and every problem found (never raises for bad data)."""
    result = LoadResult()
    files = data_files(data_dir)
    if not files:
        result.problems.append(f"{data_dir}: no .yml files")
    seen: dict[str, str] = {}
    for path in files:
        name = path.relative_to(data_dir).as_posix()
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            result.problems.append(f"{name}: not readable YAML: {exc}")
            continue
        if not isinstance(doc, dict):
            result.problems.append(f"{name}: top level must be a mapping")
            continue
        unknown = set(doc) - TOP_KEYS
        if unknown:
            result.problems.append(f"{name}: unknown top-level keys {sorted(unknown)}")
        if str(doc.get("version", "")) != "3.1":
            result.problems.append(f'{name}: version must be "3.1"')
        for item in doc.get("nlu") or []:
            if not isinstance(item, dict):
                result.problems.append(f"{name}: an nlu item is not a mapping")
                continue
            if OTHER_ITEM_KINDS & set(item):
                continue
            where = f"{name}: intent {item.get('intent')!r}"
            unknown = set(item) - ITEM_KEYS
            if unknown:
                result.problems.append(f"{where}: unknown keys {sorted(unknown)}")
            intent = item.get("intent")
            if intent not in INTENT_TOPICS:
                result.problems.append(f"{where}: not an intent Doorstep knows")
                continue
            default = _urgency(item.get("metadata"), None)
            for marked, metadata in _examples_of(item, where, result.problems):
                urgency = _urgency(metadata, default)
                if urgency not in URGENCIES:
                    result.problems.append(f"{where}: urgency {urgency!r} for {marked[:60]!r}")
                    continue
                try:
                    text, spans = parse_annotations(marked)
                except DataError as exc:
                    result.problems.append(f"{where}: {exc}")
                    continue
                if "[" in text or "](" in text:
                    result.problems.append(f"{where}: malformed annotation in {marked[:60]!r}")
                for span in spans:
                    if span.label not in ENTITY_LABELS:
                        result.problems.append(f"{where}: unknown entity {span.label!r}")
                key = " ".join(text.lower().split())
                if not key:
                    result.problems.append(f"{where}: empty example")
                    continue
                if key in seen:
                    result.problems.append(
                        f"{where}: duplicate of an example in {seen[key]}: {text[:60]!r}"
                    )
                    continue
                seen[key] = f"{name} ({intent})"
                result.examples.append(Example(text, str(intent), urgency, spans, name))
    return result


def load_examples(data_dir: Path) -> list[Example]:
    """The examples, or DataError listing the first problems."""
    result = load(data_dir)
    if result.problems:
        shown = "\n".join(result.problems[:20])
        more = len(result.problems) - 20
        raise DataError(shown + (f"\n... and {more} more" if more > 0 else ""))
    return result.examples


def label_counts(examples: Iterable[Example]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ex in examples:
        counts[ex.intent] = counts.get(ex.intent, 0) + 1
    return counts


# ---- splits for evaluation ------------------------------------------------------------------
# Deterministic: each intent's examples are ordered by a hash of their text and the seed, so
# the same data gives the same split on every machine, and a new example moves no other
# example between train and test. Stratified by intent, so a small intent has examples on
# both sides. bench/bench_rasa.py finds `split` here and gives Rasa's DIET the same split.
T = TypeVar("T")
TEST_FRACTION = 0.2
DEFAULT_SEED = 13  # splits and training alike


class _Labelled(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def intent(self) -> str: ...


def _text_and_intent(item: object) -> tuple[str, str]:
    """Our Example, or a (text, intent, ...) tuple as bench/bench_rasa.py passes."""
    if isinstance(item, tuple):
        return str(item[0]), str(item[1])
    labelled = cast(_Labelled, item)
    return labelled.text, labelled.intent


def _order_key(text: str, seed: int) -> str:
    plain = ANNOTATION_RE.sub(lambda m: m.group("text"), text)  # annotated or not: the same
    return hashlib.sha256(f"{seed}\0{' '.join(plain.lower().split())}".encode()).hexdigest()


def _by_intent(items: Sequence[T], seed: int) -> dict[str, list[T]]:
    groups: dict[str, list[tuple[str, T]]] = {}
    for item in items:
        text, intent = _text_and_intent(item)
        groups.setdefault(intent, []).append((_order_key(text, seed), item))
    return {
        intent: [item for _, item in sorted(pairs, key=lambda pair: pair[0])]
        for intent, pairs in sorted(groups.items())
    }


def split(
    items: Sequence[T], test_fraction: float = TEST_FRACTION, seed: int = DEFAULT_SEED
) -> tuple[list[T], list[T]]:
    """(train, test): a stratified, deterministic held-out split.

    Accepts `Example`s or `(text, intent, ...)` tuples, so bench/bench_rasa.py gives Rasa
    exactly the split `doorstep nlu evaluate` uses.
    """
    train: list[T] = []
    test: list[T] = []
    for members in _by_intent(items, seed).values():
        n_test = max(1, round(len(members) * test_fraction)) if len(members) > 1 else 0
        test.extend(members[:n_test])
        train.extend(members[n_test:])
    return train, test


def split_blocked(
    items: Sequence[T], blocks: int = 10, test_blocks: int = 2, seed: int = DEFAULT_SEED
) -> tuple[list[T], list[T]]:
    """(train, test) where test is whole runs of neighbouring examples in file order.

    nlu_data/ is partly generated: one hand-written problem ("the tap in the {room} is
    dripping") gives several variants, written one after another. A random split puts some
    variants on each side, which flatters the model; cutting each intent into `blocks` runs
    and testing on `test_blocks` of them asks it about problems it never saw.
    """
    chosen = set(random.Random(seed).sample(range(blocks), test_blocks))
    by_intent: dict[str, list[T]] = {}
    for item in items:
        by_intent.setdefault(_text_and_intent(item)[1], []).append(item)
    train: list[T] = []
    test: list[T] = []
    for members in by_intent.values():
        n = len(members)
        for b in range(blocks):
            run = members[b * n // blocks : (b + 1) * n // blocks]
            (test if b in chosen else train).extend(run)
    return train, test


def folds(items: Sequence[T], k: int, seed: int = DEFAULT_SEED) -> list[tuple[list[T], list[T]]]:
    """k (train, test) pairs, stratified by intent; every item is tested exactly once."""
    if k < 2:
        raise ValueError("k-fold needs at least 2 folds")
    buckets: list[list[T]] = [[] for _ in range(k)]
    offset = 0
    for members in _by_intent(items, seed).values():
        for i, item in enumerate(members):
            buckets[(i + offset) % k].append(item)
        offset += len(members)  # small intents do not all start in fold 0
    return [
        ([item for j, bucket in enumerate(buckets) if j != i for item in bucket], buckets[i])
        for i in range(k)
    ]
