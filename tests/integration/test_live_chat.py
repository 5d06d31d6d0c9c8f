"""Live chat on real SQLite and PostgreSQL (HANDOFF): presence kept in the database (so
every instance sees it), the live queue filled from the aggregate's hand-off requests, one
"Take" only, the officer's lines in the resident's chat, the timeout that gives the phone
number and the deadline, and an officer whose dashboard goes quiet leaving the chat.

The chat's messages go through the real pipeline (store, classify, route, the assistant)
and the outbox; the web chat sender is the collecting fake, so what the resident would read
is checked in the outbox rows.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from actions import handoff
from actions.replies import ActionError, Actor
from bot.bootstrap import App, bootstrap
from bot.conversation.engine import PERSON_PAYLOAD
from bot.domain.model import Channel
from bot.service import live
from bot.settings import LiveChat, Settings, Team
from bot.storage import live as store
from bot.storage import tables as t
from bot.storage.repository import UnitOfWork
from bot.storage.tables_staff import live_chats, staff_users
from channels.base import CollectingSender
from channels.webchat.adapter import SOURCE, ChatPayload, decode, encode_payload
from channels.webchat.store import ChatStore
from tests.fakes import FakeClock, KeywordClassifier
from tests.support.browser import closed_clock, office_hours_clock

pytestmark = pytest.mark.integration

TTL = timedelta(seconds=45)
IDLE = timedelta(minutes=10)


def _settings(**live_chat: Any) -> Settings:
    return Settings(
        teams=[Team(id="repairs", name="Repairs team"), Team(id="housing", name="Housing team")],
        routing={"repair": "repairs"},
        live_chat=LiveChat(**live_chat),
    )


class Env:
    def __init__(self, engine: sa.Engine, settings: Settings, clock: FakeClock) -> None:
        self.engine, self.clock = engine, clock
        self.sender = CollectingSender(Channel.WEBCHAT)
        self.app: App = bootstrap(
            settings,
            engine=engine,
            classifier=KeywordClassifier(),
            senders=[self.sender, CollectingSender(Channel.EMAIL), CollectingSender(Channel.SMS)],
            decoders={Channel.WEBCHAT: decode},
            now=clock,
            run_migrations=False,
        )
        self.store = ChatStore(engine)
        self.after = 0
        self._n = 0

    def staff(self, email: str, name: str, team: str | None, role: str = "agent") -> int:
        with self.engine.begin() as conn:
            new_id = conn.execute(
                staff_users.insert()
                .values(
                    email=email,
                    name=name,
                    role=role,
                    team=team,
                    password_hash="not-used",
                    active=True,
                    created_at=self.clock(),
                    must_change_password=False,
                )
                .returning(staff_users.c.id)
            ).scalar_one()
        return int(new_id)

    def available(self, user_id: int) -> None:
        with self.engine.begin() as conn:
            store.set_status(conn, user_id, "available", self.clock())

    def open_chat(self) -> str:
        session, _token = self.store.open_session(None, self.clock())
        return session.id

    def say(self, session_id: str, text: str) -> None:
        self._n += 1
        current = self.store.get_session(session_id)
        assert current is not None
        client_id = f"m{self._n}"
        payload = ChatPayload(
            session_id=session_id,
            conversation_id=current.conversation_id,
            client_id=client_id,
            text=text,
            received_at=self.clock(),
            opening_external_id=current.opening_external_id,
        )
        ext = f"{session_id}:{client_id}"
        self.app.pipeline.store_raw(Channel.WEBCHAT, SOURCE, ext, encode_payload(payload))
        self.store.add_resident_line(session_id, client_id, text, ext, self.clock())
        self.app.pipeline.process_pending()

    def tick(self) -> int:
        self.after, written = live.tick(self.engine, self.app, self.clock(), self.after)
        return written

    def bodies(self) -> list[str]:
        """What the resident has been sent so far (delivering the outbox first)."""
        asyncio.run(self.app.outbox.run_once(limit=100))
        return [m.body.strip() for m in self.sender.sent]

    def chat_row(self, interaction_id: int) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(live_chats).where(live_chats.c.interaction_id == interaction_id)
            ).one()

    def interaction(self, session_id: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(t.interactions).where(t.interactions.c.address == session_id)
            ).one()


def _asks_for_a_person(
    env: Env, first: str = "My boiler is broken and there is no hot water"
) -> str:
    session = env.open_chat()
    env.say(session, first)
    env.say(session, PERSON_PAYLOAD)
    return session


def _asked_through_rasa(env: Env) -> str:
    """A chat whose hand-off Rasa's custom action requested (bot.conversation.service)."""
    from bot.conversation.service import AssistantService, RequestIn

    session = env.open_chat()
    env.say(session, "My boiler is broken and there is no hot water")
    found = env.interaction(session)
    AssistantService(env.app).handoff(
        RequestIn(
            conversation_id=session,
            topic="repair",
            channel="webchat",
            sender=session,
            reference=found.reference,
        ),
        "the resident asked Rasa for a person",
    )
    return session


