"""The conversation engine as `bootstrap` wires it from settings (the channel registry, no
handler replaced after bootstrap), on real SQLite and PostgreSQL.

- Rasa on (the local fake of Rasa's HTTP server) + an SMS HELP or an appointment YES: the
  SMS keywords answer, Rasa never sees them; any other text reaches Rasa.
- Safe when unsure, by text with Rasa off: the safety question goes after the
  acknowledgement; a YES raises the interaction to an emergency in the database (the
  `reclassified` event, Awaab's Law clock) and the reply opens with what to do now; a NO
  keeps the urgency the hazard rule set.
- Asking for a person by text: the hand-off request through the aggregate, the number to
  call now in office hours (out of hours, when we open and the emergency line) and the
  hand-off clock's deadline in words, in one text.
- SMS reopening by sender: a text from the number of a case staff closed within the reopen
  window reopens it without the reference, but HELP and an appointment answer are answered
  as such first, and a case the assistant closed itself (HELP) is not reopened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from actions.appointments import AppointmentService
from actions.wording import deadline_in_words
from bot.bootstrap import App, bootstrap
from bot.conversation.rasa import RasaEngine
from bot.conversation.turns import TurnRunner
from bot.conversation.unsure import AskWhenUnsure
from bot.domain.interaction import settlements_on_close
from bot.domain.model import Channel, OutboundMessage
from bot.domain.safety import WATER_ELECTRICS_ADVICE
from bot.nlu.types import Classification, HazardMatch
from bot.service.pipeline import Outcome
from bot.settings import Rasa
from bot.storage import tables as t
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import UnitOfWork
from channels.base import CollectingSender
from channels.sms.adapter import make_decoder
from tests.fakes import FakeClock, KeywordClassifier
from tests.support.fake_rasa import FakeRasa, closed_port_url, running_fake_rasa
from tests.support.fake_twilio import ACCOUNT_SID, inbound_form, sms_settings

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
RESIDENT = "+447700900123"
LEAK_QUESTION = "Is water near lights or sockets, or can you not stop it?"
JOB = {
    "job_ref": "J-2001",
    "resident_name": "Jane Smith",
    "phone": "07700 900123",
    "address": "4 Mill Lane, Leeds",
    "date": "2026-11-25",
    "slot": "am",
    "trade": "Plumbing",
}


class LeakClassifier(KeywordClassifier):
    """The classifier's contract as the trained one keeps it for a leak: urgent by the hazard
    rule, with the question that tells an emergency from less; yes / no as intents."""

    def classify(self, text: str) -> Classification:
        low = text.lower()
        if "leak" in low:
            return Classification(
                topic="repair", urgency="urgent", intent="report_repair",
                hazards=(HazardMatch("leak", "leak", "emergency_repairs"),), ask=LEAK_QUESTION,
            )  # fmt: skip
        if low.strip() in ("yes", "no"):
            intent = "affirm" if low.strip() == "yes" else "deny"
            return Classification(topic="general", urgency="routine", intent=intent)
        return super().classify(text)


class World:
    def __init__(self, engine: sa.Engine, rasa_url: str | None = None) -> None:
        self.clock = FakeClock(MONDAY_10)
        self.sms = CollectingSender(Channel.SMS)
        rasa = Rasa(url=rasa_url, timeout_seconds=2.0) if rasa_url else Rasa()
        self.app: App = bootstrap(
            sms_settings(rasa=rasa),
            engine=engine,
            classifier=LeakClassifier(),
            senders=[self.sms, CollectingSender(Channel.EMAIL)],
            decoders={Channel.SMS: make_decoder(ACCOUNT_SID, now=self.clock)},
            now=self.clock,
            run_migrations=False,
        )  # turn handlers: from the channel registry
        self.engine = engine
        self.count = 0

    def text_in(self, body: str) -> Outcome:
        self.count += 1
        sid = "SM" + f"{self.count:x}".rjust(32, "0")
        raw = urlencode(inbound_form(body, sid=sid, sender=RESIDENT)).encode()
        self.app.pipeline.store_raw(Channel.SMS, "twilio", sid, raw)
        (outcome,) = self.app.pipeline.process_pending()
        return outcome

    def sent(self) -> list[OutboundMessage]:
        asyncio.run(self.app.outbox.run_once(limit=100))
        return self.sms.sent

    def interaction(self, interaction_id: int | None) -> sa.Row[tuple[str, str]]:
        c = t.interactions.c
        with self.engine.connect() as conn:
            return conn.execute(sa.select(c.status, c.urgency).where(c.id == interaction_id)).one()

    def events(self, kind: str) -> int:
        e = t.events.c
        with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(t.events).where(e.kind == kind)
            return int(conn.execute(query).scalar_one())

    def due_at(self, interaction_id: int | None) -> dict[str, datetime]:
        c = t.clocks.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.policy, c.due_at).where(c.interaction_id == interaction_id)
            ).all()
        return {r.policy: r.due_at for r in rows}

    def open_clocks(self, interaction_id: int | None) -> set[str]:
        c = t.clocks.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.policy).where(c.interaction_id == interaction_id, c.outcome.is_(None))
            ).all()
        return {r.policy for r in rows}


@pytest.fixture
def fake() -> Iterator[FakeRasa]:
    with running_fake_rasa() as running:
        yield running


@pytest.fixture
def with_rasa(engine: sa.Engine, fake: FakeRasa) -> Iterator[World]:
    world = World(engine, fake.url)
    yield world
    world.app.engine.dispose()


@pytest.fixture
def built_in(engine: sa.Engine) -> Iterator[World]:
    world = World(engine)
    yield world
    world.app.engine.dispose()


def test_the_registry_puts_the_sms_keywords_before_rasa(with_rasa: World) -> None:
    handler = with_rasa.app.pipeline.turn_handlers[Channel.SMS]
    assert isinstance(handler, TurnRunner) and handler.keywords is not None
    assert isinstance(handler.engine, AskWhenUnsure)
    assert isinstance(handler.engine.inner, RasaEngine)


def test_rasa_on_help_by_text_is_answered_by_the_sms_keywords(
    with_rasa: World, fake: FakeRasa
) -> None:
    outcome = with_rasa.text_in("HELP")
    texts = with_rasa.sent()
    assert [m.kind for m in texts] == ["help"]
    assert with_rasa.app.settings.organisation.phone in texts[0].body
    assert fake.webhook_payloads() == []  # Rasa never saw it
    assert with_rasa.interaction(outcome.interaction_id).status == "closed"


def test_rasa_on_an_appointment_yes_confirms_it(with_rasa: World, fake: FakeRasa) -> None:
    AppointmentService.from_app(with_rasa.app).schedule(JOB)
    outcome = with_rasa.text_in("Yes")
    texts = with_rasa.sent()
    assert [m.kind for m in texts] == ["appointment_scheduled", "appointment_reply"]
    assert "confirmed" in texts[1].body
    assert fake.webhook_payloads() == []
    assert with_rasa.interaction(outcome.interaction_id).status == "closed"


def test_rasa_on_other_texts_reach_rasa_under_the_sms_rules(
    with_rasa: World, fake: FakeRasa
) -> None:
    fake.responder = lambda p: [{"text": "Sorry \u2013 which room?"}]  # an en dash: not GSM-7
    with_rasa.text_in("My sink is blocked")
    (text,) = with_rasa.sent()
    assert [p["message"] for p in fake.webhook_payloads()] == ["My sink is blocked"]
    assert text.body == "Sorry - which room?"  # GSM-7 normalised on the Rasa path too
    assert text.meta["clock"] == "ack-2" and text.meta["segments"] == "1"


def test_rasa_down_the_built_in_engine_acknowledges_and_the_held_copy_is_withdrawn(
    engine: sa.Engine,
) -> None:
    """The built-in acknowledgement must not share the held copy's key (it would be dropped
    as a duplicate and the held copy then withdrawn: the resident told nothing)."""
    world = World(engine, closed_port_url())
    try:
        outcome = world.text_in("My sink is blocked")
        (text,) = world.sent()
        assert text.kind == "acknowledgement" and outcome.reference in text.body
        assert text.meta["clock"] == "ack-2"
        with engine.connect() as conn:
            rows = conn.execute(sa.select(t.outbox.c.status).order_by(t.outbox.c.id)).all()
        assert [r.status for r in rows] == ["withdrawn", "sent"]
        assert world.events("assistant_unavailable") == 1
    finally:
        world.app.engine.dispose()


def test_by_text_a_yes_to_the_safety_question_raises_the_case_to_an_emergency(
    built_in: World,
) -> None:
    first = built_in.text_in("Water is leaking through my ceiling")
    ack, question = built_in.sent()
    assert ack.kind == "acknowledgement" and question.kind == "question"
    assert question.body.startswith(LEAK_QUESTION)
    assert built_in.interaction(first.interaction_id).urgency == "urgent"

    answer = built_in.text_in("YES")
    assert answer.status == "joined" and answer.interaction_id == first.interaction_id
    reply = built_in.sent()[-1]
    assert reply.kind == "safety" and reply.body.startswith(WATER_ELECTRICS_ADVICE)
    assert built_in.interaction(first.interaction_id).urgency == "emergency"
    assert built_in.events("reclassified") == 1
    assert "awaab-emergency" in built_in.open_clocks(first.interaction_id)

    built_in.text_in("It is in the kitchen")  # not asked again, not answered twice
    assert built_in.sent()[-1] is reply


def test_after_a_yes_the_deadline_told_is_the_reply_clock_not_awaabs_make_safe_clock(
    built_in: World,
) -> None:
    first = built_in.text_in("Water is leaking through my ceiling")
    built_in.text_in("YES")
    reply = built_in.sent()[-1]
    due = built_in.due_at(first.interaction_id)
    now = built_in.clock()
    assert deadline_in_words(due["handoff-urgent-1"], now=now) in reply.body
    assert deadline_in_words(due["awaab-emergency"], now=now) not in reply.body


# ---- HANDOFF by text ---------------------------------------------------------------------


def test_asking_for_a_person_by_text_gives_the_number_now_and_the_hand_off_deadline(
    built_in: World,
) -> None:
    first = built_in.text_in("My boiler is broken")
    asked = built_in.text_in("Can I speak to someone please")
    assert asked.interaction_id == first.interaction_id
    _ack, reply = built_in.sent()
    assert reply.kind == "handoff" and reply.meta["template"] == "person_asked.txt.j2"
    org = built_in.app.settings.organisation
    assert f"To talk to someone now, call {org.phone}." in reply.body
    due = built_in.due_at(first.interaction_id)["handoff-3"]
    assert deadline_in_words(due, now=built_in.clock()) in reply.body
    assert first.reference is not None and first.reference in reply.body
    assert built_in.events("handoff_requested") == 1
    assert reply.meta["segments"] in ("1", "2")  # SMS rules on this path too
    built_in.text_in("Can I speak to someone please")  # asked again: one request
    assert built_in.events("handoff_requested") == 1
    assert built_in.sent()[-1].body.startswith("You have already asked for a person.")


def test_asking_for_a_person_by_text_out_of_hours_says_when_we_open(built_in: World) -> None:
    built_in.clock.current = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)  # Monday, 7pm
    first = built_in.text_in("Can I speak to someone please")
    (reply,) = built_in.sent()
    assert reply.kind == "acknowledgement" and reply.meta["clock"] == "ack-2"
    assert first.reference is not None and first.reference in reply.body
    org = built_in.app.settings.organisation
    assert "Our office is closed now." in reply.body and org.emergency_phone in reply.body
    assert "To talk to someone now" not in reply.body
    assert built_in.events("handoff_requested") == 1


def test_by_text_a_no_keeps_the_urgency_the_hazard_rule_set(built_in: World) -> None:
    first = built_in.text_in("Water is leaking through my ceiling")
    built_in.text_in("NO")
    reply = built_in.sent()[-1]
    assert reply.kind == "safety" and reply.body.startswith("Thank you.")
    assert built_in.interaction(first.interaction_id).urgency == "urgent"
    assert built_in.events("reclassified") == 0


# ---- SMS: a text on a case staff closed reopens it, after the keywords had their chance ---


def staff_close(world: World, interaction_id: int | None) -> None:
    assert interaction_id is not None
    with UnitOfWork(world.app.engine, world.app.now) as uow:
        cases = SqlInteractions(uow)
        case = cases.get(interaction_id)
        case.close(
            outcome="repair_booked",
            text="Repair booked",
            settlements=settlements_on_close(case, "repair_booked", told=True, label="booked"),
            by="rita@landlord.example",
            at=world.clock(),
            told=True,
        )
        cases.save(case)
        uow.commit()
    world.clock.advance(days=2)


def test_a_text_without_the_reference_reopens_the_case_staff_closed(built_in: World) -> None:
    first = built_in.text_in("My boiler is broken")
    staff_close(built_in, first.interaction_id)
    later = built_in.text_in("Thanks. What time tomorrow?")
    assert later.status == "joined" and later.interaction_id == first.interaction_id
    assert built_in.interaction(first.interaction_id).status == "open"
    assert built_in.sent()[-1].kind == "reopened"
    assert built_in.events("reopened") == 1
    # The team as the engine names it ("the Repairs team"), a capital where it opens.
    assert "The Repairs team will reply" in built_in.sent()[-1].body


def test_help_after_a_close_is_answered_as_help_and_the_case_stays_closed(
    built_in: World,
) -> None:
    first = built_in.text_in("My boiler is broken")
    staff_close(built_in, first.interaction_id)
    built_in.text_in("HELP")
    assert built_in.sent()[-1].kind == "help"
    assert built_in.interaction(first.interaction_id).status == "closed"
    assert built_in.events("reopened") == 0


def test_an_appointment_yes_after_a_close_confirms_it_and_the_case_stays_closed(
    with_rasa: World, fake: FakeRasa
) -> None:
    fake.responder = lambda p: [{"text": "Thank you."}]
    first = with_rasa.text_in("My boiler is broken")
    staff_close(with_rasa, first.interaction_id)
    AppointmentService.from_app(with_rasa.app).schedule(JOB)
    with_rasa.text_in("Yes")
    assert [m.kind for m in with_rasa.sent()][-2:] == ["appointment_scheduled", "appointment_reply"]
    assert with_rasa.interaction(first.interaction_id).status == "closed"
    assert with_rasa.events("reopened") == 0
    assert len(fake.webhook_payloads()) == 1  # only the first text reached Rasa


def test_a_case_the_assistant_closed_itself_is_not_reopened_by_the_next_text(
    built_in: World,
) -> None:
    help_case = built_in.text_in("HELP")  # answered and closed by the assistant
    later = built_in.text_in("My boiler is broken")
    assert later.status == "processed" and later.interaction_id != help_case.interaction_id
    assert built_in.interaction(help_case.interaction_id).status == "closed"
