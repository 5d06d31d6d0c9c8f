"""Rasa DIET against the embedded spaCy classifier, side by side on the same held-out split of
nlu_data/: topic macro-F1, emergency recall, p50/p95 latency per message, training time and
resident memory. Prints one table.

    .venv/bin/python -m bench rasa

Needs Rasa's environment (scripts/rasa-setup --no-train creates it) and nlu_data/. DIET is
trained NLU-only with config.yml's pipeline; both engines see the same training examples.
When ../shared/corpora/triage-dev is present (or DOORSTEP_TRIAGE_DEV names a TSV), both are
also scored on it: words nobody here wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bench.table import print_table

REPO = Path(__file__).resolve().parents[1]
RASA_HOME = Path(
    os.environ.get("DOORSTEP_RASA_HOME")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "doorstep" / "rasa"
)
VENV = RASA_HOME / "venv-3.6.21"
QUIET = {
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "RASA_TELEMETRY_ENABLED": "false",
}
Example = tuple[str, str, bool]  # text, intent, emergency
# Words nobody here wrote (NLU issue): scored too when present, by both engines, trained on
# the same 80% of nlu_data/ as the held-out rows.
DEV_SET = Path(
    os.environ.get("DOORSTEP_TRIAGE_DEV")
    or REPO.parent / "shared" / "corpora" / "triage-dev" / "landlord_lists.tsv"
)
# A development-set row has a topic, not an intent: one intent stands for each topic.
TOPIC_INTENT = {
    "repair": "report_repair",
    "asb": "report_asb",
    "complaint": "make_complaint",
    "general": "general_enquiry",
}


def dev_examples(path: Path) -> list[Example]:
    from bot.nlu.devset import load_dev

    return [(i.text, TOPIC_INTENT[i.topic], i.urgency == "emergency") for i in load_dev(path)]


def load_examples(data_dir: Path) -> list[Example]:
    """Every (text, intent, emergency) in nlu_data's Rasa YAML files."""
    found: list[Example] = []
    for path in sorted(data_dir.rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in doc.get("nlu") or []:
            intent = item.get("intent")
            if not intent:
                continue
            urgent_intent = (
                "emergency" in str(intent)
                or (item.get("metadata") or {}).get("urgency") == "emergency"
            )
            raw = item.get("examples") or ""
            lines: list[tuple[str, dict[str, Any] | None]]
            if isinstance(raw, str):
                lines = [(line, None) for line in raw.splitlines()]
            else:
                lines = [(str(e.get("text", "")), e.get("metadata")) for e in raw]
            for line, meta in lines:
                text = line.strip().removeprefix("- ").strip()
                if not text:
                    continue
                emergency = urgent_intent or (meta or {}).get("urgency") == "emergency"
                found.append((text, str(intent), bool(emergency)))
    return found


def split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    """The NLU area's own split when it has one; else a stable 80/20 split by text hash."""
    import importlib

    try:
        module = importlib.import_module("bot.nlu.data")
        chosen: Callable[[list[Example]], tuple[list[Example], list[Example]]] = module.split
        return chosen(examples)
    except (ImportError, AttributeError):
        pass
    train: list[Example] = []
    test: list[Example] = []
    for example in examples:
        bucket = int(hashlib.sha256(example[0].encode()).hexdigest()[:8], 16) % 5
        (test if bucket == 0 else train).append(example)
    return train, test


def write_rasa_nlu(examples: list[Example], path: Path) -> None:
    # Urgency lives in each example's metadata (the embedded trainer requires it; Rasa ignores
    # it). Only emergency/not is known here: enough for the topic and emergency figures.
    by_intent: dict[str, list[dict[str, Any]]] = {}
    for text, intent, emergency in examples:
        urgency = "emergency" if emergency else "routine"
        by_intent.setdefault(intent, []).append({"text": text, "metadata": {"urgency": urgency}})
    doc = {
        "version": "3.1",
        "nlu": [
            {"intent": intent, "examples": items} for intent, items in sorted(by_intent.items())
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    labels = sorted(set(gold))
    scores = []
    for label in labels:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(p == label and g != label for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0)
    return statistics.fmean(scores) if scores else 0.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def topic_of(intent: str) -> str:
    from bot.conversation.rasa_nlu import RasaClassifier

    return RasaClassifier("http://unused").topics.get(intent, "general")


def bench_rasa(train_dir: Path, tests: dict[str, list[Example]], work: Path) -> list[list[object]]:
    import httpx

    from bot.conversation.rasa_nlu import RasaClassifier

    config = yaml.safe_load((REPO / "config.yml").read_text())
    rasa_config = {k: config[k] for k in ("recipe", "language", "pipeline") if k in config}
    (work / "config.yml").write_text(yaml.safe_dump(rasa_config))
    env = {**os.environ, **QUIET}
    started = time.perf_counter()
    subprocess.run(
        [
            str(VENV / "bin" / "rasa"),
            "train",
            "nlu",
            "--config",
            str(work / "config.yml"),
            "--nlu",
            str(train_dir),
            "--out",
            str(work / "models"),
            "--fixed-model-name",
            "diet",
        ],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
    )
    train_seconds = time.perf_counter() - started
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            str(VENV / "bin" / "rasa"),
            "run",
            "--enable-api",
            "--model",
            str(work / "models" / "diet.tar.gz"),
            "--interface",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                if httpx.get(f"{url}/status", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        classifier = RasaClassifier(url, timeout=30)
        classifier.classify("warm up")
        rows = []
        for name, test in tests.items():
            latencies, topics, emergencies = [], [], []
            for text, _, _ in test:
                t0 = time.perf_counter()
                result = classifier.classify(text)
                latencies.append((time.perf_counter() - t0) * 1000)
                topics.append(result.topic)
                emergencies.append(result.urgency == "emergency")
            memory = rss_mb(proc.pid)
            rows.append(
                _row(
                    f"Rasa DIET (HTTP /model/parse), {name}",
                    test,
                    topics,
                    emergencies,
                    latencies,
                    train_seconds,
                    memory,
                )
            )
        classifier.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return rows


_SPACY_CHILD = """
import json, resource, sys, time
from pathlib import Path
from typing import Any
from bot.nlu.loader import load_or_train
model_dir, data_dir, texts = Path(sys.argv[1]), Path(sys.argv[2]), json.load(open(sys.argv[3]))
t0 = time.perf_counter(); clf = load_or_train(model_dir, data_dir); train = time.perf_counter() - t0
clf.classify("warm up")
out = []
for text in texts:
    t0 = time.perf_counter(); r = clf.classify(text)
    out.append([r.topic, r.urgency == "emergency", (time.perf_counter() - t0) * 1000])
rss = int([l for l in open("/proc/self/status") if l.startswith("VmRSS:")][0].split()[1]) / 1024
print(json.dumps({"train": train, "results": out, "rss": rss}))
"""


def bench_spacy(train_dir: Path, test: list[Example], work: Path, name: str) -> list[object]:
    texts = work / "texts.json"
    texts.write_text(json.dumps([t for t, _, _ in test]))
    done = subprocess.run(
        [sys.executable, "-c", _SPACY_CHILD, str(work / "spacy"), str(train_dir), str(texts)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    data = json.loads(done.stdout.strip().splitlines()[-1])
    results = data["results"]
    return _row(
        f"embedded spaCy (in process), {name}",
        test,
        [r[0] for r in results],
        [bool(r[1]) for r in results],
        [float(r[2]) for r in results],
        float(data["train"]),
        float(data["rss"]),
    )


def _row(
    name: str,
    test: list[Example],
    topics: list[str],
    emergencies: list[bool],
    latencies: list[float],
    train_seconds: float,
    memory_mb: float,
) -> list[object]:
    gold_topics = [topic_of(intent) for _, intent, _ in test]
    gold_emergency = [e for _, _, e in test]
    found = sum(p and g for p, g in zip(emergencies, gold_emergency, strict=True))
    recall = found / sum(gold_emergency) if any(gold_emergency) else float("nan")
    return [
        name,
        f"{macro_f1(gold_topics, topics):.3f}",
        f"{recall:.3f}",
        f"{percentile(latencies, 0.5):.1f}",
        f"{percentile(latencies, 0.95):.1f}",
        f"{train_seconds:.0f}",
        f"{memory_mb:.0f}",
    ]


def main() -> None:
    examples = load_examples(REPO / "nlu_data")
    if len(examples) < 50:
        raise RuntimeError("nlu_data/ has too few examples to benchmark")
    if not (VENV / "bin" / "rasa").exists():
        raise RuntimeError("Rasa's environment is missing: run scripts/rasa-setup --no-train")
    train, test = split(examples)
    tests = {"held-out": test}
    if DEV_SET.exists():
        tests["triage-dev"] = dev_examples(DEV_SET)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_rasa_nlu(train, work / "train" / "nlu.yml")
        rows = bench_rasa(work / "train", tests, work)
        for name, items in tests.items():
            rows.append(bench_spacy(work / "train", items, work, name))
    print(
        f"{len(train)} training and {len(test)} held-out examples from nlu_data/"
        + (f"; development set {DEV_SET}" if DEV_SET.exists() else "")
        + "\n"
    )
    print_table(
        ["engine", "topic macro-F1", "emergency recall", "p50 ms", "p95 ms", "train s", "RSS MB"],
        rows,
    )


if __name__ == "__main__":
    main()