def _jane() -> Actor:
    return Actor(email="jane@example.org", name="Jane Hill", role="agent", team="repairs")


# ---- presence ----------------------------------------------------------------------------


def test_presence_is_in_the_database_expires_and_goes_idle(engine: sa.Engine) -> None:
    env = Env(engine, _settings(), office_hours_clock(_settings()))
    jane = env.staff("jane@example.org", "Jane Hill", "repairs")
    env.staff("omar@example.org", "Omar Ali", "housing")
    now = env.clock()
    with engine.begin() as conn:
        assert store.status_of(conn, jane, now, TTL, IDLE) == "away"  # never chose
        assert store.heartbeat(conn, jane, now, now) == "away"  # a beat is not a choice
        store.set_status(conn, jane, "available", now)
    # Presence is a row, not a process's memory: any connection (any instance) sees it.
    with engine.connect() as conn:
        found = store.available_staff(conn, "repairs", now, TTL, IDLE)
        assert [s.name for s in found] == ["Jane Hill"]
        assert store.available_staff(conn, "housing", now, TTL, IDLE) == []
    # The dashboard closed: no heartbeat for longer than the window.
    later = now + TTL + timedelta(seconds=1)
    with engine.connect() as conn:
        assert store.status_of(conn, jane, later, TTL, IDLE) == "away"
        assert store.available_staff(conn, "repairs", later, TTL, IDLE) == []
    # Open but untouched for longer than the idle window: away too; back when used again.
    idle_at = now + IDLE + timedelta(minutes=1)
    with engine.begin() as conn:
        store.heartbeat(conn, jane, idle_at, now)
        assert store.status_of(conn, jane, idle_at, TTL, IDLE) == "away"
        store.heartbeat(conn, jane, idle_at, idle_at)
        assert store.status_of(conn, jane, idle_at, TTL, IDLE) == "available"
        store.set_status(conn, jane, "away", idle_at)
        assert store.available_staff(conn, "repairs", idle_at, TTL, IDLE) == []


# ---- the decision and the queue ---------------------------------------------------------


def test_nobody_available_in_office_hours_gives_the_phone_and_the_deadline(
    engine: sa.Engine,
) -> None:
    settings = _settings()
    env = Env(engine, settings, office_hours_clock(settings))
    env.staff("jane@example.org", "Jane Hill", "repairs")  # signed up, but not Available
    session = _asks_for_a_person(env)
    assert env.tick() == 0
    row = env.chat_row(env.interaction(session).id)
    assert row.state == "phone"
    handoff_reply = env.bodies()[-1]
    assert settings.organisation.phone in handoff_reply  # the number to call now
    assert "will reply" in handoff_reply
    assert "queue" not in " ".join(env.bodies())


def test_out_of_hours_never_goes_live_even_with_someone_available(engine: sa.Engine) -> None:
    settings = _settings()
    env = Env(engine, settings, closed_clock(settings))
    env.available(env.staff("jane@example.org", "Jane Hill", "repairs"))
    session = _asks_for_a_person(env)
    env.tick()
    assert env.chat_row(env.interaction(session).id).state == "phone"
    assert not any("queue" in b for b in env.bodies())


