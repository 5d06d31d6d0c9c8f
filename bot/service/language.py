"""A contact's language, stored and used for every later message on every channel (ACCESS;
Welsh Language Standards: record the preference asked for on the first message).

The contact row keeps the language and who set it. A detected language is only a guess and
gives way to the next message's; a resident's choice (CYMRAEG / ENGLISH) and a change made
by staff stay until one of them changes it again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import sqlalchemy as sa

from actions.languages import (
    CHOSEN,
    DETECTED,
    ENGLISH,
    RESIDENT,
    WELSH,
    Voice,
    choose_voice,
    language_choice,
)
from bot.conversation.engine import PERSON_BUTTON, Button
from bot.domain.model import Channel, InboundMessage, OutboundMessage
from bot.service.outbound import enqueue_reply
from bot.settings import Organisation
from bot.storage import tables as t
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import UnitOfWork, idempotency_key

if TYPE_CHECKING:
    from bot.conversation.engine import Conversation, Turn
    from bot.service.pipeline import Outcome, Pipeline

_ENOUGH_WORDS = 4
EVENT = "language_set"  # on the case: a resident chose, or staff changed it


@dataclass(frozen=True, slots=True)
class ContactLanguage:
    language: str | None
    source: str | None

    @property
    def chosen(self) -> bool:
        return self.source in CHOSEN


UNKNOWN = ContactLanguage(None, None)


def contact_language(conn: sa.Connection, contact_id: int) -> ContactLanguage:
    c = t.contacts.c
    row = conn.execute(sa.select(c.language, c.language_source).where(c.id == contact_id)).first()
    if row is None:
        return UNKNOWN
    return ContactLanguage(row.language, row.language_source)


def interaction_contact(conn: sa.Connection, interaction_id: int) -> int | None:
    i = t.interactions.c
    found = conn.execute(sa.select(i.contact_id).where(i.id == interaction_id)).scalar()
    return int(found) if found is not None else None


def reliable(language: str | None, text: str) -> str | None:
    """The detected language of `text`, unless the message is too short to tell: the
    detector says English for "ok" and "diolch" alike, so a short English guess is none."""
    if not language or (language == ENGLISH and len(text.split()) < _ENOUGH_WORDS):
        return None
    return language


def note_detected(conn: sa.Connection, contact_id: int, language: str | None, text: str) -> None:
    """Keep the language a message was written in, unless someone chose one. English is
    kept too (a Welsh guess must not outlive English letters), but not from a message too
    short to tell (`reliable`)."""
    language = reliable(language, text)
    if language is None:
        return
    c = t.contacts.c
    conn.execute(
        t.contacts.update()
        .where(c.id == contact_id)
        .where(sa.or_(c.language_source.is_(None), c.language_source == DETECTED))
        .where(sa.or_(c.language.is_(None), c.language != language))
        .values(language=language, language_source=DETECTED)
    )


def set_language(conn: sa.Connection, contact_id: int, language: str, source: str) -> bool:
    """A choice by the resident or by staff. True when it changed something."""
    current = contact_language(conn, contact_id)
    if current.language == language and current.source == source:
        return False
    conn.execute(
        t.contacts.update()
        .where(t.contacts.c.id == contact_id)
        .values(language=language, language_source=source)
    )
    return True


def voice_for(
    org: Organisation,
    stored: ContactLanguage,
    *,
    detected: str | None = None,
    first: bool = False,
) -> Voice:
    """The voice for a message to this contact. `detected`: the language of the message
    being answered (a Welsh message is answered in Welsh unless the resident chose)."""
    if stored.chosen:
        detected = None
    return choose_voice(
        org, preference=stored.language, source=stored.source, detected=detected, first=first
    )


def voice_for_interaction(conn: sa.Connection, org: Organisation, interaction_id: int) -> Voice:
    """For a message staff or the system start on a case (a reply, a hand-off notice)."""
    contact_id = interaction_contact(conn, interaction_id)
    stored = contact_language(conn, contact_id) if contact_id is not None else UNKNOWN
    return voice_for(org, stored)


def voice_for_message(
    conn: sa.Connection,
    org: Organisation,
    interaction_id: int | None,
    *,
    detected: str | None,
    text: str,
    first: bool = False,
) -> Voice:
    """For the answer to a resident's message on a case (an SMS HELP reply, a public reply
    to a comment): the contact's stored language, else the message's own (when it can tell)."""
    contact_id = interaction_contact(conn, interaction_id) if interaction_id is not None else None
    stored = contact_language(conn, contact_id) if contact_id is not None else UNKNOWN
    return voice_for(org, stored, detected=reliable(detected, text), first=first)


# ---- the conversation engine's turns ----------------------------------------------------


@runtime_checkable
class KnowsContactLanguage(Protocol):
    """A conversation port that can say what its contact's language is (the unit tier's
    fake; the SQL port is read through its repository's unit of work)."""

    def contact_language(self, interaction_id: int) -> ContactLanguage: ...


