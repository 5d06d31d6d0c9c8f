"""Rasa DIET beside the embedded engines, side by side on the same data: trained on nlu_data/
less two whole template families per intent, scored on those unseen families and on the
development set of landlords' own wording: topic macro-F1, emergencies called routine,
routine called emergency, p50/p95 latency per message, training time and peak memory.

    .venv/bin/python -m bench rasa

Needs Rasa's environment (scripts/rasa-setup --no-train creates it) and nlu_data/. DIET is
trained NLU-only with config.yml's pipeline; every engine sees the same training examples
and the same hazard rules (Rasa's answers go through `RasaClassifier`, which applies them).
When ../shared/corpora/triage-dev is present (or DOORSTEP_TRIAGE_DEV names a TSV), all are
also scored on it: words nobody here wrote. `bench nlu` prints this table too.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
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
Example = tuple[str, str, str]  # text, intent, urgency
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

    return [(i.text, TOPIC_INTENT[i.topic], i.urgency) for i in load_dev(path)]


def load_examples(data_dir: Path) -> list[Example]:
    """Every (text, intent, urgency) in nlu_data's Rasa YAML files, annotations kept."""
    found: list[Example] = []
    for path in sorted(data_dir.rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in doc.get("nlu") or []:
            intent = item.get("intent")
            if not intent:
                continue
            default = (item.get("metadata") or {}).get("urgency") or "routine"
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
                found.append((text, str(intent), str((meta or {}).get("urgency") or default)))
    return found


def split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    """Unseen template families: whole runs of neighbouring examples held out per intent
    (`bot.nlu.data.split_blocked`), so no test message has a variant in training."""
    from bot.nlu.data import split_blocked

    return split_blocked(examples)


def write_rasa_nlu(examples: list[Example], path: Path) -> None:
    # Urgency lives in each example's metadata (the embedded trainer requires it; Rasa ignores
    # it), as in nlu_data/ itself.
    by_intent: dict[str, list[dict[str, Any]]] = {}
    for text, intent, urgency in examples:
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
    """Peak resident memory (VmHWM) of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
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
    # A trained DIET is kept per training data and config (outside the repo): training is
    # most of this benchmark (10-15 minutes on a loaded two-core host), serving is not.
    key = hashlib.sha256(
        (work / "config.yml").read_bytes() + (train_dir / "nlu.yml").read_bytes()
    ).hexdigest()[:16]
    kept = RASA_HOME / "bench-models" / f"diet-{key}.tar.gz"
    started = time.perf_counter()
    if kept.exists():
        (work / "models").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kept, work / "models" / "diet.tar.gz")
    else:
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
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work / "models" / "diet.tar.gz", kept)
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
        # loading TensorFlow and the model took over two minutes on a loaded host
        deadline = time.monotonic() + 900
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"rasa run exited with status {proc.returncode}")
            try:
                if httpx.get(f"{url}/status", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.5)
        classifier = RasaClassifier(url, timeout=30)
        classifier.classify("warm up")
        rows = []
        for name, test in tests.items():
            latencies, topics, urgencies = [], [], []
            for text, _, _ in test:
                t0 = time.perf_counter()
                result = classifier.classify(text)
                latencies.append((time.perf_counter() - t0) * 1000)
                topics.append(result.topic)
                urgencies.append(result.urgency)
            memory = rss_mb(proc.pid)
            rows.append(
                _row(
                    "Rasa DIET + rules (HTTP /model/parse)",
                    name,
                    test,
                    topics,
                    urgencies,
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
import json, sys, time
from pathlib import Path
from bot.nlu.loader import load_or_train
model_dir, data_dir, texts = Path(sys.argv[1]), Path(sys.argv[2]), json.load(open(sys.argv[3]))
t0 = time.perf_counter()
clf = load_or_train(model_dir, data_dir, today=None, encoder=sys.argv[4] == "1")
train = time.perf_counter() - t0
clf.classify("warm up")
out = []
for text in texts:
    t0 = time.perf_counter(); r = clf.classify(text)
    out.append([r.topic, r.urgency, (time.perf_counter() - t0) * 1000])
rss = int([l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]) / 1024
print(json.dumps({"train": train, "results": out, "rss": rss}))
"""
ENGINES = {"spacy": ("spaCy + rules (in process)", "0"),
           "spacy+encoder": ("spaCy+encoder + rules (in process; the default)", "1")}  # fmt: skip


def bench_spacy(
    train_dir: Path, test: list[Example], work: Path, name: str, engine: str = "spacy"
) -> list[object]:
    label, flag = ENGINES[engine]
    texts = work / "texts.json"
    texts.write_text(json.dumps([t for t, _, _ in test]))
    done = subprocess.run(
        [sys.executable, "-c", _SPACY_CHILD, str(work / "spacy"), str(train_dir), str(texts), flag],
        cwd=REPO,
        env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
        check=True,
        capture_output=True,
        text=True,
    )
    data = json.loads(done.stdout.strip().splitlines()[-1])
    results = data["results"]
    return _row(
        label,
        name,
        test,
        [r[0] for r in results],
        [r[1] for r in results],
        [float(r[2]) for r in results],
        float(data["train"]),
        float(data["rss"]),
    )


def _row(
    name: str,
    test_set: str,
    test: list[Example],
    topics: list[str],
    urgencies: list[str],
    latencies: list[float],
    train_seconds: float,
    memory_mb: float,
) -> list[object]:
    gold_topics = [topic_of(intent) for _, intent, _ in test]
    gold = [u for _, _, u in test]
    emergencies = [i for i, u in enumerate(gold) if u == "emergency"]
    routine = [i for i, u in enumerate(gold) if u == "routine"]
    e2r = sum(urgencies[i] == "routine" for i in emergencies)
    r2e = sum(urgencies[i] == "emergency" for i in routine)
    return [
        name,
        test_set,
        f"{macro_f1(gold_topics, topics):.3f}",
        f"{e2r}/{len(emergencies)} ({e2r / max(len(emergencies), 1):.1%})",
        f"{r2e}/{len(routine)} ({r2e / max(len(routine), 1):.1%})",
        f"{percentile(latencies, 0.5):.1f}",
        f"{percentile(latencies, 0.95):.1f}",
        f"{train_seconds:.0f}",
        f"{memory_mb:.0f}",
    ]


HEADERS = [
    "engine",
    "test set",
    "topic macro-F1",
    "emergency→routine",
    "routine→emergency",
    "p50 ms",
    "p95 ms",
    "train s",
    "peak RSS MB",
]


def ready() -> bool:
    return (VENV / "bin" / "rasa").exists()


def side_by_side() -> list[list[object]]:
    """Rasa DIET, spaCy and the default engine, trained on the same data; prints one table."""
    examples = load_examples(REPO / "nlu_data")
    if len(examples) < 50:
        raise RuntimeError("nlu_data/ has too few examples to benchmark")
    if not ready():
        raise RuntimeError("Rasa's environment is missing: run scripts/rasa-setup --no-train")
    train, test = split(examples)
    tests = {"unseen templates": test}
    if DEV_SET.exists():
        tests["triage-dev"] = dev_examples(DEV_SET)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_rasa_nlu(train, work / "train" / "nlu.yml")
        rows = bench_rasa(work / "train", tests, work)
        for engine in ENGINES:
            for name, items in tests.items():
                rows.append(bench_spacy(work / "train", items, work, name, engine))
    print(
        f"{len(train)} training examples (nlu_data/ less two template families per intent), "
        f"{len(test)} unseen"
        + (
            f"; development set {DEV_SET.name}, {len(tests['triage-dev'])} items"
            if DEV_SET.exists()
            else ""
        )
        + f"; load average {os.getloadavg()[0]:.1f}\n"
    )
    print_table(HEADERS, rows)
    return rows


def main() -> None:
    side_by_side()


if __name__ == "__main__":
    main()
