"""SMS keywords and the SMS rules for every text we send.

`handle_keywords` is the SMS `KeywordStep`, run before any conversation engine: HELP / INFO
get our contact details; a YES that opted the number back in is closed quietly; an answer
to one of our appointment texts is handled by `actions.appointments` (APPT, AFTER-JOB).
Every other text goes to the engine (bot.conversation). `enqueue_text` is the SMS policy the
outbox step (bot.service.outbound) applies to every text: GSM-7, segments counted (at most
`sms.max_ack_segments` for an acknowledgement), quiet hours kept unless urgent (ACK-2,
SAME-CHANNEL, EMERGENCY).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from actions.languages import Voice
from bot.conversation.engine import Reply
from bot.domain.interaction import ClockRules, settlements_on_close
from bot.domain.model import OutboundMessage
from bot.storage import tables as t
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import UnitOfWork
from channels.sms import gsm
from channels.sms.optout import Keyword, keyword, single_word
from channels.sms.quiet import not_before

if TYPE_CHECKING:
    from bot.conversation.engine import Conversation
    from bot.service.pipeline import Turn
    from bot.settings import Settings

log = logging.getLogger(__name__)

OPTED_IN_EVENT = "sms_opted_in"
OPTED_OUT_EVENT = "sms_opted_out"


def handle_keywords(turn: Turn, conversation: Conversation) -> list[Reply] | None:
    """The channel's own words, answered before any conversation engine (built-in or
    Rasa): HELP / INFO, a YES that opted the number back in, and answers to our appointment
    texts (YES / NO / a new day). None when the text is none of them."""
    from actions.appointments import handle_reply
    from bot.service.language import voice_for_message  # it sends through this module

    msg = turn.message
    now: datetime = turn.pipeline.now()
    new = turn.acknowledgement is not None
    if keyword(msg.body) is Keyword.HELP:
        if new:
            close_interaction(
                turn.uow, turn.pipeline.clocks, turn.outcome.interaction_id, now, "answered HELP"
            )
        found = turn.classification
        voice = voice_for_message(
            turn.uow.conn,
            conversation.settings.organisation,
            turn.outcome.interaction_id,
            detected=found.language if found is not None else None,
            text=msg.body,
        )
        return [help_reply(conversation, acknowledges=new, voice=voice)]
    if single_word(msg.body) == "YES" and _opted_in_by(turn.uow, msg.external_id):
        if new:
            close_interaction(
                turn.uow, turn.pipeline.clocks, turn.outcome.interaction_id, now, "opted in",
                answered=False,
            )  # fmt: skip
        return []  # the opt-in itself was the point: nothing to say
    return handle_reply(turn)  # the answer to one of our appointment texts, or None


def help_reply(
    conversation: Conversation, *, acknowledges: bool, voice: Voice | None = None
) -> Reply:
    """HELP / INFO: who we are and how to reach us, at once (the resident is asking now), in
    the contact's language (`voice`; English when not given)."""
    body = conversation.composer.render(
        "sms_help.txt.j2",
        channel="sms",
        voice=voice,
        emergency_phone=conversation.settings.organisation.emergency_phone,
    )
    return Reply(
        body, kind="help", template="sms_help.txt.j2", acknowledges=acknowledges, urgent=True
    )


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
    limit = settings.sms.max_ack_segments
    if message.kind == "acknowledgement" and info.segments > limit:
        # A landlord's own template can outgrow the limit; it still goes (a long text is
        # better than none), but someone should shorten the template.
        log.warning(
            "SMS acknowledgement is %s segments (limit %s): shorten acknowledgement.sms.txt.j2",
            info.segments,
            limit,
        )
    at_once = urgent or (reply and not settings.sms.quiet_hours_for_replies)
    wait = not_before(now, settings.sms, urgent=at_once)
    meta = {**message.meta, "segments": str(info.segments), "encoding": info.encoding}
    return uow.enqueue(dataclasses.replace(message, body=body, not_before=wait, meta=meta))


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