def test_available_staff_get_the_chat_live_and_the_resident_is_told(engine: sa.Engine) -> None:
    settings = _settings()
    env = Env(engine, settings, office_hours_clock(settings))
    env.available(env.staff("jane@example.org", "Jane Hill", "repairs"))
    first = _asks_for_a_person(env)
    second = _asks_for_a_person(env, "My kitchen tap is leaking")
    # The engine queued both chats in the hand-off turn itself (actions.handoff.offer_person):
    # the worker, the safety net, finds nothing left to answer.
    assert env.tick() == 0
    assert env.tick() == 0  # answered once, however often the worker looks
    bodies = env.bodies()
    assert any(b.startswith("You are next in the queue.") for b in bodies)
    assert any(b.startswith("There is 1 person before you in the queue.") for b in bodies)
    # One message per request: the place in the queue, not the hand-off reply before it.
    assert len(bodies) == 4 and not any("I have asked" in b for b in bodies)
    with engine.connect() as conn:
        waiting = store.in_states(conn, ("waiting",))
        assert [c.session_id for c in waiting] == [first, second]
        assert store.first_words(conn, first) == "My boiler is broken and there is no hot water"

    # Take: through the aggregate (the case is Jane's), once only, the resident told.
    chat_id = waiting[0].id
    interaction_id = waiting[0].interaction_id
    with UnitOfWork(engine, env.clock) as uow:
        live.take(uow, env.app, chat_id, actor=_jane(), now=env.clock())
        uow.commit()
    omar = Actor(email="omar@example.org", name="Omar Ali", role="agent", team="repairs")
    with UnitOfWork(engine, env.clock) as uow, pytest.raises(ActionError, match="Jane Hill"):
        live.take(uow, env.app, chat_id, actor=omar, now=env.clock())
    assert env.bodies()[-1] == "Jane from the Repairs team has joined the chat."
    assert env.interaction(first).owner == "jane@example.org"
    with engine.connect() as conn:
        kinds = [
            r.kind
            for r in conn.execute(
                sa.select(t.events.c.kind).where(t.events.c.interaction_id == interaction_id)
            )
        ]
    assert "taken" in kinds

    # The officer writes; the resident reads it as she typed it; the hand-off clock is met.
    with UnitOfWork(engine, env.clock) as uow:
        assert live.say(
            uow, env.app, chat_id, "Hello, I'm Jane.", actor=_jane(), nonce="a", now=env.clock()
        )
        assert not live.say(
            uow, env.app, chat_id, "Hello, I'm Jane.", actor=_jane(), nonce="a", now=env.clock()
        )
        uow.commit()
    assert env.bodies()[-1] == "Hello, I'm Jane."
    assert env.sender.sent[-1].auto is False  # shown as staff in the widget
    with engine.connect() as conn:
        clocks = {
            r.policy: r.is_open
            for r in conn.execute(
                sa.select(t.clocks.c.policy, t.clocks.c.is_open).where(
                    t.clocks.c.interaction_id == interaction_id
                )
            )
        }
    assert clocks.get("handoff-3") is False

    # The assistant steps back while a person is in the chat.
    before = len(env.bodies())
    env.say(first, "Thanks Jane, it is the combi boiler")
    assert len(env.bodies()) == before

    # Omar cannot write in Jane's chat.
    with UnitOfWork(engine, env.clock) as uow, pytest.raises(ActionError):
        live.say(uow, env.app, chat_id, "Hi", actor=omar, nonce="b", now=env.clock())

    with UnitOfWork(engine, env.clock) as uow:
        live.end(uow, env.app, chat_id, actor=_jane(), now=env.clock())
        uow.commit()
    assert env.bodies()[-1].startswith("Jane has ended the chat.")
    assert env.chat_row(interaction_id).state == "ended"
    env.say(first, "One more thing")
    assert len(env.bodies()) > before  # the assistant answers again


def test_a_first_message_asking_for_a_person_is_acknowledged_and_queued_in_one(
    engine: sa.Engine,
) -> None:
    settings = _settings()
    env = Env(engine, settings, office_hours_clock(settings))
    env.available(env.staff("jane@example.org", "Jane Hill", "repairs"))
    session = env.open_chat()
    env.say(session, "Can I talk to a person about my boiler?")
    (body,) = env.bodies()  # one message: the acknowledgement and the place in the queue
    case = env.interaction(session)
    assert case.reference in body and "You are next in the queue." in body
    assert "I have asked" not in body
    assert env.chat_row(case.id).state == "waiting"
    assert env.tick() == 0  # queued in the turn; the worker has nothing to add
    assert len(env.bodies()) == 1


