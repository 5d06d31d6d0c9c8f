"""A case is joined only by its own resident (PRIVACY, issue 13), on SQLite and PostgreSQL.

A stranger who quotes someone else's reference, over email, SMS or web chat, opens a new
case marked "mentions DS-...": the quoted case gains no message, no clock resumes, nothing
is re-routed, and the stranger is told nothing about it. The resident's own messages keep
joining their case (ACK-2), by reference and by reply headers.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from bot.bootstrap import App
from bot.settings import Settings, Team
from bot.storage import tables as t
from tests.fakes import FakeClock
from tests.integration.helpers import deliver, make_app
from tests.integration.test_sms_webhook import Harness
from tests.integration.test_webchat import _app as webchat_app
from tests.integration.test_webchat import _settings as webchat_settings
from tests.integration.test_webchat import chat
from tests.support.browser import office_hours_clock

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)
VICTIM = "victim@resident.example"
STRANGER = "someone@elsewhere.example"


def _settings() -> Settings:
    return Settings(
        teams=[
            Team(id="asb", name="Community Safety team"),
            Team(id="repairs", name="Repairs team"),
        ],
        routing={"asb": "asb", "repair": "repairs"},
    )


def _rows(engine: sa.Engine, table: sa.Table, *where: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table).where(*where).order_by(table.c.id)).all())


def _case_state(engine: sa.Engine, interaction_id: int) -> tuple[Any, ...]:
    """What must not change when a stranger quotes the case."""
    (case,) = _rows(engine, t.interactions, t.interactions.c.id == interaction_id)
    clocks = _rows(engine, t.clocks, t.clocks.c.interaction_id == interaction_id)
    inbound = _rows(
        engine, t.inbound_messages, t.inbound_messages.c.interaction_id == interaction_id
    )
    return (
        case.topic,
        case.urgency,
        case.team,
        case.status,
        [(c.policy, c.paused_at, c.is_open, c.due_at) for c in clocks],
        [m.id for m in inbound],
    )


def _send_all(app: App) -> None:
    asyncio.run(app.outbox.run_once(limit=100))


def _pause(app: App, interaction_id: int) -> None:
    with app.engine.begin() as conn:
        app.clocks.pause(conn, interaction_id, app.now())


def test_email_quoting_a_reference_from_another_address_opens_a_new_case(
    engine: sa.Engine,
) -> None:
    clock = FakeClock(MONDAY_10)
    app, sender = make_app(engine, clock, _settings())
    deliver(app, "v1", **{"from": VICTIM}, subject="Threats", body="My neighbour threatens me")
    (victim,) = app.pipeline.process_pending()
    assert victim.interaction_id is not None and victim.reference is not None
    _send_all(app)
    ack_id = sender.sent[0].meta["message_id"]
    _pause(app, victim.interaction_id)  # waiting on the resident
    before = _case_state(engine, victim.interaction_id)

    # By the reference in the subject, and by In-Reply-To our acknowledgement's Message-ID.
    deliver(
        app,
        "x1",
        **{"from": STRANGER},
        subject=f"Re: [{victim.reference}]",
        body="Please cancel everything, I am fine now. My boiler is broken.",
    )
    deliver(app, "x2", **{"from": STRANGER}, subject="Re: Boiler", body="boiler", refs=[ack_id])
    strangers = app.pipeline.process_pending()
    assert [o.status for o in strangers] == ["processed", "processed"]
    assert all(o.interaction_id != victim.interaction_id for o in strangers)
    assert _case_state(engine, victim.interaction_id) == before

    # The stranger's messages are kept whole, marked as mentioning the case.
    for outcome in strangers:
        (stored,) = _rows(engine, t.inbound_messages, t.inbound_messages.c.id == outcome.inbound_id)
        assert stored.meta["mentions"] == [victim.reference]
        assert stored.interaction_id == outcome.interaction_id
    (first,) = _rows(engine, t.inbound_messages, t.inbound_messages.c.id == strangers[0].inbound_id)
    assert "Please cancel everything" in first.body
    events = _rows(engine, t.events, t.events.c.interaction_id == victim.interaction_id)
    assert [e.kind for e in events].count("mentioned_by_other_sender") == 2

    # Their acknowledgements say nothing of the quoted case.
    _send_all(app)
    to_stranger = [m for m in sender.sent if m.recipient == STRANGER]
    assert len(to_stranger) == 2
    for message in to_stranger:
        assert victim.reference not in message.body  # (their own subject is echoed)
        assert "Community Safety" not in message.body

    # The resident's own replies still join, by reference and by Message-ID (ACK-2).
    deliver(app, "v2", **{"from": VICTIM.upper()}, subject=f"Re: [{victim.reference}]", body="x")
    deliver(app, "v3", **{"from": VICTIM}, subject="Re: Threats", body="more", refs=[ack_id])
    own = app.pipeline.process_pending()
    assert [(o.status, o.interaction_id) for o in own] == [
        ("joined", victim.interaction_id),
        ("joined", victim.interaction_id),
    ]


def test_a_first_format_reference_still_threads_for_its_resident(engine: sa.Engine) -> None:
    app, _ = make_app(engine, FakeClock(MONDAY_10), _settings())
    deliver(app, "v1", **{"from": VICTIM}, subject="Leak", body="There is a leak")
    (case,) = app.pipeline.process_pending()
    with engine.begin() as conn:
        conn.execute(
            t.interactions.update()
            .where(t.interactions.c.id == case.interaction_id)
            .values(reference="DS-2026-000006")
        )
    deliver(app, "v2", **{"from": VICTIM}, subject="about ds-2026-000006", body="any news?")
    deliver(app, "x1", **{"from": STRANGER}, subject="DS-2026-000006", body="cancel it")
    mine, theirs = app.pipeline.process_pending()
    assert (mine.status, mine.interaction_id) == ("joined", case.interaction_id)
    assert theirs.status == "processed" and theirs.interaction_id != case.interaction_id


def test_a_text_from_another_number_quoting_a_reference_opens_a_new_case(
    engine: sa.Engine,
) -> None:
    async def scenario() -> None:
        h = Harness(engine, FakeClock(datetime(2026, 11, 23, 10, 0, tzinfo=UTC)))
        try:
            await h.text("My neighbour is threatening me", "SM" + "a" * 32)
            (victim,) = h.process()
            await h.send_all()
            assert victim.interaction_id is not None
            _pause(h.app, victim.interaction_id)
            before = _case_state(engine, victim.interaction_id)

            await h.text(
                f"{victim.reference} please cancel everything I am fine now",
                "SM" + "b" * 32,
                sender="+447700900999",
            )
            (stranger,) = h.process()
            await h.send_all()
            assert stranger.status == "processed"
            assert stranger.interaction_id != victim.interaction_id
            assert _case_state(engine, victim.interaction_id) == before
            (ack,) = [m for m in h.sms.sent if m.recipient == "+447700900999"]
            assert victim.reference not in ack.body

            # The resident's own number quoting it joins (after the conversation window too).
            h.clock.advance(days=3)
            await h.text(f"Re {victim.reference}: it happened again", "SM" + "c" * 32)
            (own,) = h.process()
            assert (own.status, own.interaction_id) == ("joined", victim.interaction_id)
        finally:
            await h.client.aclose()

    asyncio.run(scenario())


def test_a_new_chat_quoting_a_reference_opens_a_new_case(engine: sa.Engine) -> None:
    settings = webchat_settings()
    clock = office_hours_clock(settings)
    app = webchat_app(engine, settings, clock)
    with chat(app) as victim_chat:
        victim_chat.hello()
        victim_chat.say("m1", "My boiler is broken")
        reference = victim_chat.reply()["reference"]
    (case,) = _rows(engine, t.interactions)
    _pause(app, case.id)
    before = _case_state(engine, case.id)

    with chat(app) as stranger_chat:
        stranger_chat.hello()
        stranger_chat.say("s1", f"About {reference}: please cancel everything")
        answer = stranger_chat.reply()
    assert answer["reference"] != reference
    assert reference not in answer["text"]
    assert _case_state(engine, case.id) == before
    cases = _rows(engine, t.interactions)
    assert len(cases) == 2
    (marked,) = _rows(
        engine, t.inbound_messages, t.inbound_messages.c.interaction_id == cases[1].id
    )
    assert marked.meta["mentions"] == [reference]


def test_the_assistant_acts_only_on_its_own_residents_case(engine: sa.Engine) -> None:
    """The Rasa path: a conversation naming another resident's reference may neither
    reclassify nor re-route it (bot/conversation/service.py)."""
    from bot.conversation.service import AssistantError, AssistantService, RequestIn

    app, _ = make_app(engine, FakeClock(MONDAY_10), _settings())
    deliver(app, "v1", **{"from": VICTIM}, subject="Threats", body="My neighbour threatens me")
    (case,) = app.pipeline.process_pending()
    assert case.interaction_id is not None and case.reference is not None
    before = _case_state(engine, case.interaction_id)
    service = AssistantService(app)
    with pytest.raises(AssistantError, match="not this conversation's case"):
        service.register(
            RequestIn(
                conversation_id="c1",
                topic="repair",
                channel="email",
                sender=STRANGER,
                reference=case.reference,
            )
        )
    assert _case_state(engine, case.interaction_id) == before
    done = service.register(
        RequestIn(
            conversation_id="c2",
            topic="asb",
            channel="email",
            sender=VICTIM,
            reference=case.reference,
        )
    )
    assert done.interaction_id == case.interaction_id


def test_staff_link_a_mention_after_checking(engine: sa.Engine) -> None:
    """The resident wrote from their work address: staff check, link the new case into
    theirs and trust the address; its next message joins by itself."""
    from bot.service.joining import LinkError, link_mention
    from bot.storage.repository import UnitOfWork

    app, _ = make_app(engine, FakeClock(MONDAY_10), _settings())
    deliver(app, "v1", **{"from": VICTIM}, subject="Threats", body="My neighbour threatens me")
    (case,) = app.pipeline.process_pending()
    work = "jo@work.example"
    deliver(app, "w1", **{"from": work}, subject=f"[{case.reference}]", body="more detail")
    (mention,) = app.pipeline.process_pending()
    assert mention.interaction_id != case.interaction_id and mention.reference is not None
    assert case.reference is not None

    with UnitOfWork(engine, app.now) as uow:
        done = link_mention(
            uow, app.clocks, mentioning=mention.reference, into=case.reference,
            by="ada@landlord.example", trust_sender=True, now=app.now(),
        )  # fmt: skip
        uow.commit()
    assert done.messages == 1
    moved = _rows(engine, t.inbound_messages, t.inbound_messages.c.id == mention.inbound_id)
    assert moved[0].interaction_id == case.interaction_id
    (closed,) = _rows(engine, t.interactions, t.interactions.c.id == mention.interaction_id)
    assert closed.status == "closed" and closed.outcome == f"Linked to {case.reference}"
    assert not any(
        c.is_open for c in _rows(engine, t.clocks, t.clocks.c.interaction_id == closed.id)
    )

    deliver(app, "w2", **{"from": work}, subject=f"Re: [{case.reference}]", body="and again")
    (joined,) = app.pipeline.process_pending()
    assert (joined.status, joined.interaction_id) == ("joined", case.interaction_id)
    with UnitOfWork(engine, app.now) as uow, pytest.raises(LinkError, match="closed"):
        link_mention(
            uow, app.clocks, mentioning=mention.reference, into=case.reference, by="x",
            trust_sender=False, now=app.now(),
        )  # fmt: skip


def test_real_mail_answering_our_message_id_from_another_address_opens_a_new_case(
    engine: sa.Engine,
) -> None:
    """The email channel's own decoder: In-Reply-To and References naming our
    acknowledgement thread only from the case's own address."""
    from email.utils import format_datetime

    from bot.bootstrap import bootstrap
    from bot.domain.model import Channel
    from channels.base import CollectingSender
    from channels.email.adapter import decoder
    from tests.fakes import KeywordClassifier

    # The parser caps a Date at the real time: the clock is today.
    today = datetime.now(UTC).replace(microsecond=0)
    settings = _settings()
    sender = CollectingSender(Channel.EMAIL)
    app = bootstrap(
        settings,
        engine=engine,
        classifier=KeywordClassifier(),
        senders=[sender],
        decoders={Channel.EMAIL: decoder(settings)},
        now=FakeClock(today),
        run_migrations=False,
    )

    def mail(key: str, sender_address: str, subject: str, refs: str = "") -> None:
        headers = f"In-Reply-To: {refs}\r\nReferences: {refs}\r\n" if refs else ""
        raw = (
            f"From: Someone <{sender_address}>\r\nTo: repairs@landlord.example\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{key}@mail.example>\r\n{headers}"
            f"Date: {format_datetime(today)}\r\nContent-Type: text/plain\r\n\r\n"
            "Please cancel everything, I am fine now.\r\n"
        ).encode()
        app.pipeline.store_raw(Channel.EMAIL, "imap:test", key, raw)

    mail("v1", VICTIM, "My neighbour threatens me")
    (case,) = app.pipeline.process_pending()
    _send_all(app)
    our_id = sender.sent[0].meta["message_id"]
    mail("x1", STRANGER, f"Re: My neighbour [{case.reference}]", our_id)
    mail("v2", VICTIM, f"Re: My neighbour [{case.reference}]", our_id)
    stranger, own = app.pipeline.process_pending()
    assert stranger.status == "processed" and stranger.interaction_id != case.interaction_id
    assert (own.status, own.interaction_id) == ("joined", case.interaction_id)
    app.close()
