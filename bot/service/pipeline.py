"""From a stored raw message to an interaction with clocks and exactly one acknowledgement.

Every inbound message is already stored (raw) before this runs. A batch of mail is applied in
one transaction (decoded and classified first, outside it); if anything in the batch fails,
the batch is rolled back and each message is handled in a transaction of its own, where one
that fails is quarantined with its reason and never blocks the next.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from actions.acknowledge import AckContext, AwayOfficer, Composer, acknowledgement_subject
from actions.handoff import person_name
from actions.officers import effective_officers
from actions.wording import deadline_in_words, team_in_words
from bot.domain.greeting import greeting_name
from bot.domain.interaction import Status
from bot.domain.model import Channel, InboundMessage, OutboundMessage, Topic, Urgency
from bot.domain.promises import plan_for, reopen_policy, response_policy
from bot.nlu.types import Classification, Classifier
from bot.probe.cases import set_apart_if_probe
from bot.service import joining, language, quarantine
from bot.service.clocks import ClockService
from bot.service.outbound import enqueue_reply
from bot.service.reading import InlineReader, Prepared, Reader
from bot.settings import Officer, Settings
from bot.storage import tables as t
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import StoredInbound, UnitOfWork, idempotency_key
from channels.base import (
    AnswersKeywords,
    DecodedInbound,
    Decoder,
    InvalidPayloadError,
    TurnHandler,
)

log = logging.getLogger(__name__)

# Messages applied in one transaction. Small enough that the outbox and the intake, which
# wait for the same single SQLite writer, get their turn often (a burst is answered as it
# comes, not after it); large enough that hand-overs between writers stop dominating.
_TOGETHER = 10

IDENTITY_KIND = {
    Channel.EMAIL: "email",
    Channel.SMS: "phone",
    Channel.WEBCHAT: "webchat",
    Channel.SOCIAL: "social",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What handling one stored message did (for logs, tests and the CLI)."""

    inbound_id: int
    status: str  # processed, joined, suppressed, duplicate, quarantined, retry
    reason: str | None = None
    interaction_id: int | None = None
    reference: str | None = None
    acknowledged: bool = False


_Prepared = Prepared  # decoded and classified, before any write (bot/service/reading.py)


@dataclass
class Turn:
    """What a channel's turn handler sees (web chat, SMS conversations, Rasa)."""

    uow: UnitOfWork
    message: InboundMessage
    outcome: Outcome
    classification: Classification | None
    pipeline: Pipeline
    acknowledgement: OutboundMessage | None  # sent unless the handler replies itself