def test_emergencies_go_first_in_the_queue(engine: sa.Engine) -> None:
    settings = _settings()
    env = Env(engine, settings, office_hours_clock(settings))
    env.available(env.staff("jane@example.org", "Jane Hill", "repairs"))
    routine = _asks_for_a_person(env, "My kitchen tap is leaking")
    env.tick()
    env.clock.advance(seconds=30)
    emergency = _asks_for_a_person(env, "I can smell gas in my kitchen")
    env.tick()
    with engine.connect() as conn:
        order = [c.session_id for c in store.in_states(conn, ("waiting",))]
        urgencies = [c.urgency for c in store.in_states(conn, ("waiting",))]
    assert urgencies == ["emergency", "routine"]
    assert order == [emergency, routine]


def test_nobody_takes_it_in_time_the_resident_gets_the_phone_and_deadline(
    engine: sa.Engine,
) -> None:
    settings = _settings(queue_timeout_seconds=180)
    env = Env(engine, settings, office_hours_clock(settings))
    env.available(env.staff("jane@example.org", "Jane Hill", "repairs"))
    session = _asks_for_a_person(env)
    env.tick()
    env.clock.advance(seconds=120)
    env.tick()
    row = env.chat_row(env.interaction(session).id)
    assert row.state == "waiting"
    env.clock.advance(seconds=61)
    assert env.tick() == 1
    assert env.tick() == 0  # told once
    row = env.chat_row(env.interaction(session).id)
    assert row.state == "timed_out"
    told = env.bodies()[-1]
    assert told.startswith("Sorry, nobody from the Repairs team is free to chat just now.")
    assert settings.organisation.phone in told and "will reply in this chat" in told
    assert env.interaction(session).status == "open"  # still in the team's queue
    # A late Take is refused.
    with UnitOfWork(engine, env.clock) as uow, pytest.raises(ActionError, match="ended"):
        live.take(uow, env.app, row.id, actor=_jane(), now=env.clock())


def test_an_officer_whose_dashboard_goes_quiet_leaves_the_chat(engine: sa.Engine) -> None:
    settings = _settings()
    env = Env(engine, settings, office_hours_clock(settings))
    env.available(env.staff("jane@example.org", "Jane Hill", "repairs"))
    session = _asks_for_a_person(env)
    env.tick()
    chat_id = env.chat_row(env.interaction(session).id).id
    with UnitOfWork(engine, env.clock) as uow:
        live.take(uow, env.app, chat_id, actor=_jane(), now=env.clock())
        uow.commit()
    env.clock.advance(seconds=settings.live_chat.presence_ttl_seconds + 5)
    assert env.tick() == 1
    assert env.chat_row(env.interaction(session).id).state == "ended"
    assert env.bodies()[-1].startswith("Jane has had to leave the chat.")


def test_the_engine_can_ask_directly_and_the_worker_does_not_ask_twice(
    engine: sa.Engine,
) -> None:
    settings = _settings()
    env = Env(engine, settings, office_hours_clock(settings))
    env.available(env.staff("jane@example.org", "Jane Hill", "repairs"))
    session = _asks_for_a_person(env)
    interaction_id = env.interaction(session).id
    with UnitOfWork(engine, env.clock) as uow:
        decision = handoff.offer_person(
            uow, env.app, interaction_id, session_id=session, now=env.clock()
        )
        uow.commit()
    assert decision.route is live.Route.LIVE
    env.tick()
    with engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count())
            .select_from(live_chats)
            .where(live_chats.c.interaction_id == interaction_id)
        ).scalar_one()
    assert count == 1
    assert sum(b.startswith("You are next in the queue.") for b in env.bodies()) == 1


