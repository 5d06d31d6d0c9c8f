"""The social channel for the registry: decode stored Meta and X events, send through their
APIs, and the public-comment step before the conversation engine (a holding line in public,
the acknowledgement once in private, abusive comments hidden; SOCIAL and ABUSE in domain.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.domain.model import Channel, InboundMessage, OutboundMessage
from channels.base import DecodedInbound, Decoder, InvalidPayloadError, Sender, TurnHandler
from channels.social import events
from channels.social.moderation import abusive_pattern, is_abusive

if TYPE_CHECKING:
    from actions.languages import Voice
    from bot.conversation.engine import Conversation, Reply
    from bot.service.pipeline import Turn
    from bot.settings import Settings

PUBLIC_KINDS = ("comment", "mention")


def make_decoder(now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Decoder:
    def decode(raw: bytes, source: str) -> DecodedInbound:
        try:
            event = events.load(raw)
        except events.PayloadError as exc:
            raise InvalidPayloadError(str(exc)) from exc
        if event.kind not in ("dm", *PUBLIC_KINDS):
            raise InvalidPayloadError(f"a {event.kind} event is not a message")
        meta: dict[str, str] = {"platform": event.platform, "kind": event.kind}
        if event.kind in PUBLIC_KINDS:
            meta["comment_id"] = event.key
            if event.post_id:
                meta["post_id"] = event.post_id
            if event.parent_id:
                meta["parent_id"] = event.parent_id
        received = event.at or now()
        meta["received_at"] = received.isoformat()
        message = InboundMessage(
            channel=Channel.SOCIAL,
            external_id=event.source_key,
            sender=event.address,
            received_at=received,
            body=event.text.strip(),
            sender_name=event.sender_name,
            recipient=event.recipient_id or None,
            full_text=event.text,
            meta=meta,
        )
        if not message.body:
            return DecodedInbound(message, no_reply_reason="social: nothing written")
        return DecodedInbound(message)

    return decode


def decoder(settings: Settings) -> Decoder | None:
    social = settings.social
    if not (social.meta_enabled or social.x.enabled):
        return None
    return make_decoder()


def sender(
    settings: Settings, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> Sender | None:
    social = settings.social
    if not (social.meta_enabled or social.x.enabled):
        return None
    from channels.social.sender import SocialConfig, SocialSender

    return SocialSender(
        SocialConfig(
            graph_url=social.meta.graph_url,
            page_id=social.meta.page_id,
            instagram_id=social.meta.instagram_id,
            page_access_token=social.meta.page_access_token,
            x_api_url=social.x.api_url,
            x_bearer_token=social.x.bearer_token,
            timeout=social.send_timeout_seconds,
        ),
        now=now,
    )


class CommentStep:
    """A public comment or mention, after the pipeline opened its interaction.

    Never discuss a case in public (PRIVACY): one holding line in public, with what to do
    now when it is an emergency (EMERGENCY); the acknowledgement goes as one private reply
    (Meta allows one, within 7 days). X has no private reply to a post: the holding line
    asks for a direct message. An abusive comment is hidden and left to staff (ABUSE).
    It is the social `KeywordStep`, run before the conversation engine: a direct message
    returns None and is answered by the engine (the acknowledgement as composed). The
    comment's actions on the public post (reply, private reply, hide) are `Reply` values
    with their own keys and the action in `meta`, sent by the one caller like any other.
    """

    def __init__(self, settings: Settings) -> None:
        self.hide_abusive = settings.social.hide_abusive_comments
        self.abusive = abusive_pattern(settings.social.abusive_words)

    def __call__(self, turn: Turn, conversation: Conversation) -> list[Reply] | None:
        msg = turn.message
        ack = turn.acknowledgement
        if msg.meta.get("kind") not in PUBLIC_KINDS:
            return None
        if ack is None:
            return []  # a later comment in a conversation already acknowledged
        platform = msg.meta.get("platform", "")
        comment_id = msg.meta.get("comment_id", "")
        urgency = turn.classification.urgency if turn.classification is not None else "routine"
        if self.hide_abusive and urgency != "emergency" and is_abusive(msg.body, self.abusive):
            turn.uow.add_event(
                ack.interaction_id,
                "comment_hidden",
                {"comment_id": comment_id, "reason": "house rules (abusive language)"},
            )
            return [_action(ack, "hide", "", comment_id, kind="moderation", clock=None)]
        private = platform != "x"
        signposts = self._signposts(turn) if urgency == "emergency" else []
        public = turn.pipeline.composer.render(
            "social_public_reply.txt.j2",
            channel="social",
            voice=self._public_voice(turn),
            signposts=signposts,
            private_reply=private,
        )
        # The public line keeps the acknowledgement promise only when nothing goes privately.
        replies = [
            _action(
                ack, "public_reply", public, comment_id, kind="public_reply",
                clock=None if private else ack.meta.get("clock"),
                template="social_public_reply.txt.j2",
            )
        ]  # fmt: skip
        if private:
            replies.append(
                _action(
                    ack, "private_reply", ack.body, comment_id, kind=ack.kind,
                    clock=ack.meta.get("clock"), comment_at=msg.meta.get("received_at", ""),
                )
            )  # fmt: skip
        turn.uow.add_event(
            ack.interaction_id,
            "public_comment",
            {"comment_id": comment_id, "post_id": msg.meta.get("post_id"), "platform": platform},
        )
        return replies

    @staticmethod
    def _public_voice(turn: Turn) -> Voice:
        """The commenter's language (a Welsh comment is answered in Welsh), as their other
        messages are; in public, no interpreter line: it would say more than the comment did."""
        from actions.languages import Voice
        from bot.service.language import voice_for_message

        found = turn.classification
        voice = voice_for_message(
            turn.uow.conn,
            turn.pipeline.settings.organisation,
            turn.outcome.interaction_id,
            detected=found.language if found is not None else None,
            text=turn.message.body,
        )
        return Voice(voice.languages)

    @staticmethod
    def _signposts(turn: Turn) -> list[str]:
        from actions.acknowledge import AckContext

        result = turn.classification
        assert result is not None  # an emergency was classified
        now = turn.pipeline.now()
        ctx = AckContext(
            reference="",
            topic=result.topic,
            urgency=result.urgency,
            owner_name="",
            deadline=now,
            now=now,
            hazard_signposts=tuple(sorted({h.signpost for h in result.hazards})),
        )
        lines: list[str] = turn.pipeline.composer.signposts(ctx)
        return lines


def _action(
    ack: OutboundMessage,
    action: str,
    body: str,
    comment_id: str,
    *,
    kind: str,
    clock: str | None,
    template: str | None = None,
    comment_at: str | None = None,
) -> Reply:
    """An action on the public post (reply, private reply, hide) as the `Reply` the turn's
    caller sends through the outbox (bot.conversation.turns), keyed by the acknowledgement
    and the action, so each is done once per comment."""
    from bot.conversation.engine import Reply

    meta = {"action": action, "comment_id": comment_id}
    if clock:
        meta["clock"] = clock
    if comment_at is not None:
        meta["comment_at"] = comment_at
    return Reply(
        body,
        kind=kind,
        template=template,
        key=f"{ack.idempotency_key}:{action}",
        meta=meta,
    )


def converses(settings: Settings) -> bool:
    return settings.social.meta_enabled or settings.social.x.enabled


def keywords(settings: Settings) -> CommentStep:
    """Public comments are handled here first, with Rasa on or off: an engine answers
    direct messages, never a comment in public."""
    return CommentStep(settings)


def turn_handler(settings: Settings) -> TurnHandler | None:
    from channels.registry import turn_handler as build

    return build(Channel.SOCIAL, settings)