class Pipeline:
    def __init__(
        self,
        *,
        engine: sa.Engine,
        settings: Settings,
        decoders: Mapping[Channel, Decoder],
        classifier: Classifier,
        composer: Composer,
        clocks: ClockService,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_enqueued: Callable[[], None] | None = None,
        turn_handlers: Mapping[Channel, TurnHandler] | None = None,
        reader: Reader | None = None,
    ) -> None:
        self.turn_handlers = dict(turn_handlers or {})
        self.engine = engine
        self.settings = settings
        self.decoders = decoders
        self.classifier = classifier
        self.composer = composer
        self.clocks = clocks
        self.now = now
        self.on_enqueued = on_enqueued
        # Decoding and classifying, in a worker process with a time limit per message when
        # the wiring asks for it (bot/bootstrap.py; `reading.timeout_seconds`).
        self.reader: Reader = reader or InlineReader(decoders, classifier)

    # ---- intake: store first -----------------------------------------------------------

    def store_raw(self, channel: Channel, source: str, source_key: str, raw: bytes) -> int | None:
        """Store a raw inbound payload. Returns its id, or None if it was stored before."""
        return self.store_raw_many(channel, source, [(source_key, raw)])[0]

    def store_raw_many(
        self, channel: Channel, source: str, items: list[tuple[str, bytes]]
    ) -> list[int | None]:
        """Store several raw payloads from one source in one transaction (an IMAP batch)."""
        with UnitOfWork(self.engine, self.now) as uow:
            ids = [
                uow.store_raw_inbound(channel=channel, source=source, source_key=key, raw=raw)
                for key, raw in items
            ]
            uow.commit()
        return ids

    # ---- processing ----------------------------------------------------------------------

    def process_pending(self, limit: int = 50) -> list[Outcome]:
        with UnitOfWork(self.engine, self.now) as uow:
            batch = uow.pending_inbound(limit)
        conversational = {channel.value for channel in self.turn_handlers}
        outcomes: list[Outcome] = []
        for start in range(0, len(batch), _TOGETHER):
            chunk = batch[start : start + _TOGETHER]
            together = None
            if len(chunk) > 1 and not any(item.channel in conversational for item in chunk):
                together = self._process_together(chunk)
            outcomes.extend(together or [self.process_one(item) for item in chunk])
        return outcomes

    def _process_together(self, batch: list[StoredInbound]) -> list[Outcome] | None:
        """A burst of mail in one transaction: on SQLite every transaction waits its turn
        for the one writer, and a turn per message made a burst wait on hand-overs more
        than on work. Messages with a conversational turn (which may call Rasa over HTTP)
        never come here: a transaction must not wait on the network. None if the batch
        failed and was rolled back; the caller then handles each message alone."""
        try:
            prepared = self._prepare_many(batch)
            with UnitOfWork(self.engine, self.now) as uow:
                outcomes = [self._apply(uow, i, p) for i, p in zip(batch, prepared, strict=True)]
                uow.commit()
        except Exception:
            log.info("a batch of %d failed; handling each alone", len(batch), exc_info=True)
            return None
        if self.on_enqueued is not None and any(
            outcome.status in ("processed", "joined") for outcome in outcomes
        ):
            self.on_enqueued()
        return outcomes

    def process_one(self, item: StoredInbound) -> Outcome:
        try:
            with UnitOfWork(self.engine, self.now) as uow:
                outcome = self._handle(uow, item)
                uow.commit()
        except Exception as exc:  # a poison message must not block the ones behind it
            if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) and not (
                self._database_answers()
            ):
                # The database, not the message: a restart, a full disk, the server away.
                # The message stays received, no try is counted, and the next pass takes
                # it again once the database answers (never quarantined for an outage).
                raise
            # The reason is classified and short: never the message, never SQL values.
            failure = quarantine.classify(exc)
            if failure.transient and item.attempts + 1 < quarantine.TRANSIENT_ATTEMPTS:
                log.warning("inbound %s waits for the database: %s", item.id, failure.reason)
                # The database may still be away: then the count waits, the message too.
                with contextlib.suppress(Exception), UnitOfWork(self.engine, self.now) as uow:
                    uow.note_inbound_attempt(item.id)
                    uow.commit()
                quarantine.pause_before_retry(item.attempts)
                return Outcome(item.id, "retry", reason=failure.reason)
            log.warning("quarantined inbound %s: %s", item.id, failure.reason)
            log.debug("quarantined inbound %s", item.id, exc_info=True)
            with UnitOfWork(self.engine, self.now) as uow:
                uow.set_inbound_status(item.id, "quarantined", reason=failure.reason)
                uow.note_inbound_attempt(item.id)
                uow.commit()
            return Outcome(item.id, "quarantined", reason=failure.reason)
        if outcome.status in ("processed", "joined") and self.on_enqueued is not None:
            self.on_enqueued()
        return outcome

    def _database_answers(self) -> bool:
        """Whether a fresh connection gets an answer: tells a database that is away from a
        statement that fails on this message (which is tried a few times, then waits in
        quarantine rather than blocking every message behind it)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception:
            return False
        return True

    def _decode(self, item: StoredInbound) -> DecodedInbound:
        channel = Channel(item.channel)
        decoder = self.decoders.get(channel)
        if decoder is None:
            raise InvalidPayloadError(f"no decoder for channel {channel.value}")
        return decoder(item.raw or b"", item.source)

    def _prepare(self, item: StoredInbound) -> _Prepared:
        """Decode and classify, before the first write: on SQLite the write lock is held
        from the first write to the commit, and the intake waits on it."""
        return self._prepare_many([item])[0]

    def _prepare_many(self, batch: list[StoredInbound]) -> list[_Prepared]:
        """`_prepare` for a batch, classified in one call (the model runs them together).
        A message that cannot be read, or takes too long, comes back with its reason and
        is quarantined by `_apply`; the others go on."""
        return self.reader.read(batch)

    def _handle(self, uow: UnitOfWork, item: StoredInbound) -> Outcome:
        return self._apply(uow, item, self._prepare(item))

    def _apply(self, uow: UnitOfWork, item: StoredInbound, prepared: _Prepared) -> Outcome:
        decoded, result = prepared.decoded, prepared.result
        if decoded is None:
            reason = prepared.invalid or "unreadable"
            uow.set_inbound_status(item.id, "quarantined", reason=reason[:2000])
            return Outcome(item.id, "quarantined", reason=reason)
        msg = decoded.message
        uow.record_parsed(item.id, msg)
        channel = msg.channel
        now = self.now()

        if uow.find_duplicate_inbound(item.id, channel.value, msg.external_id) is not None:
            # The same message reached us twice (two team addresses, a redelivery).
            uow.set_inbound_status(item.id, "duplicate", reason="same message already handled")
            return Outcome(item.id, "duplicate", reason="duplicate")

        thread_id = self._thread_interaction(uow, msg)

        if decoded.no_reply_reason is None and language.is_choice(msg):
            # CYMRAEG / ENGLISH: the answer to the language question, on any channel.
            return language.answer_choice(self, uow, item.id, msg, thread_id, now)

        if decoded.no_reply_reason is not None:
            self._suppress(uow, item.id, msg, decoded.no_reply_reason)
            for address in decoded.failed_recipients:
                uow.hold_address(
                    channel.value,
                    address,
                    f"bounced: {decoded.no_reply_reason}",
                    now + timedelta(days=self.settings.email.caps.bounce_hold_days),
                )
            uow.set_inbound_status(
                item.id,
                "suppressed",
                reason=decoded.no_reply_reason,
                interaction_id=thread_id,
            )
            return Outcome(item.id, "suppressed", decoded.no_reply_reason, thread_id)

        if thread_id is not None and uow.get_interaction(thread_id).status == Status.CLOSED:
            assert result is not None  # only messages that may be answered get here
            return self._message_on_closed(uow, item, msg, now, result, thread_id)

        if thread_id is not None:
            # ACK-2: a reply in an existing thread joins it and gets no second acknowledgement.
            uow.set_inbound_status(item.id, "joined", interaction_id=thread_id)
            threads = SqlInteractions(uow)
            thread = threads.get(thread_id)
            if thread.resident_answered(self.clocks, at=now):
                threads.save(thread)
            uow.add_event(thread_id, "resident_replied", {"inbound_id": item.id})
            row = uow.get_interaction(thread_id)
            if result is not None:
                language.note_detected(uow.conn, row.contact_id, result.language, msg.body)
            outcome = Outcome(item.id, "joined", interaction_id=thread_id, reference=row.reference)
            handler = self.turn_handlers.get(channel)
            if handler is not None:
                capped = self._thread_cap_reason(uow, thread_id, now)
                if capped is not None:
                    self._suppress(uow, item.id, msg, capped)
                    return outcome
                turn_result = result if msg.body.strip() else None
                handler(Turn(uow, msg, outcome, turn_result, self, None))
            return outcome

        assert result is not None  # only messages that may be answered get here
        outcome = self._new_interaction(uow, item, msg, now, result)
        # MONITOR: a mystery-shopper probe is acknowledged like any enquiry, then set apart.
        set_apart_if_probe(uow, self.settings, item, msg, outcome.interaction_id, now)
        return outcome

    def _thread_interaction(self, uow: UnitOfWork, msg: InboundMessage) -> int | None:
        """The case this message joins, only when its sender is that case's own resident
        (PRIVACY: bot/service/joining.py); a stranger quoting a reference opens a new case
        marked "mentions DS-..." and changes nothing of the quoted one."""
        by_sender = None
        if msg.channel in _CONVERSATION_BY_SENDER:
            # A text or a direct message has no thread headers: a follow-up from the same
            # number or handle within a day belongs to the conversation still open (ACK-2:
            # no second acknowledgement for "and the hall light too").
            since = self.now() - _CONVERSATION_WINDOW
            by_sender = uow.recent_open_interaction(msg.channel.value, msg.sender, since)
        if by_sender is None and msg.channel is Channel.SMS:
            # A text about a case staff closed within the reopen window reopens it, even
            # without the reference (its channel keywords still come first: _message_on_closed).
            since = self.now() - timedelta(days=self.settings.cases.reopen_window_days)
            by_sender = uow.recent_closed_interaction(msg.channel.value, msg.sender, since)
        decision = joining.decide(uow, msg, by_sender)
        if decision.interaction_id is None:
            joining.record_mentions(uow, msg, decision.mentions)
        return decision.interaction_id

    def _suppress(self, uow: UnitOfWork, inbound_id: int, msg: InboundMessage, reason: str) -> None:
        uow.record_suppression(
            inbound_id=inbound_id, channel=msg.channel.value, address=msg.sender, reason=reason
        )

    # ---- a message on a closed case ------------------------------------------------------

    def _message_on_closed(
        self,
        uow: UnitOfWork,
        item: StoredInbound,
        msg: InboundMessage,
        now: datetime,
        result: Classification,
        closed_id: int,
    ) -> Outcome:
        """Within `cases.reopen_window_days` of closing, the case opens again in its owner's
        queue with a response clock, and the resident is told who replies and by when;
        after it, the message is a new enquiry (acknowledged as one) linked to the old."""
        interactions = SqlInteractions(uow)
        case = interactions.get(closed_id)
        closed_at = case.updated_at or now  # the close is its last change
        if now - closed_at > timedelta(days=self.settings.cases.reopen_window_days):
            outcome = self._new_interaction(uow, item, msg, now, result)
            if outcome.interaction_id is not None and outcome.reference is not None:
                case.followed_up(outcome.interaction_id, outcome.reference)
                interactions.save(case)
                uow.add_event(
                    outcome.interaction_id,
                    "follows",
                    {"interaction_id": case.id, "reference": case.reference},
                )
            return outcome
        uow.set_inbound_status(item.id, "joined", interaction_id=case.id)
        handler = self.turn_handlers.get(msg.channel)
        if msg.channel is Channel.SMS and isinstance(handler, AnswersKeywords):
            # HELP, START and the answers to our appointment texts are answered as such; they
            # are not the resident writing back about the closed case.
            joined = Outcome(item.id, "joined", interaction_id=case.id, reference=case.reference)
            if handler.answer_keywords(Turn(uow, msg, joined, result, self, None)):
                return joined
        policy = reopen_policy(Channel(case.channel), _topic(result), Urgency(case.urgency))
        clock = case.reopen(
            self.clocks,
            by="resident",
            at=now,
            reason="the resident wrote after it was closed",
            policy=policy,
        )
        interactions.save(case)
        uow.add_event(case.id, "resident_replied", {"inbound_id": item.id})
        outcome = Outcome(item.id, "joined", interaction_id=case.id, reference=case.reference)
        capped = self._thread_cap_reason(uow, case.id, now)
        if capped is not None:
            self._suppress(uow, item.id, msg, capped)
            return outcome
        assert clock is not None
        owner = person_name(uow.conn, case.owner) if case.owner else None
        email = msg.channel is Channel.EMAIL
        contact_id = language.interaction_contact(uow.conn, case.id)
        if contact_id is not None:
            language.note_detected(uow.conn, contact_id, result.language, msg.body)
        notice = OutboundMessage(
            channel=msg.channel,
            recipient=msg.sender,
            body=self.composer.render(
                "reopened.txt.j2",
                channel=msg.channel.value,
                voice=language.voice_for_interaction(uow.conn, self.settings.organisation, case.id),
                reference=case.reference,
                resident_name=greeting_name(msg.sender_name),
                owner_name=owner or team_in_words(self.settings.team(case.team).name),
                deadline=deadline_in_words(clock.due_at, now=now),
            ),
            idempotency_key=idempotency_key("reopened", msg.channel.value, msg.external_id),
            subject=acknowledgement_subject(msg.subject, case.reference) if email else None,
            sender=self._reply_from(msg.recipient, case.team) if email else None,
            in_reply_to=msg.external_id if email else None,
            references=(*msg.thread_refs, msg.external_id) if email else (),
            interaction_id=case.id,
            kind="reopened",
        )
        message_id = self._message_id(case.reference, f"reopened-{item.id}") if email else None
        enqueue_reply(uow, self.settings, notice, now, message_id=message_id)
        return outcome

    # ---- a new enquiry -------------------------------------------------------------------

    def _new_interaction(
        self,
        uow: UnitOfWork,
        item: StoredInbound,
        msg: InboundMessage,
        now: datetime,
        result: Classification,
    ) -> Outcome:
        topic, urgency = _topic(result), _urgency(result)
        channel = msg.channel

        contact_id = uow.contact_for(IDENTITY_KIND[channel], msg.sender, msg.sender_name)
        if result.needs:
            uow.add_contact_needs(contact_id, result.needs)
        language.note_detected(uow.conn, contact_id, result.language, msg.body)
        voice = language.voice_for(
            self.settings.organisation, language.contact_language(uow.conn, contact_id), first=True
        )

        # OOO: leave as edited in the dashboard, read once per transaction (a batch of mail)
        officers = uow.memo.get("officers")
        if officers is None:
            officers = uow.memo["officers"] = effective_officers(uow.conn)
        officer = _officer_for(officers, msg.recipient)
        away = officer is not None and _is_away(officer, now)
        team_id = self.route(channel, topic, urgency, msg.recipient)
        owner_name = team_in_words(self.settings.team(team_id).name)
        owner: str | None = None
        cover_name: str | None = None
        if officer is not None and not away:
            # Mail to a named officer is theirs, in their own team (tell the resident who
            # owns the case: HANDOFF).
            team_id, owner, owner_name = officer.team, officer.email, officer.name
        elif officer is not None and away:
            team_id, owner, cover_name = self._cover(officers, officer)
            owner_name = cover_name

        interaction = uow.create_interaction(
            prefix=self.settings.organisation.reference_prefix,
            contact_id=contact_id,
            channel=channel.value,
            topic=topic.value,
            urgency=urgency.value,
            intent=result.intent,
            team=team_id,
            owner=owner,
            subject=msg.subject,
            address=msg.sender,
            classification=result.as_dict(),
            now=now,
        )
        uow.set_inbound_status(item.id, "processed", interaction_id=interaction.id)

        plan = plan_for(
            channel,
            topic,
            urgency,
            intent=result.intent,
            hazards=tuple(h.rule for h in result.hazards),
        )
        received = msg.received_at if msg.received_at <= now else now
        respond_policy = response_policy(plan)
        deadline = self.clocks.deadline(respond_policy, received)
        uow.add_event(
            interaction.id,
            "created",
            {"inbound_id": item.id, "team": team_id, "owner": owner, "away": away},
        )
        interactions = SqlInteractions(uow)
        opened = interactions.opened(interaction, intent=result.intent, at=now)
        opened.make_promises(
            self.clocks,
            (plan.acknowledge, *plan.respond),
            by="assistant",
            reason="new enquiry",
            at=now,
            since=received,
        )
        interactions.save(opened)

        block = self._cap_reason(uow, msg, now)
        if block is not None:
            self._suppress(uow, item.id, msg, block)
            return Outcome(item.id, "processed", block, interaction.id, interaction.reference)

        ctx = AckContext(
            reference=interaction.reference,
            topic=topic.value,
            urgency=urgency.value,
            owner_name=owner_name,
            deadline=deadline,
            now=now,
            resident_name=greeting_name(msg.sender_name),
            hazard_signposts=tuple(sorted({h.signpost for h in result.hazards})),
            hazards=tuple(h.rule for h in result.hazards),
            officer_away=AwayOfficer(officer.name, officer.on_leave_until)
            if officer is not None and away and officer.on_leave_until is not None
            else None,
            cover_name=cover_name,
            office_open=self.clocks.calendar.is_open(now),
        )
        reply_from = self._reply_from(msg.recipient, team_id)
        ack = OutboundMessage(
            channel=channel,
            recipient=msg.sender,
            body=self.composer.acknowledgement(ctx, channel=channel.value, voice=voice),
            idempotency_key=idempotency_key("ack", channel.value, msg.external_id),
            subject=acknowledgement_subject(msg.subject, interaction.reference),
            sender=reply_from,
            in_reply_to=msg.external_id if channel is Channel.EMAIL else None,
            references=(*msg.thread_refs, msg.external_id) if channel is Channel.EMAIL else (),
            interaction_id=interaction.id,
            kind="ooo" if away else "acknowledgement",
            meta={
                "clock": plan.acknowledge,
                "thread_subject": _norm_subject(msg.subject),
                **language.choice_buttons(channel.value, voice),
            },
        )
        outcome = Outcome(
            item.id, "processed", None, interaction.id, interaction.reference, acknowledged=True
        )
        handler = self.turn_handlers.get(channel)
        pressing = urgency in (Urgency.EMERGENCY, Urgency.URGENT)
        if handler is None or not handler(Turn(uow, msg, outcome, result, self, ack)):
            enqueue_reply(
                uow,
                self.settings,
                ack,
                now,
                urgent=pressing,
                message_id=self._message_id(interaction.reference, "ack"),
            )
        if plan.complaint:
            stage1 = self.clocks.policy("complaint-stage1-response")
            enqueue_reply(
                uow,
                self.settings,
                OutboundMessage(
                    channel=channel,
                    recipient=msg.sender,
                    body=self.composer.complaint_procedure(
                        reference=interaction.reference,
                        stage1_ack_deadline=self.clocks.deadline("complaint-stage1-ack", received),
                        stage1_response_days=int(getattr(stage1, "amount", 10)),
                        now=now,
                        resident_name=greeting_name(msg.sender_name),
                        voice=voice,
                    ),
                    idempotency_key=idempotency_key("procedure", channel.value, msg.external_id),
                    subject=f"Our complaints procedure [{interaction.reference}]",
                    sender=reply_from,
                    in_reply_to=msg.external_id if channel is Channel.EMAIL else None,
                    references=(msg.external_id,) if channel is Channel.EMAIL else (),
                    interaction_id=interaction.id,
                    kind="procedure",
                    meta={"clock": "complaint-procedure-1"},
                ),
                now,
                message_id=self._message_id(interaction.reference, "procedure"),
            )
        return outcome

    # ---- helpers -------------------------------------------------------------------------

    def _message_id(self, reference: str, kind: str) -> str:
        domain = self.settings.email.from_address.rpartition("@")[2] or "doorstep.invalid"
        return f"<{reference.lower()}.{kind}@{domain}>"

    def route(self, channel: Channel, topic: Topic, urgency: Urgency, recipient: str | None) -> str:
        """HANDOFF routing: the most specific rule wins; a team's own address wins over all."""
        if recipient:
            for team in self.settings.teams:
                if team.email and team.email.lower() == recipient.lower():
                    return team.id
        rules = self.settings.routing
        for key in (
            f"{channel.value}:{topic.value}:{urgency.value}",
            f"{topic.value}:{urgency.value}",
            f"{channel.value}:{topic.value}",
            topic.value,
        ):
            if key in rules:
                return rules[key]
        return self.settings.default_team

    def _cover(self, officers: list[Officer], officer: Officer) -> tuple[str, str | None, str]:
        """(team, owner, name) for whoever covers an officer on leave (OOO)."""
        cover = officer.cover
        if cover:
            for other in officers:
                if other.email.lower() == cover.lower():
                    return other.team, other.email, other.name
            for team in self.settings.teams:
                if team.id == cover:
                    return team.id, None, team_in_words(team.name)
        return officer.team, None, team_in_words(self.settings.team(officer.team).name)

    def _reply_from(self, recipient: str | None, team_id: str) -> str:
        """Reply from the address the resident wrote to when it is one of ours (TEAM-RECEIPT)."""
        if recipient and recipient.lower() in self.settings.own_addresses:
            return recipient
        team = self.settings.team(team_id)
        return team.email or self.settings.email.from_address

    def _thread_cap_reason(self, uow: UnitOfWork, interaction_id: int, now: datetime) -> str | None:
        """Per-thread cap (Zammad: 10 in 10 minutes): two robots must not talk forever."""
        caps = self.settings.email.caps
        since = now - timedelta(minutes=caps.per_thread_minutes)
        sent = uow.auto_replies_in(interaction_id, since=since)
        if sent >= caps.per_thread:
            return f"per-thread cap: {caps.per_thread} in {caps.per_thread_minutes} minutes"
        return None

    def _cap_reason(self, uow: UnitOfWork, msg: InboundMessage, now: datetime) -> str | None:
        """Per-sender caps, address holds and stale mail: the last guard against reply storms."""
        max_age = self.settings.email.acknowledge_max_age_days
        if (
            msg.channel is Channel.EMAIL
            and max_age
            and now - msg.received_at > timedelta(days=max_age)
        ):
            # A mailbox connected for the first time holds the past: residents who wrote
            # weeks ago must not get "thank you for your email" now. Staff see them all.
            return f"sent more than {max_age} days ago: no automatic reply to old mail"
        window = self.settings.email.acknowledge_backlog_working_days
        if (
            msg.channel is Channel.EMAIL
            and max_age
            and window
            and now > self.clocks.calendar.add_working_days(msg.received_at, window)
        ):
            # ACK-2's window had passed before we saw it (backlog, outage): staff answer it.
            return f"backlog: older than the {window}-working-day acknowledgement window"
        hold = uow.active_hold(msg.channel.value, msg.sender, now)
        if hold is not None:
            return f"address on hold: {hold}"
        caps = self.settings.email.caps
        since = now - timedelta(minutes=caps.per_sender_minutes)
        subject = _norm_subject(msg.subject) or None
        to_sender, on_subject = uow.auto_replies_to(msg.sender, since=since, subject=subject)
        if to_sender >= caps.per_sender:
            return f"per-sender cap: {caps.per_sender} in {caps.per_sender_minutes} minutes"
        if subject and on_subject >= caps.per_sender_same_subject:
            return (
                f"same-subject cap: {caps.per_sender_same_subject} "
                f"in {caps.per_sender_minutes} minutes"
            )
        return None


