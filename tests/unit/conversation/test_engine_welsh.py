"""The conversation engine in the resident's language (Cymraeg; Welsh Language Standards:
answer Welsh in Welsh, ask the preference on the first reply), with in-memory fakes: the
chat's later lines and hand-off, the safety question and its buttons, the language buttons
beside "Talk to a person" in office hours, and SMS HELP."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from actions.languages import RESIDENT, Voice
from bot.conversation.builtin import BuiltInEngine
from bot.conversation.engine import PERSON_PAYLOAD
from bot.conversation.unsure import AskWhenUnsure
from bot.nlu.types import Classification
from bot.service.language import ContactLanguage
from bot.settings import Organisation, Settings
from channels.sms.conversation import help_reply
from tests.unit.conversation.fakes import MONDAY_21, Chat, FakeConversation, classified, settings

LEAK_QUESTION = "Is water near lights or sockets, or can you not stop it?"


def engine() -> AskWhenUnsure:
    return AskWhenUnsure(BuiltInEngine())


def welsh(found: Classification) -> Classification:
    return dataclasses.replace(found, language="cy")


@dataclass
class RememberingConversation(FakeConversation):
    """The fake port, with the contact's stored language (the SQL port reads the contact)."""

    languages: dict[int, ContactLanguage] = field(default_factory=dict)

    def contact_language(self, interaction_id: int) -> ContactLanguage:
        return self.languages.get(interaction_id, ContactLanguage(None, None))


def chat_with(conversation: FakeConversation, channel: str = "webchat", **kw: object) -> Chat:
    from bot.domain.model import Channel

    chat = Chat(engine(), Channel(channel), **kw)  # type: ignore[arg-type]
    chat.conversation = conversation
    return chat


def wales() -> Settings:
    return settings().model_copy(update={"organisation": Organisation(languages=["cy", "en"])})


# ---- later lines in the chat ---------------------------------------------------------------


def test_a_later_welsh_chat_line_is_answered_in_welsh_first() -> None:
    chat = chat_with(FakeConversation())
    chat.say("Mae'r sinc wedi blocio yn y gegin ers ddoe", welsh(classified()))
    (row,) = chat.say("Mae'r dŵr yn codi yn y sinc nawr hefyd", welsh(classified()))
    assert row.body.startswith("Diolch. Rwyf wedi ychwanegu hyn at eich ymholiad DS-2026-000001.")
    assert "Bydd y tîm Atgyweirio yn ateb erbyn" in row.body
    assert row.body.index("Bydd y tîm") < row.body.index("Thank you")  # English below
    # The person button is titled in Welsh first; it sends the same payload.
    (button,) = json.loads(row.meta["buttons"])
    assert button == {"title": "Siarad â pherson / Talk to a person", "payload": PERSON_PAYLOAD}


def test_a_resident_who_chose_welsh_gets_welsh_only_even_for_a_short_english_line() -> None:
    conversation = RememberingConversation(languages={1: ContactLanguage("cy", RESIDENT)})
    chat = chat_with(conversation)
    chat.say("Mae'r sinc wedi blocio", welsh(classified()))
    (row,) = chat.say("ok thanks", classified("general", "routine", "thank"))
    assert row.body.startswith("Diolch.") and "Thank you" not in row.body
    assert "erbyn" in row.body and " by " not in row.body


def test_a_welsh_hand_off_out_of_hours_is_in_welsh() -> None:
    chat = chat_with(FakeConversation(), now=MONDAY_21)
    chat.say("Mae'r sinc wedi blocio yn y gegin ers ddoe", welsh(classified()))
    (row,) = chat.say(PERSON_PAYLOAD, welsh(classified("general", "routine", "ask_human")))
    assert row.kind == "handoff"
    assert row.body.startswith("Rwyf wedi trosglwyddo hyn. Bydd y tîm Atgyweirio yn ateb yma")
    assert "Mae ein swyddfa ar gau nawr." in row.body


def test_an_english_chat_is_unchanged() -> None:
    chat = chat_with(FakeConversation())
    chat.say("My sink is blocked", classified())
    (row,) = chat.say("the water is rising in the sink now", classified())
    assert "Diolch" not in row.body
    assert json.loads(row.meta["buttons"]) == [
        {"title": "Talk to a person", "payload": PERSON_PAYLOAD}
    ]


# ---- the first reply: language buttons beside "Talk to a person" ---------------------------


