"""The models side by side on words nobody here wrote (NLU issue): the bag of words, the
sentence encoder (MiniLM, int8 through ONNX Runtime, as the default engine runs it) and the
two averaged (the default engine), each alone and with the rules, on the development set
(trained on all of nlu_data/), on nlu_data's unseen template families (trained on the rest)
and on the training data itself. Used by `bench nlu`; Rasa DIET's rows come from
`bench rasa` (its own process and environment), which `bench nlu` runs after these.

The encoder's sentence vectors are computed once per text and reused by every run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.table import print_table

REPO = Path(__file__).resolve().parents[1]
DEV_SET = Path(
    os.environ.get("DOORSTEP_TRIAGE_DEV")
    or REPO.parent / "shared" / "corpora" / "triage-dev" / "landlord_lists.tsv"
)


def _cats_from_heads(heads: Any, x: np.ndarray) -> list[dict[str, float]]:
    from bot.nlu.encoder import _softmax
    from bot.nlu.topics import INTENTS, URGENCIES

    out: list[dict[str, float]] = [{} for _ in range(len(x))]
    for name, labels in (("intent", INTENTS), ("urgency", URGENCIES)):
        weights, bias = heads[name]
        probs = _softmax(x @ weights + bias)
        for row, p in zip(out, probs, strict=True):
            row.update({label: float(v) for label, v in zip(labels, p, strict=True)})
    return out


def _mean(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: (float(a.get(k, 0.0)) + b.get(k, 0.0)) / 2 for k in set(a) | set(b)}


def _score(
    texts: Sequence[str], topics: Sequence[str], urgencies: Sequence[str], cats: Any, rules: bool
) -> dict[str, float]:
    from bot.nlu.devset import DevItem, score_dev
    from bot.nlu.spacy_classifier import decide

    items = [DevItem(t, u, x) for x, t, u in zip(texts, topics, urgencies, strict=True)]
    results = [decide(x, c, None, use_rules=rules) for x, c in zip(texts, cats, strict=True)]
    s = score_dev("", items, results)
    return {
        "f1": s.topic.macro_f1,
        "e2r": s.emergency_as_routine_share,
        "r2e": s.routine_as_emergency_share,
    }


def compare() -> list[list[object]]:
    from bot.nlu.data import DEFAULT_SEED, load_examples, split_blocked
    from bot.nlu.devset import load_dev
    from bot.nlu.encoder import EncoderUnavailable, train_softmax
    from bot.nlu.encoder_onnx import OnnxEncoder
    from bot.nlu.spacy_classifier import model_text, train_pipeline
    from bot.nlu.topics import INTENTS, URGENCIES

    examples = load_examples(REPO / "nlu_data")
    dev = load_dev(DEV_SET) if DEV_SET.exists() else []
    try:
        encoder: OnnxEncoder | None = OnnxEncoder()
    except (EncoderUnavailable, ImportError):
        encoder = None
    started = time.perf_counter()
    x_train = encoder.encode_many([model_text(e.text) for e in examples]) if encoder else None
    x_dev = encoder.encode_many([model_text(i.text) for i in dev]) if encoder and dev else None
    encode_seconds = time.perf_counter() - started

    def heads(idx: Sequence[int]) -> Any:
        assert x_train is not None
        return {
            "intent": train_softmax(x_train[list(idx)], [examples[i].intent for i in idx], INTENTS),
            "urgency": train_softmax(
                x_train[list(idx)], [examples[i].urgency for i in idx], URGENCIES
            ),
        }

    runs: dict[str, dict[str, Any]] = {}
    # development set: trained on everything
    if dev:
        every = list(range(len(examples)))
        nlp = train_pipeline(examples, DEFAULT_SEED)
        bow = [d.cats for d in nlp.pipe(model_text(i.text) for i in dev)]
        runs["triage-dev"] = {
            "texts": [i.text for i in dev],
            "topics": [i.topic for i in dev],
            "urgencies": [i.urgency for i in dev],
            "bow": bow,
        }
        if encoder is not None and x_dev is not None:
            runs["triage-dev"]["enc"] = _cats_from_heads(heads(every), x_dev)
    # unseen template families of nlu_data/
    indexed = [(e.text, e.intent, n) for n, e in enumerate(examples)]
    train, test = split_blocked(indexed, seed=DEFAULT_SEED)
    train_idx, test_idx = [t[2] for t in train], [t[2] for t in test]
    nlp = train_pipeline([examples[i] for i in train_idx], DEFAULT_SEED)
    runs["unseen templates"] = {
        "texts": [examples[i].text for i in test_idx],
        "topics": [examples[i].topic for i in test_idx],
        "urgencies": [examples[i].urgency for i in test_idx],
        "bow": [d.cats for d in nlp.pipe(model_text(examples[i].text) for i in test_idx)],
    }
    if encoder is not None and x_train is not None:
        runs["unseen templates"]["enc"] = _cats_from_heads(heads(train_idx), x_train[test_idx])

    # the training split: trained on everything, scored on what it was trained on (how well
    # it learned the data's own distribution; the least informative figure)
    if dev:
        every = list(range(len(examples)))
        runs["training data"] = {
            "texts": [e.text for e in examples],
            "topics": [e.topic for e in examples],
            "urgencies": [e.urgency for e in examples],
            "bow": [d.cats for d in train_pipeline(examples, DEFAULT_SEED).pipe(
                model_text(e.text) for e in examples)],
        }  # fmt: skip
        if encoder is not None and x_train is not None:
            runs["training data"]["enc"] = _cats_from_heads(heads(every), x_train)

    rows: list[list[object]] = []
    for model in ("bag of words (spaCy)", "encoder (MiniLM) + linear", "mean of both (default)"):
        for rules in (False, True):
            row: list[object] = [model + (" + rules" if rules else "")]
            for run in runs.values():
                if model.startswith("bag"):
                    cats = run["bow"]
                elif "enc" not in run:
                    cats = None
                elif model.startswith("encoder"):
                    cats = run["enc"]
                else:
                    cats = [_mean(a, b) for a, b in zip(run["bow"], run["enc"], strict=True)]
                if cats is None:
                    row += ["-", "-", "-"]
                    continue
                s = _score(run["texts"], run["topics"], run["urgencies"], cats, rules)
                row += [f"{s['f1']:.3f}", f"{s['e2r']:.1%}", f"{s['r2e']:.1%}"]
            rows.append(row)
    headers = ["model"]
    for name in runs:
        headers += [f"{name}: topic macro-F1", "emergency→routine", "routine→emergency"]
    print(
        f"{len(examples)} training examples; development set: "
        f"{len(dev) if dev else 'absent'}; encoder: "
        + (f"vectors for all texts in {encode_seconds:.0f} s" if encoder else "not installed")
        + f"; load average {os.getloadavg()[0]:.1f}\n"
    )
    print_table(headers, rows)
    sys.stdout.flush()  # a long run cut short by a timeout keeps what it measured
    return rows


_CHILD = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from bot.nlu.loader import load_or_train
clf = load_or_train(Path(sys.argv[1]), Path(sys.argv[2]), today=None, encoder=sys.argv[3] == "1")
load = time.perf_counter() - t0
texts = json.load(open(sys.argv[4]))
for t in texts[:20]:
    clf.classify(t)
lat, cpu = [], []
for t in texts:
    t0, c0 = time.perf_counter(), time.thread_time()
    clf.classify(t)
    lat.append((time.perf_counter() - t0) * 1000); cpu.append((time.thread_time() - c0) * 1000)
lat.sort(); cpu.sort()
rss = [int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(json.dumps({"load": load, "p50": lat[len(lat) // 2], "p95": lat[int(len(lat) * .95)],
                  "cpu_p50": cpu[len(cpu) // 2], "peak_rss": rss}))
"""


