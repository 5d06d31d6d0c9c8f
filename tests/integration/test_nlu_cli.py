"""`doorstep nlu train|evaluate|check` and `doorstep classify`, through the real CLI entry
point, on the real nlu_data/ (training once for the module, into a temporary directory)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.nlu.data import load_examples
from tests.conftest import REPO

pytestmark = pytest.mark.integration

DATA = REPO / "nlu_data"
FIELDS = {
    "text",
    "topic",
    "urgency",
    "intent",
    "confidence",
    "hazards",
    "entities",
    "needs",
    "language",
    "error",
    "ask",
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "model"
    assert main(["nlu", "train", "--data", str(DATA), "--out", str(out), "--seed", "13"]) == 0
    return out


def _classify(model_dir: Path, *args: str) -> list[str]:
    return ["classify", "--model", str(model_dir), "--data", str(DATA), *args]


def _json_lines(out: str) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in out.splitlines()]
    for row in rows:
        assert set(row) == FIELDS
    return rows


def test_train_reports_what_it_did(model_dir: Path) -> None:
    meta = json.loads((model_dir / "doorstep-nlu.json").read_text(encoding="utf-8"))
    assert meta["seed"] == 13 and meta["examples"] >= 2000
    assert (model_dir / "pipeline" / "config.cfg").is_file()


def test_classify_texts(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        _classify(
            model_dir,
            "--date",
            "2026-07-01",
            "I can smell gas in the kitchen, call me on 07700 900123",
            "my neighbour plays loud music every night",
            "",
        )
    )
    captured = capsys.readouterr()
    assert code == 0
    assert captured.err == ""  # the model was current: no training note
    gas, noise, empty = _json_lines(captured.out)
    assert (gas["topic"], gas["urgency"]) == ("repair", "emergency")
    assert gas["hazards"] == [{"rule": "gas", "text": "smell gas", "signpost": "gas"}]
    assert {"label": "phone_number", "text": "07700 900123", "start": 43, "end": 55} in (
        gas["entities"]  # type: ignore[operator]
    )
    assert noise["topic"] == "asb"
    assert empty["error"] == "empty"


@pytest.mark.parametrize("engine", ["spacy", "spacy+encoder"])
def test_classify_runs_either_embedded_engine(
    model_dir: Path, capsys: pytest.CaptureFixture[str], engine: str
) -> None:
    # words of no training example: a landlord's list item and a resident's shorthand
    texts = ["Complete loss of electrical supply to the property", "no hot h2o since sat pls"]
    assert main(_classify(model_dir, "--engine", engine, *texts)) == 0
    power, water = _json_lines(capsys.readouterr().out)
    assert power["topic"] == water["topic"] == "repair"
    assert power["urgency"] == "emergency"  # the loss-of-supply rule, whatever the model says


def test_classify_a_file_one_line_each(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        b"the boiler is broken and we have no hot water",
        b"",
        b"caf\xe9 au lait is not utf-8",
        "Mae'r boeler wedi torri a does dim dŵr poeth".encode(),
        b"I can smell gas " + b"x" * 150_000,
        b"third time I've reported this leak and nobody came",
        ("I can smell gas " + "€" * 140_000).encode(),  # cut inside a 3-byte character
    ]
    path = tmp_path / "messages.txt"
    path.write_bytes(b"\r\n".join(lines) + b"\n")
    assert main(_classify(model_dir, "--file", str(path))) == 0
    rows = _json_lines(capsys.readouterr().out)
    assert len(rows) == len(lines)
    assert rows[0]["topic"] == "repair" and rows[0]["error"] is None
    assert rows[1]["error"] == "empty"
    assert rows[2]["error"] == "not_utf8" and rows[2]["text"] == "caf\ufffd au lait is not utf-8"
    assert rows[3]["language"] == "cy"
    assert str(rows[4]["error"]).startswith("too_long") and rows[4]["urgency"] == "emergency"
    assert len(str(rows[4]["text"])) == 1001  # echoed, clipped
    assert rows[5]["topic"] == "complaint"
    assert str(rows[6]["error"]).startswith("too_long") and rows[6]["urgency"] == "emergency"


def test_classify_standard_input(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"hello\nthanks\n"), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    assert main(_classify(model_dir, "--file", "-")) == 0
    assert [r["intent"] for r in _json_lines(capsys.readouterr().out)] == ["greet", "thanks"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "binary file"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: None, "cannot read"),
    ],
)
def test_classify_refuses_what_is_not_a_text_file(
    model_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: object,
    message: str,
) -> None:
    path = tmp_path / "input"
    make(path)  # type: ignore[operator]
    assert main(_classify(model_dir, "--file", str(path))) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1
    assert "Traceback" not in captured.err


def test_classify_an_empty_file(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    assert main(_classify(model_dir, "--file", str(path))) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "no lines to classify" in captured.err


@pytest.mark.parametrize("extra", [[], ["--file", "x.txt", "some text"]])
def test_classify_usage_errors(
    model_dir: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    assert main(_classify(model_dir, *extra)) == 2
    assert capsys.readouterr().err.startswith("doorstep: error: ")


def test_classify_trains_when_there_is_no_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _small_data(tmp_path)
    model = tmp_path / "fresh-model"
    assert main(["classify", "--model", str(model), "--data", str(data), "hi"]) == 0
    captured = capsys.readouterr()
    assert "training the NLU model" in captured.err
    assert (model / "doorstep-nlu.json").is_file()


def _small_data(tmp_path: Path, per_intent: int = 25) -> Path:
    """A Rasa file with the first examples of each intent: quick to train on."""
    by_intent: dict[str, list[dict[str, object]]] = {}
    for ex in load_examples(DATA):
        chosen = by_intent.setdefault(ex.intent, [])
        if len(chosen) < per_intent:
            chosen.append({"text": ex.text, "metadata": {"urgency": ex.urgency}})
    doc = {
        "version": "3.1",
        "nlu": [{"intent": i, "examples": rows} for i, rows in by_intent.items()],
    }
    data = tmp_path / "small-data"
    data.mkdir()
    (data / "nlu.yml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return data


def test_evaluate_prints_scores_and_writes_the_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _small_data(tmp_path)
    png = tmp_path / "out" / "confusion.png"
    code = main(["nlu", "evaluate", "--data", str(data), "--folds", "2", "--png", str(png)])
    out = capsys.readouterr().out
    assert code in (0, 1)  # 1: a held-out target missed on this small sample
    for needle in ("== held-out", "== unseen-templates", "== 2-fold", "gold \\ predicted"):
        assert needle in out
    assert "emergency recall" in out and "held-out targets:" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_scores_a_development_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _small_data(tmp_path)
    dev = tmp_path / "dev.tsv"
    dev.write_text(
        "topic\turgency\ttext\tpublisher\n"
        "repair\temergency\ttotal loss of water supply\tA\n"
        "repair\troutine\tdripping tap\tA\n"
        "general\troutine\thow do I pay my rent\tB\n",
        encoding="utf-8",
    )
    png = tmp_path / "confusion.png"
    code = main(
        ["nlu", "evaluate", "--data", str(data), "--dev", str(dev), "--dev-only", "--png", str(png)]
    )
    out = capsys.readouterr().out
    assert code in (0, 1)
    assert "model only: topic macro-F1" in out and "model + rules: topic macro-F1" in out
    assert "emergencies called routine 0/1" in out.split("model + rules:")[1]  # the rule
    assert (tmp_path / "confusion-dev.png").read_bytes()[:4] == b"\x89PNG"
    bad = tmp_path / "bad.tsv"
    bad.write_text("topic\ttext\nrepair\tleak\n", encoding="utf-8")
    assert main(["nlu", "evaluate", "--data", str(data), "--dev", str(bad), "--dev-only"]) == 2
    assert "urgency" in capsys.readouterr().err


def test_evaluate_and_train_reject_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["nlu", "evaluate", "--data", str(DATA), "--folds", "1"]) == 2
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "nlu.yml").write_text('version: "3.1"\nnlu:\n- intent: make_tea\n', encoding="utf-8")
    assert main(["nlu", "train", "--data", str(bad), "--out", str(tmp_path / "m")]) == 2
    assert "not valid training data" in capsys.readouterr().err
    assert main(["nlu", "train", "--data", str(tmp_path / "nowhere")]) == 2


def test_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nlu", "check", "--data", str(DATA)]) == 0
    assert "0 problems" in capsys.readouterr().out
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "nlu.yml").write_text('version: "3.1"\nnlu:\n- intent: make_tea\n', encoding="utf-8")
    assert main(["nlu", "check", "--data", str(bad)]) == 1
    assert "make_tea" in capsys.readouterr().err
