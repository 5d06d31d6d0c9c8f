"""`doorstep nlu train|evaluate|check` and `doorstep classify TEXT... | --file PATH`.

    doorstep nlu train [--data DIR] [--out DIR] [--seed N]
    doorstep nlu evaluate [--data DIR] [--folds K] [--png PATH] [--seed N] [--dev TSV]
    doorstep nlu check [--data DIR]
    doorstep classify TEXT...            one JSON object per TEXT
    doorstep classify --file PATH        one text per line ("-": standard input)

Directories default to the `nlu` section of config.yml (model_dir, data_dir). `classify`
trains a model first when there is none for the current data. Every input gets a result:
an empty, binary or non-UTF-8 line gets one whose `error` says so; a file that is not text
at all is a one-line error (exit 2).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import IO, Any

from bot.cli import CliError
from bot.nlu.types import Classifier

ECHO_CHARS = 1000  # the `text` field echoes at most this much of a long input
BATCH = 256
BINARY_SNIFF = 8192
# Held-out targets (NLU issue): evaluate exits 1 when one is missed.
TARGETS = {"topic macro-F1": 0.92, "emergency recall": 1.0, "urgency accuracy": 0.85}
DEFAULT_PNG = Path("var/reports/nlu-confusion.png")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("nlu", help="train, evaluate and check the embedded NLU")
    sub = parser.add_subparsers(dest="nlu_command", required=True)

    train = sub.add_parser("train", help="train the classifier on nlu_data/ and save it")
    train.add_argument("--data", type=Path, help="training data (default: nlu.data_dir)")
    train.add_argument("--out", type=Path, help="model directory (default: nlu.model_dir)")
    train.add_argument("--seed", type=int, default=None, help="random seed (default: 13)")
    train.set_defaults(handler=_train)

    evaluate = sub.add_parser(
        "evaluate", help="held-out and k-fold scores, confusion matrices (text and PNG)"
    )
    evaluate.add_argument("--data", type=Path, help="training data (default: nlu.data_dir)")
    evaluate.add_argument(
        "--folds", type=int, default=5, help="k for k-fold cross-validation; 0 skips it"
    )
    evaluate.add_argument(
        "--png", type=Path, default=DEFAULT_PNG, help=f"confusion matrices (default: {DEFAULT_PNG})"
    )
    evaluate.add_argument("--seed", type=int, default=None, help="split and training seed")
    evaluate.add_argument(
        "--errors", type=int, default=10, help="misrouted examples to list per run"
    )
    evaluate.add_argument(
        "--dev",
        type=Path,
        help="also score a development set (TSV: topic, urgency, text), model alone and "
        "model with rules, trained on all of --data",
    )
    evaluate.add_argument(
        "--dev-only", action="store_true", help="with --dev: skip the nlu_data/ splits"
    )
    evaluate.add_argument(
        "--engine",
        choices=("spacy", "spacy+encoder"),
        help="with --dev: the engine the targets are judged on (default: nlu.engine); "
        "spacy+encoder also prints the bag of words' rows beside it",
    )
    evaluate.set_defaults(handler=_evaluate)

    check = sub.add_parser("check", help="validate nlu_data/ (Rasa format, urgency labels)")
    check.add_argument("--data", type=Path, help="training data (default: nlu.data_dir)")
    check.set_defaults(handler=_check)

    classify = subparsers.add_parser(
        "classify", help="classify texts: one JSON object per text (topic, urgency, hazards...)"
    )
    classify.add_argument("texts", nargs="*", metavar="TEXT")
    classify.add_argument(
        "--file", type=Path, help="classify each line of this file ('-': standard input)"
    )
    classify.add_argument("--model", type=Path, help="model directory (default: nlu.model_dir)")
    classify.add_argument("--data", type=Path, help="training data (default: nlu.data_dir)")
    classify.add_argument(
        "--date",
        type=_iso_date,
        help="the day the messages arrived, YYYY-MM-DD (default: today; in the heating "
        "season no heating is an emergency)",
    )
    classify.add_argument(
        "--engine",
        choices=("spacy", "spacy+encoder"),
        help="the embedded engine (default: nlu.engine, as serve runs it)",
    )
    classify.set_defaults(handler=_classify)


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def _dirs(args: argparse.Namespace) -> tuple[Path, Path]:
    """(data_dir, model_dir) from the arguments, else from settings."""
    data: Path | None = getattr(args, "data", None)
    model: Path | None = getattr(args, "out", None) or getattr(args, "model", None)
    if data is None or model is None:
        from bot.cli.common import settings_from

        settings = settings_from(args)
        data = data or settings.nlu.data_dir
        model = model or settings.nlu.model_dir
    return data, model


def _examples(data_dir: Path) -> list[Any]:
    from bot.nlu.data import DataError, load_examples

    if not data_dir.is_dir():
        raise CliError(f"no training data: {data_dir} is not a directory")
    try:
        return load_examples(data_dir)
    except DataError as exc:
        problems = str(exc).splitlines()
        for line in problems[1:]:
            print(f"  {line}", file=sys.stderr)
        raise CliError(f"{data_dir} is not valid training data: {problems[0]}") from exc


# ---- nlu train / check --------------------------------------------------------------------
def _train(args: argparse.Namespace) -> int:
    from bot.nlu.data import DEFAULT_SEED, DataError
    from bot.nlu.spacy_classifier import train

    data_dir, model_dir = _dirs(args)
    _examples(data_dir)  # a readable error before any training
    seed = DEFAULT_SEED if args.seed is None else args.seed
    try:
        report = train(data_dir, model_dir, seed)
    except DataError as exc:
        raise CliError(f"{data_dir} is not valid training data: {exc}") from exc
    except OSError as exc:
        raise CliError(f"cannot write the model to {model_dir}: {exc}") from exc
    print(
        f"trained on {report.examples} examples in {report.seconds:.1f} s (seed {seed}); "
        f"model {report.size_bytes / 1e6:.1f} MB in {model_dir} "
        f"(data {report.data_hash[:12]})"
    )
    return 0


def _check(args: argparse.Namespace) -> int:
    from bot.nlu.data import label_counts, load

    data_dir, _ = _dirs(args)
    if not data_dir.is_dir():
        raise CliError(f"no training data: {data_dir} is not a directory")
    result = load(data_dir)
    for problem in result.problems:
        print(problem, file=sys.stderr)
    counts = label_counts(result.examples)
    urgencies: dict[str, int] = {}
    for ex in result.examples:
        urgencies[ex.urgency] = urgencies.get(ex.urgency, 0) + 1
    print(
        f"{len(result.examples)} examples, {len(counts)} intents, {len(result.problems)} problems"
    )
    for intent, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"  {intent:20} {n:5d}")
    print("  urgency: " + ", ".join(f"{u} {n}" for u, n in sorted(urgencies.items())))
    return 1 if result.problems else 0


# ---- nlu evaluate -------------------------------------------------------------------------
def _evaluate(args: argparse.Namespace) -> int:
    from bot.nlu import evaluate as ev
    from bot.nlu.data import DEFAULT_SEED
    from bot.nlu.spacy_classifier import SpacyClassifier, train_pipeline

    data_dir, _ = _dirs(args)
    examples = _examples(data_dir)
    seed = DEFAULT_SEED if args.seed is None else args.seed
    if args.folds == 1 or args.folds < 0:
        raise CliError("--folds must be 0 (skip) or at least 2")
    if len(examples) < 10:
        raise CliError(f"{data_dir} has {len(examples)} examples: too few to evaluate")

    def trainer(train: Any) -> SpacyClassifier:
        return SpacyClassifier(train_pipeline(train, seed))  # no date: season-independent

    dev_ok = True
    if args.dev is not None:
        dev_png = args.png.with_name(f"{args.png.stem}-dev{args.png.suffix}")
        engine = args.engine or _configured_engine(args)
        dev_ok = _evaluate_dev(args.dev, examples, seed, args.errors, dev_png, engine)
        if args.dev_only:
            return 0 if dev_ok else 1
    runs = [
        ev.held_out(examples, trainer, seed=seed),
        ev.held_out_blocked(examples, trainer, seed=seed),
    ]
    if args.folds:
        runs.append(ev.cross_validate(examples, trainer, args.folds, seed=seed))
    print(f"{len(examples)} examples from {data_dir}\n")
    for run in runs:
        print(ev.format_report(run, show_errors=args.errors))
        print()
    print("summary")
    for run in runs:
        print("  " + ev.summary_line(run))
    main = runs[0]
    figures = {
        "topic macro-F1": main.topic.macro_f1,
        "emergency recall": main.emergency_recall,
        "urgency accuracy": main.urgency.accuracy,
    }
    missed = [name for name, target in TARGETS.items() if not figures[name] >= target]
    print(
        "held-out targets: "
        + ", ".join(f"{name} {figures[name]:.3f} (≥ {TARGETS[name]:g})" for name in TARGETS)
        + (f"; MISSED: {', '.join(missed)}" if missed else "; all met")
    )
    try:
        ev.write_confusion_png(runs, args.png)
    except OSError as exc:
        raise CliError(f"cannot write {args.png}: {exc.strerror or exc}") from exc
    print(f"confusion matrices: {args.png}")
    return 1 if missed or not dev_ok else 0


def _configured_engine(args: argparse.Namespace) -> str:
    """nlu.engine, or spacy when it is rasa (these commands run the embedded engines)."""
    from bot.cli.common import settings_from

    configured = settings_from(args).nlu.engine
    return configured if configured != "rasa" else "spacy"


def _evaluate_dev(
    path: Path, examples: list[Any], seed: int, errors: int, png: Path, engine: str = "spacy"
) -> bool:
    """Train on every example, score the development set; True when the engine's targets
    (model + rules) are met."""
    from bot.nlu import devset
    from bot.nlu import evaluate as ev
    from bot.nlu.spacy_classifier import SpacyClassifier, train_pipeline

    try:
        items = devset.load_dev(path)
    except devset.DevSetError as exc:
        raise CliError(str(exc)) from exc
    nlp = train_pipeline(examples, seed)
    runs = [
        devset.evaluate_dev("spaCy model only", SpacyClassifier(nlp, use_rules=False), items),
        devset.evaluate_dev("spaCy model + rules", SpacyClassifier(nlp), items),
    ]
    if engine == "spacy+encoder":
        from bot.nlu import encoder as enc
        from bot.nlu.encoder_onnx import OnnxEncoder

        try:
            heads = enc.train_heads(encoder := OnnxEncoder(), examples)
        except enc.EncoderUnavailable as exc:
            raise CliError(f"--engine spacy+encoder: {exc}") from exc
        bow = SpacyClassifier(nlp, use_rules=False)
        for rules, name in (
            (False, "spaCy+encoder model only"),
            (True, "spaCy+encoder model + rules"),
        ):
            head = enc.EncoderClassifier(encoder, heads, use_rules=rules)
            ensemble = enc.EnsembleClassifier(bow, head, use_rules=rules)
            runs.append(devset.evaluate_dev(name, ensemble, items))
    print(
        f"development set {path}: {len(items)} items, model trained on {len(examples)}; "
        f"engine judged: {engine}\n"
    )
    with_rules = runs[-1]
    print(ev_format_confusion(with_rules))
    if errors:
        print(f"\nworst misses (model + rules; first {errors} of {len(with_rules.misses)}):")
        print("\n".join(devset.format_misses(with_rules, errors)))
    print()
    for run in runs:
        print("  " + devset.summary(run))
    print(
        f"development-set targets ({with_rules.name}): topic macro-F1 >= "
        f"{devset.TARGET_MACRO_F1}, "
        f"emergencies called routine <= {devset.TARGET_EMERGENCY_AS_ROUTINE:.0%}, routine "
        f"called emergency <= {devset.TARGET_ROUTINE_AS_EMERGENCY:.0%}: "
        + ("met" if with_rules.meets_targets else "NOT MET")
    )
    try:
        ev.write_confusion_png(runs, png)
    except OSError as exc:
        raise CliError(f"cannot write {png}: {exc.strerror or exc}") from exc
    print(f"confusion matrices (development set): {png}\n")
    return with_rules.meets_targets


def ev_format_confusion(scores: Any) -> str:
    from bot.nlu import evaluate as ev

    return "\n".join(
        [
            *ev.format_scores("topic", scores.topic),
            "",
            *ev.format_confusion(scores.topic),
            "",
            *ev.format_confusion(scores.urgency),
        ]
    )


# ---- classify -----------------------------------------------------------------------------
def _classify(args: argparse.Namespace) -> int:
    from bot.nlu.data import DataError
    from bot.nlu.encoder import EncoderUnavailable
    from bot.nlu.loader import ModelError, is_current, load_or_train, london_today

    if args.file is not None and args.texts:
        raise CliError("give TEXT... or --file PATH, not both")
    if args.file is None and not args.texts:
        raise CliError("nothing to classify: give TEXT... or --file PATH")
    with contextlib.ExitStack() as stack:
        # Opened (and sniffed) first: a binary file is refused before any training.
        handle = _open_input(args.file, stack) if args.file is not None else None
        data_dir, model_dir = _dirs(args)
        if not is_current(model_dir, data_dir):
            print(f"doorstep: training the NLU model into {model_dir} first", file=sys.stderr)
        day: date | None = args.date
        today: Callable[[], date] = london_today if day is None else (lambda: day)
        engine = args.engine or _configured_engine(args)
        try:
            try:
                classifier = load_or_train(
                    model_dir, data_dir, today=today, encoder=engine == "spacy+encoder"
                )
            except EncoderUnavailable as exc:
                print(f"doorstep: {exc}: using the spaCy engine alone", file=sys.stderr)
                classifier = load_or_train(model_dir, data_dir, today=today)
        except (DataError, ModelError) as exc:
            raise CliError(str(exc).splitlines()[0]) from exc

        out = sys.stdout
        if handle is None:
            _print_results(out, classifier, list(args.texts))
            return 0
        count = 0
        batch: list[str] = []
        for raw, cut in _lines(handle):
            # Undecodable bytes become lone surrogates, which the classifier reports as
            # "not_utf8" (command-line arguments arrive that way from Python already).
            text = raw.decode("utf-8", "surrogateescape")
            batch.append(text.rstrip(_STRAY_BYTES) if cut else text)
            if len(batch) >= BATCH:
                count += _print_results(out, classifier, batch)
                batch = []
        count += _print_results(out, classifier, batch)
    if count == 0:
        print(f"doorstep: {args.file} has no lines to classify", file=sys.stderr)
    return 0


def _open_input(path: Path, stack: contextlib.ExitStack) -> IO[bytes]:
    """The file (closed with the stack) or standard input (left open), checked for binary."""
    if str(path) == "-":
        handle: IO[bytes] = sys.stdin.buffer
    else:
        if path.is_dir():
            raise CliError(f"{path} is a directory, not a file of messages")
        try:
            handle = stack.enter_context(path.open("rb"))
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc.strerror or exc}") from exc
    peek = getattr(handle, "peek", None)
    head: bytes = peek(BINARY_SNIFF)[:BINARY_SNIFF] if peek is not None else b""
    if b"\0" in head:
        raise CliError(f"{path} looks like a binary file, not text with one message per line")
    return handle


# The bytes of a character split where an over-long line was cut (surrogateescape form).
_STRAY_BYTES = "".join(chr(c) for c in range(0xDC80, 0xDD00))


def _lines(handle: IO[bytes]) -> Iterator[tuple[bytes, bool]]:
    """(line without its ending, whether it was cut): an over-long line is read only as far
    as the classifier would read it, and the rest skipped without holding it in memory."""
    from bot.nlu.spacy_classifier import MAX_CHARS

    limit = MAX_CHARS * 4 + 4  # bytes: MAX_CHARS characters of up to 4 bytes, and one more
    while True:
        line = handle.readline(limit)
        if not line:
            return
        cut = len(line) == limit and not line.endswith(b"\n")
        rest = line if cut else b""
        while rest and not rest.endswith(b"\n"):  # skip the remainder of this line
            rest = handle.readline(limit)
        yield line.rstrip(b"\r\n"), cut


def _echo(text: str) -> str:
    """The text as printable UTF-8 (undecodable bytes shown as U+FFFD), clipped."""
    shown = text[: ECHO_CHARS + 1].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return shown if len(shown) <= ECHO_CHARS else shown[:ECHO_CHARS] + "…"


def _print_results(out: IO[str], classifier: Classifier, texts: list[str]) -> int:
    if not texts:
        return 0
    results = classifier.classify_many(texts)
    for text, result in zip(texts, results, strict=True):
        line = {"text": _echo(text), **result.as_dict()}
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    out.flush()
    return len(texts)
