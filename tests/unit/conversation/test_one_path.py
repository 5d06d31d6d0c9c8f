"""One path to the outbox: appointment answers and public social comment actions are
`Reply` values the one caller (bot.conversation.turns.TurnRunner) writes through
`enqueue_reply`, like every engine reply. The pure `outbound` keeps what those rows need
(their own exactly-once keys, the sender's meta, email when the number opted out)."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

from bot.conversation.engine import Redirect, Reply
from bot.conversation.turns import outbound
from bot.domain.model import Channel, InboundMessage, OutboundMessage

REPO = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
TEXT = InboundMessage(
    channel=Channel.SMS, external_id="SM1", sender="+447700900123", received_at=NOW, body="Yes"
)
ACK = OutboundMessage(
    channel=Channel.SMS,
    recipient="+447700900123",
    body="Thank you.",
    idempotency_key="ack:sms:SM1",
    interaction_id=7,
    kind="acknowledgement",
    meta={"clock": "ack-2"},
)


def test_a_reply_with_its_own_key_and_meta_keeps_both() -> None:
    reply = Reply("Confirmed.", kind="appointment_reply", key="appt-reply:SM1",
                  meta={"job_ref": "J-1"})  # fmt: skip
    row = outbound(reply, 0, message=TEXT, acknowledgement=None, interaction_id=7)
    assert (row.idempotency_key, row.meta["job_ref"], row.kind) == (
        "appt-reply:SM1",
        "J-1",
        "appointment_reply",
    )
    assert row.recipient == TEXT.sender and row.channel is Channel.SMS


def test_an_acknowledging_reply_with_its_own_key_carries_the_acknowledgement_clock() -> None:
    reply = Reply("Confirmed.", kind="appointment_reply", key="appt-reply:SM1",
                  acknowledges=True)  # fmt: skip
    row = outbound(reply, 0, message=TEXT, acknowledgement=ACK, interaction_id=7)
    assert row.idempotency_key == "appt-reply:SM1" and row.meta["clock"] == "ack-2"
    assert row.kind == "appointment_reply"


def test_a_redirected_reply_goes_by_email_with_the_clock_it_keeps() -> None:
    to = Redirect(Channel.EMAIL, "jane@example.net", subject="Your appointment", sender="r@x")
    reply = Reply("Cancelled.", kind="appointment_reply", key="appt-reply:SM1:email",
                  acknowledges=True, redirect=to)  # fmt: skip
    row = outbound(reply, 0, message=TEXT, acknowledgement=ACK, interaction_id=7)
    assert (row.channel, row.recipient, row.subject, row.sender) == (
        Channel.EMAIL,
        "jane@example.net",
        "Your appointment",
        "r@x",
    )
    assert row.idempotency_key == "appt-reply:SM1:email" and row.meta["clock"] == "ack-2"


_WRITES = {"enqueue", "enqueue_text", "enqueue_reply", "send_text", "enqueue_to_resident"}


def _writes(rel: str) -> list[str]:
    tree = ast.parse((REPO / rel).read_text(encoding="utf-8"))
    return [
        f"{rel}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr in _WRITES)
            or (isinstance(node.func, ast.Name) and node.func.id in _WRITES)
        )
    ]


def test_appointment_answers_and_comment_actions_do_not_write_the_outbox_themselves() -> None:
    assert _writes("actions/appointments/replies.py") == []
    assert _writes("channels/social/adapter.py") == []