def test_in_office_hours_a_landlord_in_wales_shows_the_language_buttons_and_a_person() -> None:
    chat = chat_with(FakeConversation(settings=wales()))
    (row,) = chat.say("My sink is blocked", classified())
    buttons = json.loads(row.meta["buttons"])
    assert buttons == [
        {"title": "Cymraeg", "payload": "CYMRAEG"},
        {"title": "English", "payload": "ENGLISH"},
        {"title": "Talk to a person / Siarad â pherson", "payload": PERSON_PAYLOAD},
    ]
    # The offer of a person is made in both languages, English first (welsh_first unset).
    assert row.body.index("Would you like to talk to a person?") < row.body.index(
        "Hoffech chi siarad â pherson?"
    )


def test_once_the_resident_chose_no_language_buttons_are_shown() -> None:
    conversation = RememberingConversation(
        settings=wales(), languages={1: ContactLanguage("en", RESIDENT)}
    )
    chat = chat_with(conversation)
    (row,) = chat.say("My sink is blocked", classified())
    assert json.loads(row.meta["buttons"]) == [
        {"title": "Talk to a person", "payload": PERSON_PAYLOAD}
    ]
    assert "Hoffech" not in row.body


def test_a_landlord_in_england_shows_only_talk_to_a_person_to_english() -> None:
    chat = chat_with(FakeConversation())
    (row,) = chat.say("My sink is blocked", classified())
    titles = [b["title"] for b in json.loads(row.meta["buttons"])]
    assert titles == ["Talk to a person"]


# ---- the safety question -------------------------------------------------------------------


def leak() -> Classification:
    return classified(urgency="urgent", hazards=(("leak", "emergency_repairs"),), ask=LEAK_QUESTION)


def test_the_safety_question_is_asked_in_welsh_for_a_welsh_text() -> None:
    chat = chat_with(FakeConversation(), "sms")
    _ack, question = chat.say("Mae dŵr yn gollwng drwy'r nenfwd yn y gegin", welsh(leak()))
    assert question.body.startswith(
        "Oes dŵr ger goleuadau neu socedi, neu ydych chi'n methu ei atal? Atebwch IE neu NA."
    )
    assert LEAK_QUESTION in question.body  # English below, as the rest of the reply
    # What the engine remembers is the classifier's question: the answer is triaged by it.
    assert chat.conversation.pending_question(1) == LEAK_QUESTION


def test_the_welsh_chat_question_has_welsh_buttons_and_ie_is_a_yes() -> None:
    conversation = RememberingConversation(languages={1: ContactLanguage("cy", RESIDENT)})
    chat = chat_with(conversation)
    _ack, question = chat.say("Mae dŵr yn gollwng drwy'r nenfwd", welsh(leak()))
    assert question.body.strip() == (
        "Oes dŵr ger goleuadau neu socedi, neu ydych chi'n methu ei atal?"
    )
    assert json.loads(question.meta["buttons"]) == [
        {"title": "Ie", "payload": "Ie"},
        {"title": "Na", "payload": "Na"},
    ]
    (answer,) = chat.say("Ie", None)  # the button
    assert answer.body.startswith("Cadwch draw o ddŵr ger goleuadau, socedi neu wifrau.")
    assert "Rydym yn trin hyn fel argyfwng." in answer.body
    assert chat.case().urgency == "emergency"


def test_an_unknown_question_stays_in_english_rather_than_none() -> None:
    chat = chat_with(FakeConversation(), "sms")
    found = welsh(classified(urgency="urgent", ask="Is the roof open to the rain?"))
    _ack, question = chat.say("Mae twll yn y to ac mae'n bwrw glaw", found)
    assert question.body.startswith("Is the roof open to the rain? Atebwch IE neu NA.")


# ---- SMS HELP ------------------------------------------------------------------------------


def test_help_in_welsh() -> None:
    reply = help_reply(FakeConversation(), acknowledges=True, voice=Voice(("cy",)))
    assert reply.text.startswith("Doorstep Housing. Ffoniwch ni ar 0300 000 0000")
    assert "Anfonwch STOP i atal ein negeseuon." in reply.text
    assert "Call us" not in reply.text
    english = help_reply(FakeConversation(), acknowledges=True)
    assert english.text.startswith("Doorstep Housing. Call us on 0300 000 0000")


def test_bilingual_help_for_a_landlord_in_wales_is_one_text_of_at_most_three_segments() -> None:
    from channels.sms import gsm

    conversation = FakeConversation(settings=wales())
    reply = help_reply(conversation, acknowledges=False, voice=Voice(("en", "cy")))
    assert reply.text.index("Call us on") < reply.text.index("Ffoniwch ni ar")
    info = gsm.segment_info(gsm.normalise(reply.text).strip())
    assert info.encoding == "GSM-7" and info.segments <= 3, info