def conversation_language(conversation: Conversation, interaction_id: int) -> ContactLanguage:
    """The stored language of the contact a conversation is with. The pipeline has noted
    this message's language on the contact already, so a later line follows it."""
    if isinstance(conversation, KnowsContactLanguage):
        return conversation.contact_language(interaction_id)
    repository = conversation.interactions
    if isinstance(repository, SqlInteractions):
        conn = repository.uow.conn
        contact_id = interaction_contact(conn, interaction_id)
        return contact_language(conn, contact_id) if contact_id is not None else UNKNOWN
    return UNKNOWN


def voice_for_turn(turn: Turn, *, first: bool = False) -> Voice:
    """The voice for what an engine says in a turn: the contact's choice, else the language
    of this message (a Welsh message is answered in Welsh), else the landlord's default.
    `first`: the acknowledgement of a new enquiry, which asks the preference."""
    stored = (
        conversation_language(turn.conversation, turn.interaction_id)
        if turn.interaction_id is not None
        else UNKNOWN
    )
    found = turn.classification
    detected = reliable(found.language, turn.message.body) if found is not None else None
    return voice_for(
        turn.conversation.settings.organisation, stored, detected=detected, first=first
    )


def in_voice(voice: Voice, english: str, welsh: str) -> str:
    """A button's title in the voice's languages, in its order ("Ie / Yes")."""
    words = {WELSH: welsh, ENGLISH: english}
    return " / ".join(dict.fromkeys(words.get(language, english) for language in voice.languages))


def person_button(voice: Voice) -> Button:
    """HANDOFF's button, titled in the resident's language; it sends the same payload
    (`wants_person` reads the payload, never the title)."""
    return Button(in_voice(voice, PERSON_BUTTON.title, "Siarad â pherson"), PERSON_BUTTON.payload)


def language_buttons(voice: Voice) -> tuple[Button, ...]:
    """The web chat's CYMRAEG / ENGLISH buttons while the preference is asked for."""
    if not voice.offer:
        return ()
    return tuple(Button(title, payload) for title, payload in CHOICE_BUTTONS)


def answer_buttons(voice: Voice) -> tuple[Button, ...]:
    """Yes and No for the safety question; each sends the word in the voice's first
    language ("Ie" / "Na" are read as yes / no, bot/conversation/unsure.py)."""
    words = (("Yes", "Ie"), ("No", "Na"))
    return tuple(
        Button(in_voice(voice, en, cy), cy if voice.primary == WELSH else en) for en, cy in words
    )


# ---- the resident's answer to the language question ---------------------------------------


# The web chat's two language buttons (title, the word each sends as if typed).
CHOICE_BUTTONS = (("Cymraeg", "CYMRAEG"), ("English", "ENGLISH"))


def is_choice(msg: InboundMessage) -> bool:
    return language_choice(msg.body) is not None


def choice_buttons(channel: str, voice: Voice) -> dict[str, str]:
    """Web chat: the question as two buttons (each sends its word, as if typed)."""
    if channel != "webchat" or not voice.offer:
        return {}
    buttons = [{"title": title, "payload": payload} for title, payload in CHOICE_BUTTONS]
    return {"buttons": json.dumps(buttons)}


def answer_choice(
    pipeline: Pipeline,
    uow: UnitOfWork,
    inbound_id: int,
    msg: InboundMessage,
    thread_id: int | None,
    now: datetime,
) -> Outcome:
    """Record CYMRAEG / ENGLISH on the contact and say, in that language, that we will
    write in it from now on. It opens no case and starts no clock: it is not an enquiry."""
    from bot.service.pipeline import IDENTITY_KIND, Outcome

    chosen = language_choice(msg.body)
    assert chosen is not None
    contact_id = interaction_contact(uow.conn, thread_id) if thread_id is not None else None
    if contact_id is None:
        contact_id = uow.contact_for(IDENTITY_KIND[msg.channel], msg.sender, msg.sender_name)
    set_language(uow.conn, contact_id, chosen, RESIDENT)
    reference = None
    if thread_id is not None:
        reference = uow.get_interaction(thread_id).reference
        uow.add_event(thread_id, EVENT, {"language": chosen, "by": RESIDENT})
        uow.set_inbound_status(inbound_id, "joined", interaction_id=thread_id)
    else:
        uow.set_inbound_status(inbound_id, "processed", reason="language choice")
    email = msg.channel is Channel.EMAIL
    body = pipeline.composer.render(
        "language_set.txt.j2",
        channel=msg.channel.value,
        voice=Voice((chosen,)),
        reference=reference,
    )
    subject = None
    if email:
        base = "Eich dewis iaith" if chosen == WELSH else "Your language choice"
        subject = f"{base} [{reference}]" if reference else base
    notice = OutboundMessage(
        channel=msg.channel,
        recipient=msg.sender,
        body=body,
        idempotency_key=idempotency_key("language", msg.channel.value, msg.external_id),
        subject=subject,
        in_reply_to=msg.external_id if email else None,
        references=(*msg.thread_refs, msg.external_id) if email else (),
        interaction_id=thread_id,
        kind="language",
    )
    enqueue_reply(uow, pipeline.settings, notice, now)
    return Outcome(inbound_id, "joined" if thread_id else "processed", "language choice", thread_id)
