"""The embedded classifier: a blank spaCy English pipeline with two bag-of-words text
classifiers (intent and urgency) trained from nlu_data/, and the rules on top.

Bag-of-words (spaCy's TextCatBOW, words and word pairs) because it trains in seconds on two
cores, answers in a fraction of a millisecond, and on a few thousand short messages is as
accurate as the CNNs. The model sees a normalised text (lowercase, no apostrophes, SMS
shorthand spelled out, numbers and references masked), so "u", "ur" and "pls" cost it
nothing; the rules see the original.

The topic is the one whose intents have the most probability between them (a separate topic
model was tried: no more accurate, and a third slower to train and run). Urgency is the
model's, raised by the hazard rules and never lowered: an emergency hazard forces
`emergency`, an urgent one (threats, harassment...) at least `urgent`.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.nlu import rules
from bot.nlu.data import DEFAULT_SEED, Example, data_hash, load_examples
from bot.nlu.language import detect_language
from bot.nlu.topics import CONVERSATIONAL_INTENTS, INTENT_TOPICS, INTENTS, TOPICS, URGENCIES
from bot.nlu.types import Classification

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.pipeline import TextCategorizer

# Bump when the features or architecture change: a model from older code is then stale.
FEATURE_VERSION = "doorstep-nlu-5"
META_FILE = "doorstep-nlu.json"
PIPELINE_DIR = "pipeline"
MAX_CHARS = 100_000  # ~100 KB: beyond this only the start is read ("too_long")
COMPONENTS: dict[str, tuple[str, ...]] = {
    "textcat_intent": INTENTS,
    "textcat_urgency": URGENCIES,
}
EPOCHS = 10
BATCH_SIZE = 32
DROPOUT = 0.1
# Ten times thinc's default: a word seen in two examples ("hiya") still gets enough weight
# in ten epochs; accuracy elsewhere is unchanged.
LEARN_RATE = 0.01
# A hazard the model did not place ("there's a fire", said in a greeting) goes to the team
# that handles it; self-harm stays with the housing team (general), with the 999 signpost.
HAZARD_TOPICS = {
    "danger_to_life": "asb",
    "violence": "asb",
    "threat": "asb",
    "hate_crime": "asb",
    "domestic_abuse": "asb",
    "cuckooing": "asb",
    "harassment": "asb",
    "self_harm": "general",
}


# Languages the service answers in itself (English; Welsh under the Welsh Language
# Standards): a message in any other is flagged with the need "interpreter" (ACCESS).
SERVICE_LANGUAGES = frozenset({"en", "cy"})
# Safe when unsure: below an emergency, but the model gives emergency at least this much.
UNSURE = 0.25
UNSURE_QUESTION = "Is anyone in danger now, or is water near lights or sockets?"


class ModelError(Exception):
    """No usable model: missing, from other code (FEATURE_VERSION), or unreadable."""


_SMS = {
    "u": "you",
    "ur": "your",
    "pls": "please",
    "plz": "please",
    "plse": "please",
    "thx": "thanks",
    "thanx": "thanks",
    "ty": "thank you",
    "cos": "because",
    "coz": "because",
    "tmrw": "tomorrow",
    "tomoz": "tomorrow",
    "2nite": "tonight",
    "b4": "before",
    "rly": "really",
    "ppl": "people",
    "some1": "someone",
    "any1": "anyone",
    "r": "are",
    "&": "and",
    "wiv": "with",
    "w/": "with",
    "abt": "about",
    "wot": "what",
    "gonna": "going to",
    "2": "to",
    "4": "for",
    "appt": "appointment",
    "asap": "as soon as possible",
    "msg": "message",
    "lecky": "electric",
    "leccy": "electric",
}
_WORD_RE = re.compile(r"\S+")
_REPEATS = re.compile(r"(\w)\1{2,}")
_DIGITS = re.compile(r"\d+")


# The model reads the start of a long message, and no word longer than a word can be:
# spaCy's tokenizer takes quadratic time over one huge "word" (100 KB without a space took
# minutes), and a bag of words learns nothing from either.
MODEL_CHARS = 20_000
MODEL_WORD_CHARS = 40


def model_text(text: str) -> str:
    """What the statistical model reads (the rules read the original)."""
    t = text[:MODEL_CHARS].lower().replace("’", "'").replace("'", "")
    t = rules.REFERENCE_RE.sub(" refnum ", t)
    t = rules.PHONE_RE.sub(" phonenum ", t)
    t = rules.POSTCODE_RE.sub(" postcode ", t)
    t = _REPEATS.sub(r"\1\1", t)
    words = [_SMS.get(w, w)[:MODEL_WORD_CHARS] for w in _WORD_RE.findall(t)]
    return _DIGITS.sub("0", " ".join(words))


def _textcat_config(labels: int) -> dict[str, Any]:
    return {
        "model": {
            "@architectures": "spacy.TextCatBOW.v3",
            "exclusive_classes": True,
            "ngram_size": 2,
            "no_output_layer": False,
            # hash buckets: ~20k distinct words and pairs fit with few collisions
            "length": 2**15 if labels > 4 else 2**14,
        },
        "threshold": 0.0,
    }


def _blank() -> Language:
    import spacy

    nlp = spacy.blank("en")
    for name, labels in COMPONENTS.items():
        nlp.add_pipe("textcat", name=name, config=_textcat_config(len(labels)))
        pipe = _textcat(nlp, name)
        for label in labels:
            pipe.add_label(label)
    return nlp


def _batches(order: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(order), size):
        yield order[start : start + size]


def train_pipeline(
    examples: Sequence[Example], seed: int = DEFAULT_SEED, epochs: int = EPOCHS
) -> Language:
    """A trained spaCy pipeline (in memory). Deterministic for a given seed and data."""
    from spacy.training import Example as SpacyExample
    from thinc.api import fix_random_seed

    if not examples:
        raise ValueError("no training examples")
    fix_random_seed(seed)
    rng = random.Random(seed)
    nlp = _blank()
    optimizer = nlp.initialize()
    optimizer.learn_rate = LEARN_RATE
    docs = [nlp.make_doc(model_text(ex.text)) for ex in examples]
    # One Example list per component: each exclusive textcat must see only its own labels.
    truths = {
        "textcat_intent": [ex.intent for ex in examples],
        "textcat_urgency": [ex.urgency for ex in examples],
    }
    per_component = {
        name: [
            SpacyExample.from_dict(doc, {"cats": {lab: float(lab == gold) for lab in labels}})
            for doc, gold in zip(docs, truths[name], strict=True)
        ]
        for name, labels in COMPONENTS.items()
    }
    pipes = {name: _textcat(nlp, name) for name in COMPONENTS}
    order = list(range(len(docs)))
    for _ in range(epochs):
        rng.shuffle(order)
        for batch in _batches(order, BATCH_SIZE):
            for name, pipe in pipes.items():
                batch_examples = [per_component[name][i] for i in batch]
                pipe.update(batch_examples, sgd=optimizer, drop=DROPOUT)
    return nlp


def _textcat(nlp: Language, name: str) -> TextCategorizer:
    from spacy.pipeline import TextCategorizer

    pipe = nlp.get_pipe(name)
    if not isinstance(pipe, TextCategorizer):
        raise ModelError(f"pipeline component {name} is not a text classifier")
    return pipe


@dataclass(frozen=True, slots=True)
class TrainReport:
    model_dir: Path
    examples: int
    seconds: float
    data_hash: str
    seed: int
    size_bytes: int


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def model_hash(data_dir: Path) -> str:
    """Data and code version together: a model is current when its meta holds this."""
    return data_hash(data_dir, salt=FEATURE_VERSION)


def train(data_dir: Path, out_dir: Path, seed: int = DEFAULT_SEED) -> TrainReport:
    """Train on everything in data_dir and save the model (pipeline + metadata) to out_dir."""
    examples = load_examples(data_dir)
    digest = model_hash(data_dir)
    started = time.perf_counter()
    nlp = train_pipeline(examples, seed)
    seconds = time.perf_counter() - started
    save(nlp, out_dir, model_meta(digest, seed, len(examples), seconds))
    return TrainReport(out_dir, len(examples), seconds, digest, seed, _dir_size(out_dir))


def model_meta(digest: str, seed: int, examples: int, seconds: float) -> dict[str, Any]:
    return {
        "format": FEATURE_VERSION,
        "data_hash": digest,
        "seed": seed,
        "examples": examples,
        "train_seconds": round(seconds, 2),
        "intent_topics": INTENT_TOPICS,
    }


def save(nlp: Language, out_dir: Path, meta: dict[str, Any]) -> None:
    """Write the model beside out_dir and swap it in, so a reader never sees half a model."""
    import shutil
    import tempfile

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the model from the service's user
    try:
        nlp.to_disk(staging / PIPELINE_DIR)
        (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}-old-{time.time_ns()}")
            out_dir.rename(old)
            staging.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def read_meta(model_dir: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


# ---- input checks -----------------------------------------------------------------------
# C0 and C1 control characters (Unicode category Cc) except tab and newlines, and the
# replacement character a lossy decoder leaves behind.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
_SURROGATE = re.compile("[\ud800-\udfff]")
BINARY_SHARE = 0.1  # more control characters than this: not a message someone typed


def prepare(raw: object) -> tuple[str | None, str | None]:
    """(text to classify or None, error or None): what any input becomes, never an exception.

    Errors: "empty", "binary", "not_utf8", "not_text", or "too_long: ..." (the text is
    then the first MAX_CHARS characters, still classified).
    """
    if isinstance(raw, bytes | bytearray):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return None, "not_utf8"
    if not isinstance(raw, str):
        return None, "not_text"
    if _SURROGATE.search(raw):  # undecodable bytes smuggled in (surrogateescape)
        return None, "not_utf8"
    if not raw.strip():
        return None, "empty"
    error = None
    if len(raw) > MAX_CHARS:
        raw, error = raw[:MAX_CHARS], f"too_long: only the first {MAX_CHARS} characters read"
    sample = raw[:4096]
    if len(_CONTROL.findall(sample)) > BINARY_SHARE * len(sample):
        return None, "binary"
    text = _CONTROL.sub(" ", raw)
    if not text.strip():
        return None, "empty"
    return text, error


def empty_result(error: str) -> Classification:
    return Classification(
        topic="general",
        urgency="routine",
        intent="out_of_scope",
        confidence={},
        error=error,
    )


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in sorted(scores.items(), key=lambda kv: -kv[1])}


class SpacyClassifier:
    """`bot.nlu.types.Classifier` over a trained pipeline.

    `today`, when given, says what day a message arrives (for the heating season: no
    heating in winter is an emergency). Evaluation leaves it out, so the figures do not
    depend on the month they are run in.
    """

    def __init__(
        self,
        nlp: Language,
        meta: dict[str, Any] | None = None,
        *,
        today: Callable[[], date] | None = None,
        use_rules: bool = True,
    ) -> None:
        self.nlp = nlp
        self.meta = meta or {}
        self.today = today
        # False only to measure the model alone (evaluation): in service the rules always run.
        self.use_rules = use_rules

    @classmethod
    def load(cls, model_dir: Path, *, today: Callable[[], date] | None = None) -> SpacyClassifier:
        return cls(*load_pipeline(model_dir), today=today)

    def classify(self, text: str) -> Classification:
        prepared, error = prepare(text)
        if prepared is None:
            return empty_result(error or "empty")
        doc = self.nlp(model_text(prepared))
        return self._decide(prepared, doc.cats, error)

    def classify_many(self, texts: list[str]) -> list[Classification]:
        results: list[Classification | None] = [None] * len(texts)
        todo: list[tuple[int, str, str | None]] = []
        for i, raw in enumerate(texts):
            text, error = prepare(raw)
            if text is None:
                results[i] = empty_result(error or "empty")
            else:
                todo.append((i, text, error))
        docs = self.nlp.pipe((model_text(t) for _, t, _ in todo), batch_size=256)
        for (i, text, error), doc in zip(todo, docs, strict=True):
            results[i] = self._decide(text, doc.cats, error)
        return [r for r in results if r is not None]

    def _decide(self, text: str, cats: dict[str, float], error: str | None) -> Classification:
        today = self.today() if self.today else None
        return decide(text, cats, error, today=today, use_rules=self.use_rules)


def decide(
    text: str,
    cats: dict[str, float],
    error: str | None,
    *,
    today: date | None = None,
    use_rules: bool = True,
) -> Classification:
    """A Classification from a model's probabilities (intents and urgencies in one dict)
    and the rules: the one place topic, urgency, hazards and the question are decided, for
    every model (spaCy, the encoder).
    """
    if not any(cats.values()):  # no word left for the model (only quotes): no opinion
        cats = {"out_of_scope": 1.0, "routine": 1.0}
    intent_scores = {i: float(cats.get(i, 0.0)) for i in INTENTS}
    topic_scores = dict.fromkeys(TOPICS, 0.0)
    for intent, score in intent_scores.items():
        topic_scores[INTENT_TOPICS[intent]] += score
    urgency_scores = {u: float(cats.get(u, 0.0)) for u in URGENCIES}

    hazards = rules.find_hazards(text, today=today) if use_rules else ()
    topic = _topic(intent_scores, topic_scores)
    urgency = max(urgency_scores, key=urgency_scores.__getitem__)
    floor = rules.urgency_floor(hazards)
    if floor is not None and rules.URGENCY_ORDER[floor] > rules.URGENCY_ORDER[urgency]:
        urgency = floor
        urgency_scores[floor] = 1.0  # 1.0: a rule decided
    if hazards and topic == "general":
        topic = HAZARD_TOPICS.get(hazards[0].rule, "repair")
    ask = rules.question_for(hazards) if urgency != "emergency" else None
    if ask is None and urgency != "emergency" and urgency_scores["emergency"] >= UNSURE:
        ask = UNSURE_QUESTION  # the model half thinks so: ask rather than guess
    intent = max((i for i in INTENTS if INTENT_TOPICS[i] == topic), key=intent_scores.__getitem__)
    language = detect_language(text)
    needs = rules.find_needs(text)
    if language not in SERVICE_LANGUAGES:  # ACCESS: staff see it, and arrange a translation
        needs = (*needs, "interpreter")
    return Classification(
        topic=topic,
        urgency=urgency,
        intent=intent,
        confidence={
            "topic": _rounded(topic_scores),
            "urgency": _rounded(urgency_scores),
            "intent": _rounded(intent_scores),
        },
        hazards=hazards,
        entities=rules.find_entities(text),
        needs=needs,
        language=language,
        error=error,
        ask=ask,
    )


def _topic(intent_scores: dict[str, float], topic_scores: dict[str, float]) -> str:
    """The topic whose intents hold the most probability, leaving out the conversational
    intents unless one of them is the best: general has eleven intents to the others' one
    to four, so an unsure model's spread-out probability would otherwise pile up there
    (measured on triage-dev: most misrouted repairs and complaints went to general).
    """
    best = max(intent_scores, key=intent_scores.__getitem__)
    if best in CONVERSATIONAL_INTENTS:
        return INTENT_TOPICS[best]
    scores = dict(topic_scores)
    scores["general"] -= sum(intent_scores[i] for i in CONVERSATIONAL_INTENTS)
    return max(scores, key=scores.__getitem__)


def load_pipeline(model_dir: Path) -> tuple[Language, dict[str, Any]]:
    """The saved pipeline and its metadata, or ModelError saying why not."""
    import spacy

    meta = read_meta(model_dir)
    if meta is None:
        raise ModelError(f"no NLU model in {model_dir} ({META_FILE} missing or unreadable)")
    if meta.get("format") != FEATURE_VERSION:
        raise ModelError(
            f"the NLU model in {model_dir} is {meta.get('format')!r}; "
            f"this code needs {FEATURE_VERSION!r}"
        )
    try:
        nlp = spacy.load(model_dir / PIPELINE_DIR)
    except Exception as exc:  # any damage (spaCy, thinc, srsly each raise their own): retrain
        raise ModelError(f"the NLU model in {model_dir} cannot be read: {exc}") from exc
    missing = set(COMPONENTS) - set(nlp.pipe_names)
    if missing:
        raise ModelError(f"the NLU model in {model_dir} lacks {sorted(missing)}")
    return nlp, meta
