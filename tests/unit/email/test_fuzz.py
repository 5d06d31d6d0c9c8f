"""Issue 14: property-based fuzzing of `parse_email` and every decision taken on it, seeded
with real mail (the Sisimai corpus and hand-written resident mail) and mutated the way an
attacker or a broken mailer would: hostile fragments spliced into headers and bodies, bytes
flipped, mail cut short. Nothing may raise but `EmailParseError`, nothing may hang, and
whatever we would send back composes to one recipient with no added header.

Bounded: a few hundred examples, derandomised so CI sees the same ones every run.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.model import Channel, OutboundMessage
from bot.storage.fit import fit_inbound
from channels.email.bounces import failed_recipients
from channels.email.compose import ComposeError, build_email
from channels.email.loops import auto_reply_block_reason
from channels.email.parse import EmailParseError, parse_email
from channels.email.redact import redact_text
from tests.unit.email.helpers import raw_mail

# Per example, far above what a mail takes (milliseconds): only a hang or a quadratic
# blow-up on a spliced run comes near it.
PER_MAIL_SECONDS = 5.0


def _seeds() -> list[bytes]:
    seeds = [
        raw_mail(),
        raw_mail("Hi,\n\nOn Mon, 3 Mar 2025 Jo wrote:\n> old\n-- \nJo", Subject="Re: Boiler"),
        raw_mail("<p>Damp in <b>bedroom</b></p>", Content_Type="text/html; charset=utf-8"),
    ]
    configured = os.environ.get("DOORSTEP_SHARED_DIR")
    shared = (
        Path(configured) if configured else Path(__file__).resolve().parents[3] / ".." / "shared"
    )
    corpus = shared / "corpora" / "sisimai-set-of-emails"
    if corpus.is_dir():
        files = sorted(corpus.glob("*/*.eml"))
        # Every 12th file: all kinds of mail system, and the human mail, in bounded time.
        chosen = files[::12] + sorted(corpus.glob("not/*.eml"))
        seeds.extend(path.read_bytes()[:20_000] for path in chosen)
    return seeds


SEEDS = _seeds()

HOSTILE = [
    b"\x00",
    b"\r\n",
    b"\r",
    b"\n\n",
    b" " * 5000,
    b"\t \t" * 500,
    b"<" * 2000,
    b"<a " * 700,
    b"<!--" * 500,
    b"=?utf-8?q?victim@resident.example?= <attacker@evil.example>",
    b"=?utf-8?q?x=0D=0ABcc:_attacker2@evil.example?=",
    b"=?utf-8?b?AAAA?=",
    b"=?bogus?q?x?=",
    b"\xff\xfe\xed\xa0\x80",
    b"From: ",
    b"Subject: " + b"x" * 3000,
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n',
    b"Content-Type: text/html; charset=x-unknown\r\n",
    b"Content-Transfer-Encoding: base64\r\n\r\n!!!",
    b"--\r\n",
    b"a" * 3000 + b"@",
    b"Re: " * 300,
    b"[" * 500,
    b"_" * 2000 + b" " * 2000,
]


@st.composite
def mutated_mail(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["splice", "flip", "cut", "header"]))
        at = draw(st.integers(min_value=0, max_value=max(len(raw), 1)))
        if kind == "splice":
            raw[at:at] = draw(st.sampled_from(HOSTILE))
        elif kind == "flip" and raw:
            index = min(at, len(raw) - 1)
            raw[index] = draw(st.integers(min_value=0, max_value=255))
        elif kind == "cut":
            del raw[at:]
        else:
            name = draw(st.sampled_from([b"From", b"Subject", b"Sender", b"Content-Type", b"To"]))
            raw[0:0] = name + b": " + draw(st.sampled_from(HOSTILE)) + b"\r\n"
    return bytes(raw)


def _decide(raw: bytes) -> None:
    try:
        parsed = parse_email(raw)
    except EmailParseError as exc:
        assert exc.reason
        return
    msg = fit_inbound(parsed.inbound)
    reason = auto_reply_block_reason(parsed.message)
    if reason is not None:
        failed_recipients(parsed.message)
    redact_text(msg.body)
    assert "\n" not in (msg.subject or "") and "\x00" not in (msg.subject or "")
    assert "\x00" not in msg.body
    if reason is None and msg.sender:
        ack = OutboundMessage(
            channel=Channel.EMAIL,
            recipient=msg.sender,
            body="Thank you",
            idempotency_key="k",
            subject=f"Re: {msg.subject or ''} [DS-2026-000001]",
            in_reply_to=msg.external_id,
            references=msg.thread_refs,
        )
        try:
            mail = build_email(
                ack, from_address="r@l.example", from_name=None, domain_for_ids="l.example"
            )
        except ComposeError:
            return  # refused clearly: the outbox records it, nothing is sent anywhere else
        assert "Bcc" not in mail and "Cc" not in mail
        assert [a.addr_spec.lower() for a in mail["To"].addresses] == [msg.sender]


@settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated_mail())
def test_mutated_mail_never_raises_hangs_or_adds_a_recipient(raw: bytes) -> None:
    start = time.process_time()
    _decide(raw)
    assert time.process_time() - start < PER_MAIL_SECONDS