def _topic(result: Classification) -> Topic:
    try:
        return Topic(result.topic)
    except ValueError:
        return Topic.GENERAL


def _urgency(result: Classification) -> Urgency:
    try:
        return Urgency(result.urgency)
    except ValueError:
        return Urgency.ROUTINE


_CONVERSATION_BY_SENDER = frozenset({Channel.SMS, Channel.SOCIAL})
_CONVERSATION_WINDOW = timedelta(hours=24)


def _officer_for(officers: list[Officer], recipient: str | None) -> Officer | None:
    if not recipient:
        return None
    for officer in officers:
        if officer.email.lower() == recipient.lower():
            return officer
    return None


def _is_away(officer: Officer, now: datetime) -> bool:
    back: date | None = officer.on_leave_until
    return back is not None and back > now.date()


_SUBJECT_PREFIX = re.compile(
    r"^\s*+((re|fw|fwd|aw|sv|antw)\s*+(\[\d++\]\s*+)?:\s*+)+", re.IGNORECASE
)  # possessive: nested optional spaces were cubic in a run of them


def _norm_subject(subject: str | None) -> str:
    return _SUBJECT_PREFIX.sub("", subject or "").strip().lower()[:200]


def count_by_status(conn: sa.Connection) -> dict[str, int]:
    c = t.inbound_messages.c
    rows = conn.execute(sa.select(c.status, sa.func.count()).group_by(c.status)).all()
    return {str(status): int(n) for status, n in rows}
