"""The trained classifier, once per test session (about 5 s on two cores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlu.spacy_classifier import SpacyClassifier
from tests.conftest import REPO

DATA = REPO / "nlu_data"

TINY = """version: "3.1"
nlu:
- intent: report_repair
  metadata: {urgency: routine}
  examples: |
    - the tap is dripping
    - the kitchen tap drips
    - window handle broken
    - door handle came off
    - toilet seat broken
    - cupboard door hanging off
- intent: damp_mould
  metadata: {urgency: urgent}
  examples: |
    - black mould on the wall
    - damp in the bedroom
    - mould in the bathroom
    - condensation and mould
- intent: report_asb
  metadata: {urgency: routine}
  examples: |
    - neighbour plays loud music
    - the dog next door barks all night
    - noisy neighbours upstairs
    - graffiti on the bin store
- intent: make_complaint
  metadata: {urgency: routine}
  examples: |
    - nobody turned up again
    - I want to complain about the service
    - still waiting after six weeks
    - your staff were rude
- intent: greet
  metadata: {urgency: routine}
  examples: |
    - hi
    - hello
    - good morning
    - hiya
- intent: general_enquiry
  metadata: {urgency: routine}
  examples: |
    - what are your opening hours
    - when are the bins collected
    - how do I pay my rent
    - I need a letter for the bank
"""


@pytest.fixture(scope="session")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> SpacyClassifier:
    """Trained on the real nlu_data/, with no date (season-independent)."""
    from bot.nlu.loader import load_or_train

    model_dir = tmp_path_factory.mktemp("nlu") / "model"
    loaded = load_or_train(model_dir, DATA, today=None)
    assert isinstance(loaded, SpacyClassifier)
    return loaded


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "nlu.yml").write_text(TINY, encoding="utf-8")
    return data
