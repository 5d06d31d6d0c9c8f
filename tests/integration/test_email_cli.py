"""`doorstep email inspect FILE...`: one JSON line per file, the real pipeline, nothing sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import shared_dir

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(
        "doorstep:\n"
        f"  database_url: sqlite:///{tmp_path}/unused.db\n"
        "  nlu:\n"
        f"    model_dir: {REPO / 'var' / 'models' / 'nlu'}\n"
        f"    data_dir: {REPO / 'nlu_data'}\n",
        encoding="utf-8",
    )
    return path


def _mail(tmp_path: Path, name: str, headers: str, body: str) -> Path:
    path = tmp_path / name
    path.write_bytes(
        (
            "From: Sam Resident <sam@example.net>\r\nTo: repairs@example.org.uk\r\n"
            f"Message-ID: <{name}@example.net>\r\nDate: Mon, 2 Mar 2020 10:00:00 +0000\r\n"
            f"{headers}\r\n{body}\r\n"
        ).encode()
    )
    return path


def _run(capsys: pytest.CaptureFixture[str], config: Path, *files: Path) -> list[dict[str, object]]:
    status = main(["--config", str(config), "email", "inspect", *map(str, files)])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == len(files)
    assert status in (0, 1)
    return lines


def test_inspect_judges_each_file_and_sends_nothing(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    resident = _mail(
        tmp_path, "gas.eml", "Subject: smell in kitchen\r\n", "I can smell gas in my kitchen."
    )
    auto = _mail(
        tmp_path,
        "away.eml",
        "Subject: Out of office\r\nAuto-Submitted: auto-replied\r\n",
        "I am away until Monday.",
    )
    junk = tmp_path / "photo.eml"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    missing = tmp_path / "missing.eml"
    first, second, third, fourth = _run(capsys, config, resident, auto, junk, missing)

    assert first["would_acknowledge"] is True and first["reason"] is None
    assert (first["topic"], first["urgency"]) == ("repair", "emergency")
    ack = first["acknowledgement"]
    assert isinstance(ack, dict) and "0800 111 999" in str(ack["body"])
    assert ack["to"] == "sam@example.net"

    assert second["would_acknowledge"] is False
    assert "auto" in str(second["reason"]).lower()

    assert third["would_acknowledge"] is False
    assert third["file"] == str(junk)
    assert fourth["would_acknowledge"] is False and "cannot read" in str(fourth["error"])


@pytest.mark.corpus
def test_inspect_over_the_corpus_answers_people_only(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = shared_dir()
    folder = shared / "corpora" / "sisimai-set-of-emails" if shared else None
    if folder is None or not folder.is_dir():
        pytest.skip("../shared/corpora/sisimai-set-of-emails is not available")
    files = sorted((folder / "bsd").glob("*.eml"))[:120] + sorted((folder / "not").glob("*.eml"))
    lines = _run(capsys, config, *files)
    answered = {Path(str(line["file"])).name for line in lines if line["would_acknowledge"]}
    assert answered == {"is-not-bounce-01.eml", "is-not-bounce-02.eml"}


def test_each_file_is_judged_on_its_own(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No state between files (issue 20): an auto-reply in the same thread as an earlier
    file is still `auto-submitted`, not the earlier file's acknowledgement; and sender caps
    (per_sender_same_subject: 2) do not silence the third of three identical mails."""
    first = _mail(tmp_path, "first.eml", "Subject: Leaking tap\r\n", "My kitchen tap leaks.")
    auto = _mail(
        tmp_path,
        "auto.eml",
        "Subject: Re: Leaking tap\r\nAuto-Submitted: auto-replied\r\n"
        "In-Reply-To: <first.eml@example.net>\r\nReferences: <first.eml@example.net>\r\n",
        "I am away until Monday.",
    )
    same = [
        _mail(tmp_path, f"same{n}.eml", "Subject: Leaking tap\r\n", "My kitchen tap leaks.")
        for n in range(3)
    ]
    lines = _run(capsys, config, first, auto, *same, auto)
    assert lines[0]["would_acknowledge"] is True
    for judged in (lines[1], lines[-1]):
        assert judged["would_acknowledge"] is False, judged
        assert judged["acknowledgement"] is None
        assert "auto" in str(judged["reason"]).lower()
    assert [line["would_acknowledge"] for line in lines[2:-1]] == [True, True, True]
    alone = _run(capsys, config, auto)[0]
    assert alone["reason"] == lines[1]["reason"]