def latency_and_memory(
    model_dir: Path, texts_file: Path, data_dir: Path = REPO / "nlu_data"
) -> list[list[object]]:
    """p50 and peak memory of each engine in a fresh process on one core (what serve pays)."""
    from bot.nlu.encoder import EncoderUnavailable
    from bot.nlu.encoder import model_dir as weights

    try:
        weights()
        engines = [("spacy", "0"), ("spacy+encoder", "1")]
    except EncoderUnavailable:
        engines = [("spacy", "0")]
    rows: list[list[object]] = []
    for name, flag in engines:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _CHILD,
                str(model_dir),
                str(data_dir),
                flag,
                str(texts_file),
            ],
            cwd=REPO,
            env={
                **os.environ,
                "PYTHONWARNINGS": "ignore",
                "OMP_NUM_THREADS": "1",
                "OPENBLAS_NUM_THREADS": "1",
            },
            check=True,
            capture_output=True,
            text=True,
        )
        m = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(
            [
                name,
                f"{m['load']:.1f} s",
                f"{m['p50']:.2f} ms",
                f"{m['p95']:.2f} ms",
                f"{m['cpu_p50']:.2f} ms",
                f"{m['peak_rss']:.0f} MB",
            ]
        )
    print()
    # CPU time beside wall time: on a shared, loaded host wall time measures the neighbours
    print_table(
        ["engine (one core)", "load (train if needed)", "p50", "p95", "CPU p50", "peak RSS"], rows
    )
    return rows
