"""Real bounces, feedback reports and auto-replies (the Sisimai set): none may be answered,
and the two ordinary human mails must be. Files are never special-cased by name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from channels.email.loops import auto_reply_block_reason
from channels.email.parse import EmailParseError, parse_email

pytestmark = pytest.mark.corpus

HUMAN_MAIL = ("is-not-bounce-01.eml", "is-not-bounce-02.eml")


def _shared_dir() -> Path | None:
    configured = os.environ.get("DOORSTEP_SHARED_DIR")
    candidate = (
        Path(configured) if configured else Path(__file__).resolve().parents[3] / ".." / "shared"
    )
    return candidate.resolve() if candidate.is_dir() else None


def _corpus(sub: str) -> list[Any]:
    shared = _shared_dir()
    folder = shared / "corpora" / "sisimai-set-of-emails" / sub if shared else None
    if folder is None or not folder.is_dir():
        reason = "../shared/corpora/sisimai-set-of-emails is not available"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="absent")]
    return [pytest.param(path, id=path.name) for path in sorted(folder.glob("*.eml"))]


@pytest.mark.parametrize("path", _corpus("bsd") + _corpus("not"))
def test_parse_never_crashes(path: Path) -> None:
    try:
        parsed = parse_email(path.read_bytes())
    except EmailParseError as exc:
        assert exc.reason
        return
    assert parsed.inbound.external_id
    assert parsed.inbound.received_at.tzinfo is not None


@pytest.mark.parametrize("path", _corpus("bsd"))
def test_no_bounce_or_auto_reply_gets_an_auto_reply(path: Path) -> None:
    try:
        parsed = parse_email(path.read_bytes())
    except EmailParseError:
        return  # quarantined: never answered either
    assert auto_reply_block_reason(parsed.message) is not None


@pytest.mark.parametrize("path", _corpus("not"))
def test_not_bounces(path: Path) -> None:
    parsed = parse_email(path.read_bytes())
    reason = auto_reply_block_reason(parsed.message)
    if path.name in HUMAN_MAIL:
        assert reason is None, f"{path.name} is a person's mail, blocked as {reason}"
    else:
        assert reason is not None
