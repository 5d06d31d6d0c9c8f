"""The embedded NLU (spaCy bag-of-words + rules): training time, model size, load time and
memory, latency per message and batched throughput, against the NLU issue's targets; then
the models side by side on the development set, unseen template families and the training
data, each engine's latency and peak memory on one core (bench/nlu_compare.py), and Rasa
DIET beside spaCy and the default engine on the same data (bench/bench_rasa.py).

    .venv/bin/python -m bench nlu

Training runs here; loading, latency and memory are measured in a fresh process, so the
figures are what `doorstep serve` pays: import spaCy, load the model, classify. Latency is
per message through `classify` (rules, language detection and all), over nlu_data's
held-out texts after one warm-up pass; throughput is `classify_many` in batches of 256.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.table import print_table

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 3  # latency: passes over the held-out texts
THROUGHPUT_PASSES = 2  # throughput: passes over every text
BATCH = 256


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _child(model_dir: str, texts_file: str) -> None:
    """Runs in a fresh interpreter: load, warm up, measure; prints one JSON line."""
    base_rss = _rss_mb()
    started = time.perf_counter()
    from bot.nlu.spacy_classifier import SpacyClassifier

    classifier = SpacyClassifier.load(Path(model_dir))
    load_seconds = time.perf_counter() - started
    loaded_rss = _rss_mb()
    data = json.loads(Path(texts_file).read_text(encoding="utf-8"))
    held_out: list[str] = data["held_out"]
    every: list[str] = data["all"]

    started = time.perf_counter()
    classifier.classify(held_out[0])
    first_seconds = time.perf_counter() - started
    for text in held_out:  # warm-up: caches, and lingua for the non-English messages
        classifier.classify(text)
    warm_rss = _rss_mb()

    latencies: list[float] = []
    for _ in range(ROUNDS):
        for text in held_out:
            t0 = time.perf_counter()
            classifier.classify(text)
            latencies.append((time.perf_counter() - t0) * 1000)
    english = [t for t in held_out if len(t) < 400]
    started = time.perf_counter()
    count = 0
    for _ in range(THROUGHPUT_PASSES):
        for start in range(0, len(every), BATCH):
            count += len(classifier.classify_many(every[start : start + BATCH]))
    throughput = count / (time.perf_counter() - started)
    print(
        json.dumps(
            {
                "load_seconds": load_seconds,
                "first_seconds": first_seconds,
                "base_rss": base_rss,
                "loaded_rss": loaded_rss,
                "warm_rss": max(warm_rss, _rss_mb()),
                "p50": _percentile(latencies, 0.5),
                "p95": _percentile(latencies, 0.95),
                "p99": _percentile(latencies, 0.99),
                "mean": statistics.fmean(latencies),
                "messages": len(latencies),
                "short_share": len(english) / len(held_out),
                "throughput": throughput,
            }
        )
    )


def main() -> None:
    from bot.nlu.data import DEFAULT_SEED, load_examples, split
    from bot.nlu.spacy_classifier import (
        model_hash,
        model_meta,
        save,
        train_pipeline,
    )

    data_dir = REPO / "nlu_data"
    examples = load_examples(data_dir)
    _, test = split(examples)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        nlp = train_pipeline(examples, DEFAULT_SEED)
        train_wall, train_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        model_dir = work / "model"
        save(nlp, model_dir, model_meta(model_hash(data_dir), DEFAULT_SEED, len(examples), 0))
        size_mb = sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file()) / 1e6
        texts = work / "texts.json"
        payload = {"held_out": [ex.text for ex in test], "all": [ex.text for ex in examples]}
        texts.write_text(json.dumps(payload), encoding="utf-8")
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from bench.bench_nlu import _child; _child(sys.argv[1], sys.argv[2])",
                str(model_dir),
                str(texts),
            ],
            cwd=REPO,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            check=True,
            capture_output=True,
            text=True,
        )
    m = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"{len(examples)} examples; latency over {m['messages']} classifications of "
        f"{len(test)} held-out texts; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}\n"
    )
    print_table(
        ["measure", "value", "target"],
        [
            ["training (all data, wall)", f"{train_wall:.1f} s", "< 60 s on 2 cores"],
            ["training (CPU time)", f"{train_cpu:.1f} s", ""],
            ["model on disk", f"{size_mb:.1f} MB", "< 20 MB"],
            ["load (import spaCy + model)", f"{m['load_seconds']:.2f} s", ""],
            ["first message (cold)", f"{m['first_seconds'] * 1000:.0f} ms", ""],
            ["latency p50", f"{m['p50']:.2f} ms", "< 1 ms"],
            ["latency p95", f"{m['p95']:.2f} ms", ""],
            ["latency p99", f"{m['p99']:.2f} ms", ""],
            ["latency mean", f"{m['mean']:.2f} ms", ""],
            ["throughput (batches of 256)", f"{m['throughput']:,.0f} msg/s", ">= 2,000 msg/s"],
            ["RSS: interpreter", f"{m['base_rss']:.0f} MB", ""],
            ["RSS: model loaded", f"{m['loaded_rss']:.0f} MB", ""],
            ["RSS: after classifying (lingua loaded)", f"{m['warm_rss']:.0f} MB", ""],
        ],
    )
    from bench import nlu_compare

    print("\nModels side by side (targets on triage-dev with rules: topic macro-F1 >= 0.85, ")
    print("emergency→routine <= 3 %, routine→emergency <= 5 %):\n")
    nlu_compare.compare()
    with tempfile.TemporaryDirectory() as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps([ex.text for ex in test]), encoding="utf-8")
        nlu_compare.latency_and_memory(Path(tmp) / "model", texts_file)
    from bench import bench_rasa

    print("\nRasa DIET beside spaCy and the default engine, trained on the same data:\n")
    if bench_rasa.ready():
        bench_rasa.side_by_side()
    else:
        # DIET needs its own Python 3.10 environment with TensorFlow (scripts/rasa-setup)
        print(
            f"Rasa's environment is not ready ({bench_rasa.VENV}): run scripts/rasa-setup "
            "--no-train, then `bench rasa`. Last measured (docs/nlu.md): DIET + rules 0.763 "
            "topic macro-F1 on triage-dev, 9.5 ms p50 over HTTP, 1,107 MB resident."
        )


if __name__ == "__main__":
    main()
