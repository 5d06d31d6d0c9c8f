"""The built-in conversation engine: what Doorstep says itself (and when Rasa cannot).

- A new enquiry (any channel): the standard acknowledgement the pipeline composed, with the
  reference, who deals with it and the deadline in words (ACK-2, SAME-CHANNEL, EMERGENCY
  signposts first). In the web chat it also says what happens next in one message: the
  offer of a person in office hours, or when we are open and the emergency route out of
  hours (HOURS, EMERGENCY).
- Asking for a person, by the chat's button or the classifier's `ask_human` intent, never a
  keyword (HANDOFF): the interaction waits for its team with a hand-off clock running, and
  the resident is told who owns it and by when; in office hours, a number to call now.
- A later chat message: an answer from the landlord's published details when we can
  (AUTO-ACK), the signposts when it sounds urgent, and always the reference and deadline
  (CONTACT). A later text or direct message gets no automatic answer: staff see it in the
  case, and a second acknowledgement would be noise (ACK-2).
"""

from __future__ import annotations

from datetime import datetime

from actions.acknowledge import AckContext, without_repeats
from actions.handoff import handoff_policy
from actions.languages import Voice
from actions.wording import deadline_in_words
from bot.conversation.answers import landlord_answer
from bot.conversation.engine import Button, Reply, Turn, wants_person
from bot.domain.interaction import Interaction
from bot.domain.model import Channel
from bot.service.language import language_buttons, person_button, voice_for_turn


class BuiltInEngine:
    """The engine every channel has; see the module docstring."""

    def respond(self, turn: Turn) -> list[Reply]:
        if turn.interaction_id is None:
            return []  # no case to answer about: the pipeline's own reply stands
        if turn.acknowledgement is not None:
            return [self._first(turn, turn.acknowledgement.body)]
        if turn.message.channel is Channel.WEBCHAT:
            return [self._follow_up(turn, turn.interaction_id)]
        return []

    # ---- the first message ---------------------------------------------------------------

    def _first(self, turn: Turn, ack_body: str) -> Reply:
        if turn.message.channel is not Channel.WEBCHAT:
            return Reply(
                ack_body, kind="acknowledgement", acknowledges=True, urgent=turn.pressing,
                template="acknowledgement.txt.j2",
            )  # fmt: skip
        assert turn.interaction_id is not None
        composer = turn.conversation.composer
        asking = voice_for_turn(turn, first=True)  # as the acknowledgement was written
        voice = asking.without_offer()
        buttons: tuple[Button, ...] = ()
        if wants_person(turn.message.body, turn.classification):
            extra = self._handoff(turn, turn.interaction_id, voice)
        elif turn.office_open:
            extra = composer.render("chat_offer.txt.j2", channel="webchat", voice=voice)
            # The language question's buttons stay beside "Talk to a person" (Welsh
            # Language Standards: ask the preference on the first reply).
            buttons = (*language_buttons(asking), person_button(voice))
        else:
            extra = composer.render(
                "chat_closed.txt.j2",
                channel="webchat",
                voice=voice,
                emergency_phone=turn.conversation.settings.organisation.emergency_phone,
                # The acknowledgement's signposts may already give the emergency line.
                emergency_given=turn.conversation.settings.organisation.emergency_phone in ack_body,
            )
        return Reply(
            without_repeats(ack_body, extra),  # no line said twice
            kind="acknowledgement",
            buttons=buttons,
            acknowledges=True,
            urgent=turn.pressing,
            template="acknowledgement.txt.j2",
        )

    # ---- later chat messages ---------------------------------------------------------------

    def _follow_up(self, turn: Turn, interaction_id: int) -> Reply:
        voice = voice_for_turn(turn)
        if wants_person(turn.message.body, turn.classification):
            return Reply(
                self._handoff(turn, interaction_id, voice),
                kind="handoff",
                template="chat_handoff.txt.j2",
            )
        conversation = turn.conversation
        case = conversation.interactions.get(interaction_id)
        found = turn.classification
        topic = found.topic if found is not None else "general"
        hazards = found.hazards if found is not None else ()
        signposts = conversation.composer.signposts(
            AckContext(
                reference=case.reference,
                topic=topic,
                urgency=found.urgency if found is not None else "routine",
                owner_name="",
                deadline=turn.now,
                now=turn.now,
                hazard_signposts=tuple(sorted({h.signpost for h in hazards})),
                hazards=tuple(h.rule for h in hazards),
                office_open=turn.office_open,
            )
        )
        answer = None
        if topic == "general" and not signposts:
            answer = landlord_answer(conversation.settings.organisation, turn.message.body)
        text = conversation.composer.render(
            "chat_follow_up.txt.j2",
            channel="webchat",
            voice=voice,
            reference=case.reference,
            owner_name=conversation.owner_name(case),
            deadline=deadline_in_words(reply_deadline(turn, case), now=turn.now),
            answer=answer,
            signposts=signposts,
        )
        offer = turn.office_open and not conversation.handoff_requested(interaction_id)
        return Reply(
            text,
            buttons=(person_button(voice),) if offer else (),
            template="chat_follow_up.txt.j2",
            urgent=turn.pressing,
        )

    # ---- HANDOFF ---------------------------------------------------------------------------

    def _handoff(self, turn: Turn, interaction_id: int, voice: Voice) -> str:
        """The interaction waits for a person in its team; the team's hand-off clock runs
        unless one already does (a chat enquiry starts it when it is opened)."""
        conversation = turn.conversation
        case = conversation.interactions.get(interaction_id)
        already = conversation.handoff_requested(interaction_id)
        due_at = case.request_handoff(
            conversation.rules,
            policy=handoff_policy(case.urgency),
            reason="resident asked for a person in the web chat",
            by="resident",
            at=turn.now,
            detail={
                "conversation_id": turn.message.meta.get("conversation_id") or turn.message.sender,
                "office_open": turn.office_open,
            },
            already=already,
        )
        conversation.interactions.save(case)
        return conversation.composer.render(
            "chat_handoff.txt.j2",
            channel="webchat",
            voice=voice,
            reference=case.reference,
            owner_name=conversation.owner_name(case),
            deadline=deadline_in_words(due_at, now=turn.now),
            office_open=turn.office_open,
            already=already,
            emergency_phone=conversation.settings.organisation.emergency_phone,
        )


def reply_deadline(turn: Turn, case: Interaction) -> datetime:
    """The earliest open promise to answer, else RESP-10 (`Interaction.reply_due`)."""
    return case.reply_due(turn.conversation.rules, turn.now)
