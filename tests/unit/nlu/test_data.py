"""nlu_data/: valid Rasa 3 training data, as the issue asks for, and the checks that keep it so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.nlu.data import (
    DataError,
    Example,
    data_hash,
    label_counts,
    load,
    load_examples,
    parse_annotations,
)
from bot.nlu.language import detect_language
from bot.nlu.rules import URGENCY_ORDER
from bot.nlu.topics import INTENT_TOPICS
from tests.conftest import REPO

DATA = REPO / "nlu_data"
DOMAIN = REPO / "bot" / "rasa" / "domain.yml"
REQUIRED_INTENTS = {
    "greet",
    "goodbye",
    "thanks",
    "affirm",
    "deny",
    "report_repair",
    "damp_mould",
    "report_asb",
    "make_complaint",
    "change_appointment",
    "cancel_appointment",
    "general_enquiry",
    "ask_human",
}


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return load_examples(DATA)


def test_the_data_is_valid_and_large_enough(examples: list[Example]) -> None:
    assert len(examples) >= 2000
    counts = label_counts(examples)
    assert set(counts) >= REQUIRED_INTENTS
    assert all(n >= 30 for n in counts.values()), counts
    assert {ex.urgency for ex in examples} == {"emergency", "urgent", "routine"}
    assert {ex.topic for ex in examples} == {"repair", "asb", "complaint", "general"}


def test_every_rasa_domain_intent_has_training_examples(examples: list[Example]) -> None:
    domain = yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))
    assert set(domain["intents"]) <= {ex.intent for ex in examples}


def test_the_generator_never_labels_from_the_hazard_rules() -> None:
    """The rules are tested against the data; data relabelled by them would test nothing."""
    source = (REPO / "tools" / "datagen.py").read_text(encoding="utf-8")
    assert "bot.nlu" not in source
    assert "find_hazards" not in source


def test_the_data_has_what_residents_really_write(examples: list[Example]) -> None:
    texts = [(ex.intent, ex.text.lower()) for ex in examples]

    def some(intent: str, pattern: str) -> int:
        rx = re.compile(pattern)
        return sum(1 for i, t in texts if i == intent and rx.search(t))

    assert some("make_complaint", r"third time|3rd time|again") >= 10  # repeat reports
    angry = [t for i, t in texts if i == "make_complaint" and "complain" not in t]
    assert len(angry) >= 200  # complaints that never say the word
    assert some("general_enquiry", r"park") >= 5  # parking is not ASB
    assert some("general_enquiry", r"party") >= 3  # nor is a one-off party
    assert some("report_repair", r"\b(?:pls|u|ur|wiv|abt)\b") >= 20  # SMS shorthand
    assert sum(1 for ex in examples if len(ex.text) > 300) >= 10  # long emails
    other = [ex for ex in examples if detect_language(ex.text) != "en"]
    assert len(other) >= 50  # Welsh and other languages, to be flagged
    assert sum(1 for ex in other if detect_language(ex.text) == "cy") >= 15


def test_the_files_are_rasa_3_yaml_with_urgency_as_metadata() -> None:
    for path in sorted((DATA / "nlu").glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert doc["version"] == "3.1"
        assert set(doc) == {"version", "nlu"}
        for item in doc["nlu"]:
            assert set(item) <= {"intent", "metadata", "examples"}
            assert item["metadata"]["urgency"] in URGENCY_ORDER
            for example in item["examples"]:
                assert set(example) <= {"text", "metadata"}
                assert set(example.get("metadata") or {}) <= {"urgency"}


def test_the_committed_data_is_what_the_generator_writes(tmp_path: Path) -> None:
    from tools import datagen

    assert datagen.main(["--out", str(tmp_path)]) == 0
    for path in sorted((tmp_path / "nlu").glob("*.yml")):
        assert (DATA / "nlu" / path.name).read_text(encoding="utf-8") == path.read_text(
            encoding="utf-8"
        ), f"{path.name}: re-run python -m tools.datagen"


# ---- validation errors --------------------------------------------------------------------
def _write(tmp_path: Path, body: str, name: str = "nlu.yml") -> Path:
    (tmp_path / name).write_text(body, encoding="utf-8")
    return tmp_path


GOOD = """version: "3.1"
nlu:
- intent: report_repair
  metadata:
    urgency: routine
  examples:
  - text: "the tap in the [kitchen](room) drips"
  - text: "I can smell gas"
    metadata:
      urgency: emergency
