"""Which references a message quotes (bot/service/joining.py), against hostile input."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain import references
from bot.domain.model import Channel, InboundMessage
from bot.service.joining import quoted_references


def _msg(body: str, subject: str | None = None) -> InboundMessage:
    return InboundMessage(
        channel=Channel.EMAIL,
        external_id="<x@example.net>",
        sender="x@example.net",
        received_at=datetime(2026, 12, 21, tzinfo=UTC),
        body=body,
        subject=subject,
    )


def test_subject_first_each_once_mistyped_ignored() -> None:
    good = references.new_reference("DS")
    typo = good[:-2] + good[-1] + good[-2]  # two neighbours swapped
    found = quoted_references(
        _msg(f"about {typo} and {good.lower()} and DS-2026-000006", subject=f"Re: [{good}]")
    )
    assert found == [good, "DS-2026-000006"]  # (a swap of equal characters is no typo)


def test_a_message_full_of_references_costs_at_most_ten_lookups() -> None:
    many = " ".join(references.new_reference("DS") for _ in range(400))
    assert len(quoted_references(_msg(many))) == 10


def test_only_the_start_of_a_long_body_is_read() -> None:
    late = references.new_reference("DS")
    assert quoted_references(_msg("x" * 5000 + late)) == []