def test_live_chat_turned_off_means_phone(engine: sa.Engine) -> None:
    settings = _settings(enabled=False)
    env = Env(engine, settings, office_hours_clock(settings))
    env.available(env.staff("jane@example.org", "Jane Hill", "repairs"))
    session = _asks_for_a_person(env)
    interaction_id = env.interaction(session).id
    with UnitOfWork(engine, env.clock) as uow:
        decision = live.offer(
            uow, env.app, interaction_id, session_id=session, event_id=None, now=env.clock()
        )
    assert decision.route is live.Route.PHONE and "off" in decision.reason


# ---- the dashboard routes: need-to-know, CSRF, presence over HTTP ------------------------


def _client(env: Env, user_id: int) -> tuple[Any, str]:
    import warnings

    from bot.web.app import create_app
    from bot.web.dashboard import auth

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        from starlette.testclient import TestClient

    with env.engine.begin() as conn:
        token = auth.start_session(conn, user_id, hours=1, now=datetime.now(UTC))
    client = TestClient(create_app(env.app, run_workers=False))
    client.cookies.set("ds_staff", token)
    secret = env.app.settings.secret_key
    assert secret is not None
    return client, auth.sign(secret, "csrf", token)


def test_only_staff_who_may_see_the_case_see_the_chat(engine: sa.Engine) -> None:
    settings = _settings().model_copy(update={"secret_key": "live-test"})
    env = Env(engine, settings, office_hours_clock(settings))
    jane = env.staff("jane@example.org", "Jane Hill", "repairs")
    omar = env.staff("omar@example.org", "Omar Ali", "housing")
    jane_client, jane_csrf = _client(env, jane)
    omar_client, omar_csrf = _client(env, omar)
    with jane_client, omar_client:
        # Presence over HTTP: the form needs its CSRF token; the heartbeat answers JSON.
        refused = jane_client.post("/staff/presence", data={"status": "available", "csrf": "x"})
        assert refused.status_code == 403
        done = jane_client.post(
            "/staff/presence",
            data={"status": "available", "csrf": jane_csrf},
            follow_redirects=False,
        )
        assert done.status_code == 303
        beat = jane_client.post("/staff/presence/heartbeat", data={"csrf": jane_csrf, "idle": "3"})
        assert beat.json()["status"] == "available"
        idle = jane_client.post(
            "/staff/presence/heartbeat", data={"csrf": jane_csrf, "idle": "99999"}
        )
        assert idle.json()["status"] == "away"  # idle for longer than the window
        for hostile in ("nan", "-inf", "1e309", "-5"):
            odd = jane_client.post(
                "/staff/presence/heartbeat", data={"csrf": jane_csrf, "idle": hostile}
            )
            assert odd.status_code == 200, hostile
        jane_client.post("/staff/presence/heartbeat", data={"csrf": jane_csrf, "idle": "0"})

        session = _asks_for_a_person(env)
        env.tick()
        reference = env.interaction(session).reference
        chat_id = env.chat_row(env.interaction(session).id).id

        beat = jane_client.post("/staff/presence/heartbeat", data={"csrf": jane_csrf})
        assert beat.json()["waiting"] == 1
        beat = omar_client.post("/staff/presence/heartbeat", data={"csrf": omar_csrf})
        assert beat.json()["waiting"] == 0  # another team's chat is not even counted
        page = jane_client.get("/staff/chats")
        assert page.status_code == 200 and f"Take chat {reference}" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "<script>" not in page.text  # no inline script
        script = jane_client.get("/staff/live-chat.js")
        assert script.headers["content-type"].startswith("text/javascript")

        # Omar is in another team: the chat is not listed, not opened, not streamed, not taken.
        assert reference not in omar_client.get("/staff/chats").text
        assert omar_client.get(f"/staff/chats/{chat_id}").status_code == 403
        assert omar_client.get(f"/staff/chats/{chat_id}/stream").status_code == 403
        taken = omar_client.post(f"/staff/chats/{chat_id}/take", data={"csrf": omar_csrf})
        assert taken.status_code == 403
        assert env.chat_row(env.interaction(session).id).state == "waiting"

        took = jane_client.post(
            f"/staff/chats/{chat_id}/take", data={"csrf": jane_csrf}, follow_redirects=False
        )
        assert took.status_code == 303 and took.headers["location"] == f"/staff/chats/{chat_id}"
        said = jane_client.post(
            f"/staff/chats/{chat_id}/say",
            data={"csrf": jane_csrf, "text": "Hello from Jane", "nonce": "n1"},
            headers={"Accept": "application/json"},
        )
        assert said.json()["ok"] is True
        empty = jane_client.post(
            f"/staff/chats/{chat_id}/say",
            data={"csrf": jane_csrf, "text": "   ", "nonce": "n2"},
            headers={"Accept": "application/json"},
        )
        assert empty.status_code == 409 and "Write a message" in empty.json()["message"]
        view = jane_client.get(f"/staff/chats/{chat_id}")
        assert "My boiler is broken" in view.text and 'id="chat-say"' in view.text
    assert "Hello from Jane" in env.bodies()
    with engine.connect() as conn:
        actions = {
            r.action for r in conn.execute(sa.select(t.metadata.tables["staff_audit"].c.action))
        }
    assert {"presence_available", "live_chat_taken", "live_chat_message", "view_refused"} <= actions


