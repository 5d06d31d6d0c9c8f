"""Scoring a development set: the three figures the NLU issue sets targets for."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlu.devset import DevItem, DevSetError, load_dev, score_dev
from bot.nlu.types import Classification
from tests.conftest import REPO

TRIAGE_DEV = REPO.parent / "shared" / "corpora" / "triage-dev" / "landlord_lists.tsv"


def _c(topic: str, urgency: str) -> Classification:
    return Classification(topic=topic, urgency=urgency, intent="report_repair")


def test_emergencies_called_routine_and_routine_called_emergency_are_counted() -> None:
    items = [
        DevItem("repair", "emergency", "no water"),
        DevItem("repair", "emergency", "gas smell"),
        DevItem("repair", "routine", "dripping tap"),
        DevItem("general", "routine", "how do I pay rent"),
    ]
    results = [
        _c("repair", "routine"),  # the miss that matters
        _c("repair", "emergency"),
        _c("repair", "emergency"),  # a call-out for a drip
        _c("general", "routine"),
    ]
    scores = score_dev("t", items, results)
    assert (scores.emergency_as_routine, scores.emergencies) == (1, 2)
    assert (scores.routine_as_emergency, scores.routine) == (1, 2)
    assert scores.emergency_as_routine_share == 0.5
    assert len(scores.misses) == 2
    assert not scores.meets_targets


def test_a_bad_file_is_refused_with_the_row(tmp_path: Path) -> None:
    path = tmp_path / "dev.tsv"
    path.write_text("topic\turgency\ttext\nrepair\tsoon\tleak\n", encoding="utf-8")
    with pytest.raises(DevSetError, match=r"dev.tsv:2"):
        load_dev(path)
    path.write_text("topic\ttext\nrepair\tleak\n", encoding="utf-8")
    with pytest.raises(DevSetError, match="urgency"):
        load_dev(path)
    with pytest.raises(DevSetError, match="cannot read"):
        load_dev(tmp_path / "absent.tsv")


@pytest.mark.skipif(not TRIAGE_DEV.exists(), reason="../shared/corpora/triage-dev is absent")
def test_triage_dev_loads() -> None:
    items = load_dev(TRIAGE_DEV)
    assert len(items) > 300
    assert {i.topic for i in items} == {"repair", "asb", "complaint", "general"}


def test_missing_encoder_weights_fall_back_to_spacy_naming_the_package(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    tiny_data: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot import bootstrap
    from bot.nlu import encoder
    from bot.nlu.spacy_classifier import SpacyClassifier
    from bot.settings import load_settings

    monkeypatch.setattr(encoder, "WEIGHTS_PACKAGE", "no_such_weights_package")
    config = tmp_path / "config.yml"
    config.write_text("doorstep: {}\n", encoding="utf-8")
    settings = load_settings(
        config,
        nlu={
            "engine": "spacy+encoder",
            "model_dir": str(tmp_path / "model"),
            "data_dir": str(tiny_data),
        },
    )
    with caplog.at_level("WARNING", logger="bot.bootstrap"):
        classifier = bootstrap.default_classifier(settings)
    assert isinstance(classifier, SpacyClassifier)  # still triages, rules and all
    assert classifier.classify("I can smell gas").urgency == "emergency"
    assert "no-such-weights-package" in caplog.text and "spaCy engine alone" in caplog.text
