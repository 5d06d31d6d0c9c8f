"""The classifier the app uses: the saved model when it is current, else one trained now.

A model is current when its metadata holds the hash of today's training data and this
code's FEATURE_VERSION; editing nlu_data/ or the features therefore retrains on the next
start (about 10 s on two cores), and nobody has to remember `doorstep nlu train`.

Trained pipelines are kept for the life of the process, keyed by model directory and data
hash, so a test suite that bootstraps many apps trains at most once per model directory. A
file lock beside the model directory stops two processes starting together from training
twice or swapping half-written models.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.nlu.data import DEFAULT_SEED, DataError, data_files, load_examples
from bot.nlu.spacy_classifier import (
    FEATURE_VERSION,
    ModelError,
    SpacyClassifier,
    load_pipeline,
    model_hash,
    model_meta,
    read_meta,
    save,
    train_pipeline,
)
from bot.nlu.types import Classifier

if TYPE_CHECKING:
    from spacy.language import Language

log = logging.getLogger(__name__)
LONDON = ZoneInfo("Europe/London")

_cache: dict[tuple[Path, str], tuple[Language, dict[str, Any]]] = {}
_cache_lock = threading.Lock()
_encoder: Any = None  # one OnnxEncoder per process (read-only; its session is thread-safe)
_heads_cache: dict[str, Any] = {}


def london_today() -> date:
    """The day it is for the landlord (messages arrive now, in Europe/London)."""
    return datetime.now(LONDON).date()


def load_or_train(
    model_dir: Path,
    data_dir: Path,
    *,
    seed: int = DEFAULT_SEED,
    today: Callable[[], date] | None = london_today,
    encoder: bool = False,
) -> Classifier:
    """The embedded classifier, loaded from model_dir or trained from data_dir and saved.

    With `encoder`, the bag of words is averaged with a pretrained sentence encoder's head
    (`bot.nlu.encoder_onnx`, settings `nlu.engine: spacy+encoder`, the default); its heads
    are trained once per data version and kept in the encoder's cache folder.

    Raises DataError when the training data is invalid, ModelError when there is neither a
    usable model nor training data, EncoderUnavailable when `encoder` is asked for and its
    weights are not installed.
    """
    model_dir, data_dir = Path(model_dir), Path(data_dir)
    if encoder:
        from bot.nlu.encoder_onnx import check

        check()  # EncoderUnavailable now, before any training
    digest = model_hash(data_dir) if data_files(data_dir) else None
    key = (model_dir.resolve(), digest or "")
    with _cache_lock:
        cached = _cache.get(key)
        if cached is None:
            cached = _load_or_train(model_dir, data_dir, digest, seed)
            _cache[key] = cached
    nlp, meta = cached
    bow = SpacyClassifier(nlp, meta, today=today)
    if not encoder:
        return bow
    return _ensemble(bow, model_dir, data_dir, digest or "", today)


def _ensemble(
    bow: SpacyClassifier,
    model_dir: Path,
    data_dir: Path,
    digest: str,
    today: Callable[[], date] | None,
) -> Classifier:
    from bot.nlu import encoder as enc
    from bot.nlu import encoder_onnx

    global _encoder
    # Heads are trained on this build's vectors (a new graph or quantisation retrains them)
    # and depend on nothing but the data, so they are kept once per data version in the
    # encoder's cache folder, not per model directory: every app a test suite bootstraps,
    # and every serve on the machine, shares one training.
    digest = f"{digest}:onnx-v{encoder_onnx.BUILD_VERSION}"
    with _cache_lock:
        if _encoder is None:
            # EncoderUnavailable says which package to install; the first start builds the
            # int8 graph from the installed weights (a few seconds, in a child process)
            _encoder = encoder_onnx.OnnxEncoder()
        shared = _encoder
        heads = _heads_cache.get(digest)
        if heads is None:
            heads = _load_or_train_heads(shared, encoder_onnx.heads_path(digest), data_dir, digest)
        _heads_cache[digest] = heads
    return enc.EnsembleClassifier(bow, enc.EncoderClassifier(shared, heads), today=today)


def _load_or_train_heads(shared: Any, path: Path, data_dir: Path, digest: str) -> Any:
    from bot.nlu import encoder as enc

    heads = enc.load_heads(path, digest)
    if heads is not None:
        return heads
    with _file_lock(path.with_suffix("")):
        heads = enc.load_heads(path, digest)
        if heads is None:
            started = time.perf_counter()
            heads = enc.train_heads(shared, load_examples(data_dir))
            log.info("encoder heads trained in %.0f s", time.perf_counter() - started)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                enc.save_heads(heads, path, digest)
            except OSError as exc:
                log.warning("encoder heads trained but not saved to %s: %s", path, exc)
    return heads


def is_current(model_dir: Path, data_dir: Path) -> bool:
    """Is there a saved model for exactly this data and code (so loading will not train)?"""
    meta = read_meta(Path(model_dir))
    if meta is None or meta.get("format") != FEATURE_VERSION:
        return False
    return not data_files(Path(data_dir)) or meta.get("data_hash") == model_hash(Path(data_dir))


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _load_or_train(
    model_dir: Path, data_dir: Path, digest: str | None, seed: int
) -> tuple[Language, dict[str, Any]]:
    if digest is None:
        try:
            loaded = load_pipeline(model_dir)
        except ModelError as exc:
            raise ModelError(f"{exc}, and no training data in {data_dir} to train one") from exc
        log.warning("no NLU training data in %s: using %s as it is", data_dir, model_dir)
        return loaded
    with _file_lock(model_dir):
        meta = read_meta(model_dir)
        if meta and meta.get("format") == FEATURE_VERSION and meta.get("data_hash") == digest:
            try:
                return load_pipeline(model_dir)
            except ModelError as exc:
                log.warning("%s; training a new one", exc)
        elif meta:
            log.info("the NLU model in %s is stale (data or code changed): retraining", model_dir)
        return _train_and_save(model_dir, data_dir, digest, seed)


def _train_and_save(
    model_dir: Path, data_dir: Path, digest: str, seed: int
) -> tuple[Language, dict[str, Any]]:
    examples = load_examples(data_dir)  # DataError lists what is wrong
    started = time.perf_counter()
    nlp = train_pipeline(examples, seed)
    seconds = time.perf_counter() - started
    meta = model_meta(digest, seed, len(examples), seconds)
    try:
        save(nlp, model_dir, meta)
    except OSError as exc:  # a read-only deployment still gets a working classifier
        log.warning("NLU model trained but not saved to %s: %s", model_dir, exc)
    log.info("NLU model trained on %d examples in %.1f s (%s)", len(examples), seconds, model_dir)
    return nlp, meta


@contextlib.contextmanager
def _file_lock(model_dir: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # not POSIX: the in-process lock is all there is
        yield
        return
    lock_path = model_dir.parent / f".{model_dir.name}.lock"
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("a")
    except OSError:  # read-only: nobody else can be writing a model there either
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


__all__ = [
    "DataError",
    "ModelError",
    "clear_cache",
    "is_current",
    "load_or_train",
    "london_today",
]
