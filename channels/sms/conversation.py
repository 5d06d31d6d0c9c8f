"""The SMS conversational step, run by the pipeline inside the message's transaction.

In order: HELP / INFO get our contact details; a YES that opted the number back in is
closed quietly; an answer to one of our appointment texts is handled by
`actions.appointments` (APPT, AFTER-JOB); anything else gets the standard acknowledgement,
which this step enqueues itself so that it is written for SMS (GSM-7, at most
`sms.max_ack_segments` segments) and waits out quiet hours unless it is urgent (ACK-2,
SAME-CHANNEL, EMERGENCY).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from bot.domain.interaction import ClockRules, settlements_on_close
from bot.domain.model import Channel, OutboundMessage
from bot.storage import tables as t
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import UnitOfWork, idempotency_key
from channels.sms import gsm
from channels.sms.optout import Keyword, keyword, single_word
from channels.sms.quiet import not_before

if TYPE_CHECKING:
    from bot.service.pipeline import Turn
    from bot.settings import Settings

log = logging.getLogger(__name__)

OPTED_IN_EVENT = "sms_opted_in"
OPTED_OUT_EVENT = "sms_opted_out"
PRESSING = ("emergency", "urgent")


def handle_keywords(turn: Turn) -> bool:
    """The channel's own words, answered before any conversation engine (built-in or
    Rasa): HELP / INFO, a YES that opted the number back in, and answers to our
    appointment texts (YES / NO / a new day). True when one of them was handled."""
    from actions.appointments import handle_reply

    msg = turn.message
    pipeline = turn.pipeline
    now: datetime = pipeline.now()
    uow: UnitOfWork = turn.uow
    found = keyword(msg.body)
    if found is Keyword.HELP:
        send_help(turn, now)
        return True
    if single_word(msg.body) == "YES" and _opted_in_by(uow, msg.external_id):
        if turn.acknowledgement is not None:
            close_interaction(
                uow, pipeline.clocks, turn.outcome.interaction_id, now, "opted in", answered=False
            )
        return True
    return bool(handle_reply(turn))


def handle_turn(turn: Turn) -> bool:
    """True when this step sent (or deliberately withheld) the reply itself."""
    if handle_keywords(turn):
        return True
    pipeline = turn.pipeline
    now: datetime = pipeline.now()
    uow: UnitOfWork = turn.uow
    ack = turn.acknowledgement
    if ack is None:
        return False  # a follow-up in a known thread: staff see it; no second acknowledgement
    urgency = turn.classification.urgency if turn.classification is not None else "routine"
    segments = gsm.segments(gsm.normalise(ack.body).strip())
    if segments > pipeline.settings.sms.max_ack_segments:
        # A landlord's own template can outgrow the limit; it still goes (a long text is
        # better than none), but someone should shorten the template.
        log.warning(
            "SMS acknowledgement is %s segments (limit %s): shorten acknowledgement.sms.txt.j2",
            segments,
            pipeline.settings.sms.max_ack_segments,
        )
    enqueue_text(uow, pipeline.settings, ack, now, urgent=urgency in PRESSING, reply=True)
    return True


def _opted_in_by(uow: UnitOfWork, message_sid: str) -> bool:
    e = t.events.c
    found = uow.conn.execute(
        sa.select(e.id)
        .where(e.kind == OPTED_IN_EVENT, e.detail["message_sid"].as_string() == message_sid)
        .limit(1)
    ).first()
    return found is not None


def enqueue_text(
    uow: UnitOfWork,
    settings: Settings,
    message: OutboundMessage,
    now: datetime,
    *,
    urgent: bool,
    reply: bool,
) -> int | None:
    """Write a text to the outbox: GSM-7 normalised, its segments known, quiet hours kept.

    `reply`: an answer to something the resident just sent; held in quiet hours only when
    `sms.quiet_hours_for_replies` is true (the default, as the issue asks).
    """
    body = gsm.normalise(message.body).strip()
    info = gsm.segment_info(body)
    at_once = urgent or (reply and not settings.sms.quiet_hours_for_replies)
    wait = not_before(now, settings.sms, urgent=at_once)
    meta = {**message.meta, "segments": str(info.segments), "encoding": info.encoding}
    return uow.enqueue(dataclasses.replace(message, body=body, not_before=wait, meta=meta))


def send_help(turn: Turn, now: datetime) -> None:
    """HELP / INFO: who we are and how to reach us, at once (the resident is asking now)."""
    pipeline = turn.pipeline
    msg = turn.message
    body = pipeline.composer.render(
        "sms_help.txt.j2",
        channel="sms",
        emergency_phone=pipeline.settings.organisation.emergency_phone,
    )
    reply = OutboundMessage(
        channel=Channel.SMS,
        recipient=msg.sender,
        body=body,
        idempotency_key=idempotency_key("sms-help", msg.external_id),
        interaction_id=turn.outcome.interaction_id,
        kind="help",
        meta={"clock": "ack-2"} if turn.acknowledgement is not None else {},
    )
    enqueue_text(turn.uow, pipeline.settings, reply, now, urgent=True, reply=True)
    if turn.acknowledgement is not None:
        close_interaction(
            turn.uow, pipeline.clocks, turn.outcome.interaction_id, now, "answered HELP"
        )


def close_interaction(
    uow: UnitOfWork,
    clocks: ClockRules,
    interaction_id: int | None,
    now: datetime,
    outcome: str,
    *,
    answered: bool = True,
) -> None:
    """An interaction the assistant dealt with completely (HELP, a confirmed appointment)
    leaves the team's queue with the outcome recorded. Its clocks end as what happened: the
    answer the assistant gave keeps the promises a message keeps (`answered`); a message
    that was no enquiry (an opt-in) withdraws them; a hazard or complaint clock is never
    kept this way (bot.domain.interaction.settlements_on_close)."""
    if interaction_id is None:
        return
    interactions = SqlInteractions(uow)
    interaction = interactions.get(interaction_id)
    if interaction.is_closed:
        return
    kind = "answered" if answered else "withdrawn"
    label = f"dealt with by the assistant: {outcome}"
    interaction.close(
        outcome=outcome,
        text=outcome[:2000],
        settlements=settlements_on_close(interaction, kind, told=answered, label=label),
        by="assistant",
        at=now,
        told=answered,
        automatic=True,
    )
    interactions.save(interaction)