- intent: greet
  metadata: {urgency: routine}
  examples: |
    - hi
    - hello there
"""


def test_a_good_file_loads(tmp_path: Path) -> None:
    result = load(_write(tmp_path, GOOD))
    assert result.problems == []
    assert [(e.intent, e.urgency) for e in result.examples] == [
        ("report_repair", "routine"),
        ("report_repair", "emergency"),
        ("greet", "routine"),
        ("greet", "routine"),
    ]
    first = result.examples[0]
    assert first.text == "the tap in the kitchen drips"
    assert [(s.label, s.text, s.start) for s in first.entities] == [("room", "kitchen", 15)]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("nlu: []\n", 'version must be "3.1"'),
        ('version: "3.1"\nstories: []\nnlu: []\n', "unknown top-level keys"),
        ("- just\n- a list\n", "top level must be a mapping"),
        ('version: "3.1"\nnlu:\n- intent: make_tea\n  examples: "- hi"\n', "not an intent"),
        (
            'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n',
            "urgency None",
        ),
        (
            'version: "3.1"\nnlu:\n- intent: greet\n  metadata: {urgency: whenever}\n'
            "  examples: |\n    - hi\n",
            "urgency 'whenever'",
        ),
        (
            'version: "3.1"\nnlu:\n- intent: greet\n  metadata: {urgency: routine}\n'
            "  examples: |\n    - hi\n- intent: thanks\n  metadata: {urgency: routine}\n"
            "  examples: |\n    - HI\n",
            "duplicate",
        ),
        (
            'version: "3.1"\nnlu:\n- intent: greet\n  metadata: {urgency: routine}\n'
            "  examples: |\n    - hi [there](place)\n",
            "unknown entity 'place'",
        ),
        (
            'version: "3.1"\nnlu:\n- intent: greet\n  metadata: {urgency: routine}\n'
            "  examples: |\n    - hi [there\n",
            "malformed annotation",
        ),
        (
            'version: "3.1"\nnlu:\n- intent: greet\n  metadata: {urgency: routine}\n'
            "  colour: blue\n  examples: |\n    - hi\n",
            "unknown keys",
        ),
        (
            'version: "3.1"\nnlu:\n- intent: greet\n  metadata: {urgency: routine}\n'
            "  examples: |\n    hi\n",
            "without '- '",
        ),
        ('version: "3.1"\nnlu:\n- intent: greet\n  examples: [\n', "not readable YAML"),
    ],
)
def test_bad_data_is_reported(tmp_path: Path, body: str, problem: str) -> None:
    result = load(_write(tmp_path, body))
    assert any(problem in p for p in result.problems), result.problems
    with pytest.raises(DataError):
        load_examples(tmp_path)


def test_a_file_that_is_not_utf8_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "nlu.yml").write_bytes(b'version: "3.1"\nnlu:\n- intent: greet\xff\n')
    assert any("not readable" in p for p in load(tmp_path).problems)


def test_an_empty_directory_is_a_problem(tmp_path: Path) -> None:
    assert load(tmp_path).problems == [f"{tmp_path}: no .yml files"]


def test_other_rasa_items_are_allowed(tmp_path: Path) -> None:
    body = GOOD + "- synonym: kitchen\n  examples: |\n    - kitchn\n"
    assert load(_write(tmp_path, body)).problems == []


def test_the_data_hash_changes_with_the_data(tmp_path: Path) -> None:
    _write(tmp_path, GOOD)
    before = data_hash(tmp_path)
    assert data_hash(tmp_path) == before
    _write(tmp_path, GOOD + "  - text: a new one\n")
    assert data_hash(tmp_path) != before


def test_annotations_in_both_rasa_forms() -> None:
    text, spans = parse_annotations(
        'call [07700 900123](phone_number) or [M1 1AA]{"entity": "postcode"}'
    )
    assert text == "call 07700 900123 or M1 1AA"
    assert [(s.label, text[s.start : s.end]) for s in spans] == [
        ("phone_number", "07700 900123"),
        ("postcode", "M1 1AA"),
    ]


def test_every_intent_belongs_to_a_topic() -> None:
    assert set(INTENT_TOPICS.values()) == {"repair", "asb", "complaint", "general"}
