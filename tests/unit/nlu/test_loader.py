"""load_or_train: loads a current model, trains (once per process) when there is none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.nlu import loader
from bot.nlu.data import DataError
from bot.nlu.spacy_classifier import (
    META_FILE,
    PIPELINE_DIR,
    ModelError,
    SpacyClassifier,
    load_pipeline,
    train_pipeline,
)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    loader.clear_cache()


def _meta(model_dir: Path) -> dict[str, object]:
    meta = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
    assert isinstance(meta, dict)
    return meta


def test_trains_saves_and_then_loads(tiny_data: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "var" / "models" / "nlu"
    assert not loader.is_current(model_dir, tiny_data)
    first = loader.load_or_train(model_dir, tiny_data, today=None)
    assert isinstance(first, SpacyClassifier)
    assert loader.is_current(model_dir, tiny_data)
    assert _meta(model_dir)["examples"] == 26
    assert first.classify("the tap is dripping").topic == "repair"

    # the same process: the cached pipeline, no training, no reading
    again = loader.load_or_train(model_dir, tiny_data, today=None)
    assert isinstance(again, SpacyClassifier) and again.nlp is first.nlp

    # a new process (an empty cache): loaded from disk, not retrained
    stamp = (model_dir / META_FILE).stat().st_mtime_ns
    loader.clear_cache()
    loaded = loader.load_or_train(model_dir, tiny_data, today=None)
    assert isinstance(loaded, SpacyClassifier) and loaded.nlp is not first.nlp
    assert (model_dir / META_FILE).stat().st_mtime_ns == stamp
    assert loaded.classify("black mould").intent == first.classify("black mould").intent


def test_changed_data_retrains(tiny_data: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    loader.load_or_train(model_dir, tiny_data, today=None)
    before = _meta(model_dir)["data_hash"]
    with (tiny_data / "nlu.yml").open("a", encoding="utf-8") as handle:
        handle.write("    - the bins are collected on a tuesday\n")
    assert not loader.is_current(model_dir, tiny_data)
    loader.load_or_train(model_dir, tiny_data, today=None)
    assert _meta(model_dir)["data_hash"] != before
    assert _meta(model_dir)["examples"] == 27


@pytest.mark.parametrize("damage", ["format", "pipeline", "meta"])
def test_a_stale_or_broken_model_is_replaced(tiny_data: Path, tmp_path: Path, damage: str) -> None:
    model_dir = tmp_path / "model"
    loader.load_or_train(model_dir, tiny_data, today=None)
    loader.clear_cache()
    if damage == "format":
        meta = _meta(model_dir)
        meta["format"] = "doorstep-nlu-0"
        (model_dir / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    elif damage == "pipeline":
        for path in sorted((model_dir / PIPELINE_DIR).rglob("*"), reverse=True):
            if path.is_file():
                path.write_bytes(b"garbage")
    else:
        (model_dir / META_FILE).write_text("{not json", encoding="utf-8")
    classifier = loader.load_or_train(model_dir, tiny_data, today=None)
    assert classifier.classify("the tap is dripping").topic == "repair"
    load_pipeline(model_dir)  # usable again on disk


def test_without_data_an_existing_model_is_used(tiny_data: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    loader.load_or_train(model_dir, tiny_data, today=None)
    loader.clear_cache()
    empty = tmp_path / "no-data"
    classifier = loader.load_or_train(model_dir, empty, today=None)
    assert classifier.classify("hi").topic == "general"


def test_without_data_or_model_the_error_says_so(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no training data"):
        loader.load_or_train(tmp_path / "model", tmp_path / "no-data", today=None)


def test_bad_data_is_a_data_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "nlu.yml").write_text('version: "3.1"\nnlu:\n- intent: make_tea\n', encoding="utf-8")
    with pytest.raises(DataError, match="make_tea"):
        loader.load_or_train(tmp_path / "model", data, today=None)
    assert not (tmp_path / "model").exists()


def test_training_is_deterministic(tiny_data: Path) -> None:
    from bot.nlu.data import load_examples

    examples = load_examples(tiny_data)
    first, second = train_pipeline(examples, seed=3), train_pipeline(examples, seed=3)
    assert first.to_bytes() == second.to_bytes()
    assert first.to_bytes() != train_pipeline(examples, seed=4).to_bytes()


def test_the_default_day_is_london_today(tiny_data: Path, tmp_path: Path) -> None:
    classifier = loader.load_or_train(tmp_path / "model", tiny_data)
    assert isinstance(classifier, SpacyClassifier)
    assert classifier.today is loader.london_today