def test_two_instances_share_presence_and_queue_each_request_once(engine: sa.Engine) -> None:
    """Two apps on one database, as two instances behind a load balancer: presence set on
    one is what the other decides by, and both workers looking at one request queue it
    once and tell the resident once."""
    settings = _settings()
    clock = office_hours_clock(settings)
    first, second = Env(engine, settings, clock), Env(engine, settings, clock)
    jane = first.staff("jane@example.org", "Jane Hill", "repairs")
    first.available(jane)  # the dashboard heartbeat reached the first instance
    # Rasa's own hand-off (its custom action): no engine offered the live queue, so the
    # workers, the safety net, answer the request.
    session = _asked_through_rasa(first)
    assert second.tick() == 1  # the second instance's worker saw Jane and queued it
    assert first.tick() == 0
    with engine.connect() as conn:
        rows = conn.execute(sa.select(live_chats.c.state)).scalars().all()
    assert rows == ["waiting"]
    told = first.bodies() + second.bodies()
    assert sum(b.startswith("You are next in the queue.") for b in told) == 1
    assert first.interaction(session).status == "open"


def test_a_chat_passed_to_another_team_ends_and_the_transfer_notice_says_who(
    engine: sa.Engine,
) -> None:
    settings = _settings()
    env = Env(engine, settings, office_hours_clock(settings))
    env.available(env.staff("jane@example.org", "Jane Hill", "repairs"))
    session = _asks_for_a_person(env)
    env.tick()
    interaction_id = env.interaction(session).id
    chat_id = env.chat_row(interaction_id).id
    with UnitOfWork(engine, env.clock) as uow:
        live.take(uow, env.app, chat_id, actor=_jane(), now=env.clock())
        uow.commit()
    with UnitOfWork(engine, env.clock) as uow:
        handoff.transfer(
            uow,
            env.app,
            interaction_id,
            team="housing",
            owner=None,
            note="tenancy question",
            actor=_jane(),
            now=env.clock(),
        )
        uow.commit()
    env.tick()
    assert env.chat_row(interaction_id).state == "ended"
    last = env.bodies()[-1]
    assert "Housing team" in last and "Jane has" not in last  # one notice: the transfer's
    before = len(env.bodies())
    env.say(session, "Thanks")
    assert len(env.bodies()) == before + 1  # the assistant answers again


def test_a_case_closed_while_its_chat_waits_leaves_the_queue_quietly(engine: sa.Engine) -> None:
    from actions.replies import close_case

    settings = _settings()
    env = Env(engine, settings, office_hours_clock(settings))
    env.available(env.staff("jane@example.org", "Jane Hill", "repairs"))
    session = _asks_for_a_person(env)
    env.tick()
    interaction_id = env.interaction(session).id
    before = len(env.bodies())
    with UnitOfWork(engine, env.clock) as uow:
        close_case(
            uow,
            env.app,
            interaction_id,
            outcome="withdrawn",
            note="",
            tell_resident=False,
            actor=_jane(),
            now=env.clock(),
        )
        uow.commit()
    env.tick()
    assert env.chat_row(interaction_id).state == "ended"
    assert len(env.bodies()) == before  # the close form chose not to tell the resident
    with engine.connect() as conn:
        assert store.in_states(conn, store.ACTIVE_STATES) == []
