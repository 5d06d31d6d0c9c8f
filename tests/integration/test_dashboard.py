"""The staff dashboard over HTTP (httpx in-process, ASGITransport) on real SQLite and PostgreSQL:
sign-in, CSRF, roles, the queue in deadline order with its states, replies on the
resident's channel (SAME-CHANNEL), transfers (HANDOFF), both complaint stages (COMPLAINT),
out-of-office (OOO) and the live-update stream. Time is a FakeClock."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pyotp
import pytest
import sqlalchemy as sa

from actions.officers import effective_officers
from actions.wording import deadline_in_words
from bot.bootstrap import App
from bot.domain.model import Channel
from bot.settings import Officer, Settings, Team
from bot.storage import tables as t
from bot.storage.tables_staff import complaint_handlers, staff_users
from bot.web.app import create_app
from bot.web.dashboard.auth import hash_password
from channels.base import CollectingSender
from tests.fakes import FakeClock
from tests.integration.helpers import deliver, make_app

pytestmark = pytest.mark.integration

MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
PASSWORD = "a long enough password"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def dashboard_settings() -> Settings:
    return Settings(
        teams=[
            Team(id="customer-services", name="Customer Services team"),
            Team(id="repairs", name="Repairs team", email="repairs@landlord.example"),
            Team(id="asb", name="Community Safety team", email="asb@landlord.example"),
            Team(id="complaints", name="Complaints team", email="complaints@landlord.example"),
        ],
        routing={"repair": "repairs", "asb": "asb", "complaint": "complaints"},
        officers=[Officer(name="Olu Officer", email="olu@landlord.example", team="repairs")],
        secret_key="test-secret-key",
    )


@dataclass
class Env:
    app: App
    clock: FakeClock
    client: httpx.AsyncClient
    engine: sa.Engine
    totp_secrets: dict[str, str] = field(default_factory=dict)

    async def html(self, path: str) -> str:
        return (await self.client.get(path)).text

    async def status(self, path: str) -> int:
        return (await self.client.get(path)).status_code

    async def login(self, email: str, password: str = PASSWORD) -> Any:
        """Sign in; for an account with two-step sign-in (admins must have it), enrol on the
        first sign-in and give the app's code after that, as a person would."""
        self.client.cookies.clear()
        form = await self.client.get("/staff/login")
        token = CSRF_RE.search(form.text)
        assert token is not None
        done = await self.client.post(
            "/staff/login",
            data={"email": email, "password": password, "csrf": token.group(1)},
            follow_redirects=False,
        )
        location = done.headers.get("location", "")
        if location.startswith("/staff/login/enrol"):
            page = (await self.client.get(location)).text
            fields = dict(re.findall(r'name="(csrf|secret|secret_sig|next)" value="([^"]*)"', page))
            self.totp_secrets[email.lower()] = fields["secret"]
            code = pyotp.TOTP(fields["secret"]).now()
            return await self.client.post(
                "/staff/login/enrol", data={**fields, "code": code}, follow_redirects=False
            )
        if location.startswith("/staff/login/code"):
            page = (await self.client.get(location)).text
            fields = dict(re.findall(r'name="(csrf|next)" value="([^"]*)"', page))
            with self.engine.begin() as conn:  # a code works once: let tests sign in again
                conn.execute(
                    staff_users.update()
                    .where(staff_users.c.email == email.lower())
                    .values(totp_last_step=None)
                )
            code = pyotp.TOTP(self.totp_secrets[email.lower()]).now()
            return await self.client.post(
                "/staff/login/code", data={**fields, "code": code}, follow_redirects=False
            )
        return done

    async def csrf(self, path: str = "/staff/") -> str:
        found = CSRF_RE.search(await self.html(path))
        assert found is not None
        return found.group(1)

    async def post(self, path: str, **data: str) -> Any:
        data.setdefault("csrf", await self.csrf())  # one token per session, on every page
        return await self.client.post(path, data=data, follow_redirects=True)

    def receive(self, key: str, **fields: Any) -> int:
        deliver(self.app, key, **fields)
        outcomes = self.app.pipeline.process_pending()
        assert outcomes and outcomes[-1].interaction_id is not None, outcomes
        return outcomes[-1].interaction_id

    async def deliver_outbox(self) -> None:
        await self.app.outbox.run_once(limit=100)

    def sent(self, channel: Channel) -> list[Any]:
        sender = self.app.senders.get(channel)
        assert isinstance(sender, CollectingSender)
        return sender.sent

    def outbox(self, interaction_id: int | None = None, kind: str | None = None) -> list[Any]:
        c = t.outbox.c
        query = sa.select(t.outbox).order_by(c.id)
        if interaction_id is not None:
            query = query.where(c.interaction_id == interaction_id)
        if kind is not None:
            query = query.where(c.kind == kind)
        with self.engine.connect() as conn:
            return list(conn.execute(query).all())

    def clocks(self, interaction_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.clocks).where(t.clocks.c.interaction_id == interaction_id)
            ).all()
        return {r.policy: r for r in rows}

    def interaction(self, interaction_id: int) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(t.interactions).where(t.interactions.c.id == interaction_id)
            ).one()


USERS = [
    ("admin@landlord.example", "Ada Admin", "admin", None),
    ("rita@landlord.example", "Rita Repairs", "agent", "repairs"),
    ("sam@landlord.example", "Sam Safety", "agent", "asb"),
    ("lee@landlord.example", "Lee Lead", "team_lead", "repairs"),
    ("chris@landlord.example", "Chris Complaints", "complaints_handler", "complaints"),
    ("dana@landlord.example", "Dana Director", "complaints_handler", "complaints"),
]


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


@contextlib.asynccontextmanager
async def open_env(engine: sa.Engine, settings: Settings | None = None) -> AsyncIterator[Env]:
    """The app with USERS signed up, on `engine`; other dashboard test modules use it too."""
    clock = FakeClock(MONDAY)
    # No channel turn handlers: these tests are about the dashboard, not the chat or SMS bots.
    app, _ = make_app(engine, clock, settings or dashboard_settings(), turn_handlers={})
    with engine.begin() as conn:
        # One argon2 hash for every account keeps set-up quick; sign-in still verifies it.
        conn.execute(
            staff_users.insert(),
            [
                {
                    "email": email,
                    "name": name,
                    "role": role,
                    "team": team,
                    "password_hash": _password_hash(),
                    "active": True,
                    "created_at": MONDAY,
                }
                for email, name, role, team in USERS
            ],
        )
    api = create_app(app, run_workers=False)
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Env(app, clock, client, engine)


@pytest.fixture
async def env(engine: sa.Engine) -> AsyncIterator[Env]:
    async with open_env(engine) as opened:
        yield opened


def references_in(html: str) -> list[str]:
    return re.findall(r'data-reference="([^"]+)"', html)


# ---- sign-in, CSRF, roles ----------------------------------------------------------------


async def test_sign_in_and_out(env: Env) -> None:
    assert await env.status("/staff/") == 303
    wrong = await env.login("rita@landlord.example", "not the password")
    assert wrong.status_code == 401
    assert "not right" in wrong.text
    ok = await env.login("RITA@landlord.example")
    assert ok.status_code == 303 and ok.headers["location"] == "/staff/"
    assert "ds_staff" in ok.headers["set-cookie"] and "HttpOnly" in ok.headers["set-cookie"]
    page = await env.client.get("/staff/")
    assert "Rita Repairs" in page.text and "Queue: My team" in page.text
    await env.post("/staff/logout")
    assert await env.status("/staff/") == 303


async def test_login_form_needs_its_csrf_token(env: Env) -> None:
    env.client.cookies.clear()
    refused = await env.client.post(
        "/staff/login",
        data={"email": "rita@landlord.example", "password": PASSWORD, "csrf": "forged"},
        follow_redirects=False,
    )
    assert refused.status_code == 403


async def test_post_without_the_csrf_token_is_refused(env: Env) -> None:
    interaction = env.receive("leak", body="There is a leak under my sink")
    await env.login("rita@landlord.example")
    before = len(env.outbox(interaction))
    refused = await env.client.post(
        f"/staff/interactions/{interaction}/reply",
        data={"text": "Hello", "csrf": "forged"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    missing = await env.client.post(
        f"/staff/interactions/{interaction}/reply", data={"text": "Hello"}, follow_redirects=False
    )
    assert missing.status_code == 422
    assert len(env.outbox(interaction)) == before


async def test_roles_decide_what_each_person_sees(env: Env) -> None:
    repair = env.receive("r1", body="My boiler is broken")
    noise = env.receive("a1", body="The neighbour noise is awful", **{"from": "b@example.net"})
    complaint = env.receive("c1", body="I want to complain", **{"from": "c@example.net"})
    refs = {i: env.interaction(i).reference for i in (repair, noise, complaint)}

    await env.login("rita@landlord.example")  # agent, repairs
    assert references_in(await env.html("/staff/")) == [refs[repair]]
    assert await env.status(f"/staff/interactions/{noise}") == 403
    assert await env.status("/staff/users") == 403

    await env.login("lee@landlord.example")  # team lead: everything unowned
    assert set(references_in(await env.html("/staff/"))) == set(refs.values())

    await env.login("chris@landlord.example")  # complaints handler: complaints
    assert references_in(await env.html("/staff/")) == [refs[complaint]]
    assert await env.status(f"/staff/interactions/{complaint}") == 200
    assert await env.status(f"/staff/interactions/{repair}") == 403

    await env.login("admin@landlord.example")
    assert set(references_in(await env.html("/staff/?view=all"))) == set(refs.values())
    assert await env.status("/staff/users") == 200


# ---- the queue ---------------------------------------------------------------------------


def _set_deadline(env: Env, interaction_id: int, due: datetime, warn: datetime) -> None:
    with env.engine.begin() as conn:
        conn.execute(
            t.clocks.update()
            .where(t.clocks.c.interaction_id == interaction_id, t.clocks.c.is_open.is_(True))
            .values(due_at=due, warn_at=warn)
        )


async def test_queue_is_sorted_by_deadline_with_due_due_soon_and_breached(env: Env) -> None:
    later = env.receive("q1", body="broken window", **{"from": "one@example.net"})
    breached = env.receive("q2", body="broken door", **{"from": "two@example.net"})
    soon = env.receive("q3", body="broken tap", **{"from": "three@example.net"})
    now = env.clock()
    _set_deadline(env, later, now + timedelta(days=3), now + timedelta(days=2))
    _set_deadline(env, breached, now - timedelta(hours=1), now - timedelta(hours=5))
    # "Due soon" is the last 20 % of each promise: the earliest clock here is the 15-minute
    # email acknowledgement (not sent: no outbox worker), due soon for its last 3 minutes.
    _set_deadline(env, soon, now + timedelta(minutes=2), now - timedelta(hours=1))

    await env.login("rita@landlord.example")
    html = await env.html("/staff/")
    order = [env.interaction(i).reference for i in (breached, soon, later)]
    assert references_in(html) == order
    rows = html.split('data-reference="')[1:]
    assert "badge-breached" in rows[0] and ">Breached<" in rows[0]
    assert "badge-due_soon" in rows[1] and ">Due soon<" in rows[1]
    assert 'badge-due"' in rows[2] and ">Due<" in rows[2]
    assert "<strong>1</strong> breached" in html and "<strong>1</strong> due soon" in html


async def test_queue_pages_by_deadline(env: Env) -> None:
    env.app.settings.dashboard.page_size = 2
    made = [
        env.receive(f"p{n}", body="broken fence", **{"from": f"p{n}@example.net"}) for n in range(5)
    ]
    now = env.clock()
    for n, interaction in enumerate(made):
        _set_deadline(env, interaction, now + timedelta(hours=10 - n), now + timedelta(hours=5))
    await env.login("rita@landlord.example")
    seen: list[str] = []
    url = "/staff/"
    while url:
        html = await env.html(url)
        seen.extend(references_in(html))
        found = re.search(r'href="([^"]+)" rel="next"', html)
        url = found.group(1).replace("&amp;", "&") if found else ""
    assert seen == [env.interaction(i).reference for i in reversed(made)]


# ---- replies, pause, close ---------------------------------------------------------------


async def test_reply_goes_out_on_the_channel_the_resident_used(env: Env) -> None:
    interaction = env.receive(
        "sms1", channel="sms", body="My boiler is broken", **{"from": "+447700900123"}
    )
    await env.deliver_outbox()
    await env.login("rita@landlord.example")
    page = await env.client.get(f"/staff/interactions/{interaction}")
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert nonce is not None
    for _ in range(2):  # a double-submitted form sends once
        done = await env.post(
            f"/staff/interactions/{interaction}/reply",
            text="A plumber will call you tomorrow morning.",
            nonce=nonce.group(1),
        )
        assert done.status_code == 200
    replies = env.outbox(interaction, kind="reply")
    assert len(replies) == 1
    row = replies[0]
    assert (row.channel, row.recipient, row.auto) == ("sms", "+447700900123", False)
    clocks = env.clocks(interaction)
    assert clocks["handoff-3"].is_open is False  # the reply kept the HANDOFF promise
    assert clocks["respond-10"].is_open is True  # the full answer is still owed
    await env.deliver_outbox()
    texts = [m.body for m in env.sent(Channel.SMS) if m.kind == "reply"]
    assert len(texts) == 1
    assert "A plumber will call you tomorrow morning." in texts[0]
    assert env.interaction(interaction).reference in texts[0] and "Rita" in texts[0]
    assert not [m for m in env.sent(Channel.EMAIL) if m.kind == "reply"]


async def test_a_staff_text_follows_the_sms_rules(env: Env) -> None:
    """Outbound policy in one place: a staff reply by text is GSM-7 normalised and its
    segments counted, like every other text (it used to skip them)."""
    interaction = env.receive(
        "sms-rules", channel="sms", body="My boiler is broken", **{"from": "+447700900124"}
    )
    await env.login("rita@landlord.example")
    page = await env.client.get(f"/staff/interactions/{interaction}")
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert nonce is not None
    await env.post(
        f"/staff/interactions/{interaction}/reply",
        text="We’ll call you “tomorrow” – thanks",
        nonce=nonce.group(1),
    )
    (row,) = env.outbox(interaction, kind="reply")
    assert 'We\'ll call you "tomorrow" - thanks' in row.body
    assert row.meta["encoding"] == "GSM-7" and int(row.meta["segments"]) >= 1


async def test_pause_resume_and_close_with_an_outcome(env: Env) -> None:
    interaction = env.receive("pc", body="my boiler is broken")
    await env.login("rita@landlord.example")
    await env.post(f"/staff/interactions/{interaction}/pause")
    assert all(c.paused_at is not None for c in env.clocks(interaction).values() if c.is_open)
    assert "badge-paused" in await env.html("/staff/")
    env.clock.advance(hours=3)
    await env.post(f"/staff/interactions/{interaction}/resume")
    assert all(c.paused_at is None for c in env.clocks(interaction).values())

    refused = await env.post(f"/staff/interactions/{interaction}/close", outcome="")
    assert "Choose an outcome" in refused.text
    await env.post(
        f"/staff/interactions/{interaction}/close",
        outcome="repair_booked",
        note="Plumber on Tuesday.",
        tell="1",
    )
    row = env.interaction(interaction)
    assert row.status == "closed" and row.outcome == "Repair booked: Plumber on Tuesday."
    assert not [c for c in env.clocks(interaction).values() if c.is_open]
    told = env.outbox(interaction, kind="closed")
    assert len(told) == 1 and "Repair booked" in told[0].body
    assert told[0].channel == "email" and told[0].recipient == "resident@example.net"
    assert env.interaction(interaction).reference not in references_in(await env.html("/staff/"))


async def test_closing_as_repair_booked_leaves_the_awaab_clock_not_met(env: Env) -> None:
    """Honest settlement: booking a repair is not making a hazard safe."""
    interaction = env.receive("aw", body="I can smell gas in the kitchen")
    assert env.clocks(interaction)["awaab-emergency"].is_open
    await env.login("rita@landlord.example")
    page = await env.html(f"/staff/interactions/{interaction}")
    assert 'name="settle-awaab-emergency"' in page  # the form asks about each open promise
    await env.post(
        f"/staff/interactions/{interaction}/close", outcome="repair_booked", note="", tell="1"
    )
    clocks = env.clocks(interaction)
    assert clocks["awaab-emergency"].outcome == "not_met"
    assert "Repair booked" in clocks["awaab-emergency"].outcome_reason
    assert clocks["respond-10"].outcome == "met"  # told: a booked repair is the answer
    page = await env.html(f"/staff/interactions/{interaction}")
    assert "not met" in page


async def test_staff_record_what_happened_to_each_promise(env: Env) -> None:
    interaction = env.receive("aw2", body="I can smell gas in the kitchen")
    await env.login("rita@landlord.example")
    await env.post(
        f"/staff/interactions/{interaction}/close",
        outcome="resolved",
        note="Engineer made it safe.",
        tell="",
        **{"settle-awaab-emergency": "met", "settle-respond-10": "withdrawn"},
    )
    clocks = env.clocks(interaction)
    assert clocks["awaab-emergency"].outcome == "met"
    assert "rita@landlord.example" in clocks["awaab-emergency"].outcome_reason
    assert clocks["respond-10"].outcome == "withdrawn"


async def test_a_complaint_closed_before_acknowledgement_is_not_met(env: Env) -> None:
    interaction = env.receive("cc", body="I want to complain", **{"from": "c@example.net"})
    assert env.clocks(interaction)["complaint-stage1-ack"].is_open
    await env.login("chris@landlord.example")
    await env.post(f"/staff/interactions/{interaction}/close", outcome="resolved", tell="1")
    assert env.interaction(interaction).status == "closed"
    assert env.clocks(interaction)["complaint-stage1-ack"].outcome == "not_met"


async def test_a_message_on_a_closed_case_reopens_it_in_the_owners_queue(env: Env) -> None:
    interaction = env.receive("ro1", body="my boiler is broken")
    reference = env.interaction(interaction).reference
    await env.login("rita@landlord.example")
    await env.post(f"/staff/interactions/{interaction}/take")
    await env.post(f"/staff/interactions/{interaction}/close", outcome="repair_booked", tell="1")
    assert env.interaction(interaction).status == "closed"
    env.clock.advance(days=2)
    joined = env.receive(
        "ro2", subject=f"Re: Your message [{reference}]", body="Thanks. What time tomorrow?"
    )
    assert joined == interaction
    row = env.interaction(interaction)
    assert row.status == "open" and row.owner == "rita@landlord.example"
    running = [c for c in env.clocks(interaction).values() if c.is_open]
    assert [c.policy for c in running] == ["email-3"]  # a response clock, from now
    notice = env.outbox(interaction, kind="reopened")
    assert len(notice) == 1
    assert "opened it again" in notice[0].body and "Rita Repairs" in notice[0].body
    assert reference in notice[0].body and "will read your message and reply" in notice[0].body
    assert reference in references_in(await env.html("/staff/"))  # back in the queue


async def test_a_message_long_after_closing_opens_a_new_linked_case(env: Env) -> None:
    interaction = env.receive("rl1", body="my boiler is broken")
    reference = env.interaction(interaction).reference
    await env.login("rita@landlord.example")
    await env.post(f"/staff/interactions/{interaction}/close", outcome="resolved", tell="")
    env.clock.advance(days=29)
    later = env.receive(
        "rl2",
        subject=f"Re: [{reference}]",
        body="The boiler is broken again",
        at=env.clock.current.isoformat(),
    )
    assert later != interaction
    assert env.interaction(interaction).status == "closed"
    assert env.interaction(later).status == "open"
    with env.engine.connect() as conn:
        kinds = {
            (r.interaction_id, r.kind): r.detail for r in conn.execute(sa.select(t.events)).all()
        }
    assert kinds[(interaction, "followed_up")]["new_interaction_id"] == later
    assert kinds[(later, "follows")]["reference"] == reference
    assert env.outbox(later, kind="acknowledgement")  # a new enquiry, acknowledged as one


async def test_resident_history_across_channels(env: Env) -> None:
    by_email = env.receive("h1", body="broken gate", **{"from": "jo@example.net"})
    with env.engine.begin() as conn:
        # The resident's phone is on their record (a landlord import, or a past call).
        contact = env.interaction(by_email).contact_id
        conn.execute(
            t.contact_identities.insert().values(
                contact_id=contact, kind="phone", value="+447700900555"
            )
        )
    by_text = env.receive(
        "h2", channel="sms", body="the gate is still broken", **{"from": "+447700900555"}
    )
    await env.login("rita@landlord.example")
    page = await env.html(f"/staff/interactions/{by_text}")
    history = page.split("history, every channel")[1]
    assert env.interaction(by_email).reference in history
    assert env.interaction(by_text).reference in history
    assert '<td data-label="Channel">Email</td>' in history  # channels by name
    assert '<td data-label="Channel">SMS</td>' in history


# ---- hand-offs -------------------------------------------------------------------------


async def test_transfer_tells_the_resident_the_new_owner_and_deadline(env: Env) -> None:
    interaction = env.receive(
        "t1", channel="webchat", body="My boiler is broken", **{"from": "chat-session-1"}
    )
    await env.login("lee@landlord.example")
    env.clock.advance(hours=1)
    now = env.clock()
    done = await env.post(
        f"/staff/interactions/{interaction}/transfer",
        team="asb",
        owner="sam@landlord.example",
        note="Sounds like a neighbour dispute.",
    )
    assert "Passed to Sam Safety" in done.text
    row = env.interaction(interaction)
    assert (row.team, row.owner) == ("asb", "sam@landlord.example")
    handoffs = [
        c
        for c in _all_clocks(env, interaction)
        if c.policy == "handoff-3" and c.started_at == now and c.is_open
    ]
    assert len(handoffs) == 1  # the new owner's clock, from now
    notices = env.outbox(interaction, kind="handoff")
    assert len(notices) == 1
    notice = notices[0]
    assert (notice.channel, notice.recipient) == ("webchat", "chat-session-1")
    assert "Sam Safety" in notice.body
    assert deadline_in_words(handoffs[0].due_at, now=now) in notice.body
    # Sam (asb agent) now sees it; Rita (repairs) no longer does.
    await env.login("sam@landlord.example")
    assert row.reference in references_in(await env.html("/staff/?view=mine"))
    await env.login("rita@landlord.example")
    assert row.reference not in references_in(await env.html("/staff/"))


async def test_transfer_needs_a_known_owner(env: Env) -> None:
    interaction = env.receive("t2", body="My boiler is broken")
    await env.login("lee@landlord.example")
    refused = await env.post(
        f"/staff/interactions/{interaction}/transfer", team="asb", owner="nobody@example.org"
    )
    assert "not a member of staff" in refused.text
    assert env.interaction(interaction).team == "repairs"
    assert env.outbox(interaction, kind="handoff") == []


def _all_clocks(env: Env, interaction_id: int) -> list[Any]:
    with env.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(t.clocks)
                .where(t.clocks.c.interaction_id == interaction_id)
                .order_by(t.clocks.c.id)
            ).all()
        )


# ---- complaints ------------------------------------------------------------------------


async def test_complaint_through_both_stages(env: Env) -> None:
    interaction = env.receive("cp", body="I want to complain about the repair")
    reference = env.interaction(interaction).reference
    await env.deliver_outbox()
    assert [m for m in env.sent(Channel.EMAIL) if m.kind == "procedure"]
    assert env.clocks(interaction)["complaint-stage1-ack"].is_open

    await env.login("chris@landlord.example")
    assert reference in references_in(await env.html("/staff/"))
    env.clock.advance(days=1)
    ack = await env.post(
        f"/staff/interactions/{interaction}/complaint/acknowledge",
        handler="chris@landlord.example",
        summary="The repair to your kitchen was not finished.",
    )
    assert "Acknowledged" in ack.text
    clocks = env.clocks(interaction)
    assert not clocks["complaint-stage1-ack"].is_open
    response = clocks["complaint-stage1-response"]
    assert response.is_open and response.started_at == env.clock()
    acks = env.outbox(interaction, kind="complaint_ack")
    assert len(acks) == 1 and "kitchen was not finished" in acks[0].body

    # Extension: a reason is required, and the limit is enforced.
    path = f"/staff/interactions/{interaction}/complaint/extend"
    no_reason = await env.post(path, days="5", reason="  ")
    assert "Give the reason" in no_reason.text
    too_long = await env.post(path, days="11", reason="Waiting for a surveyor.")
    assert "at most 10 working days" in too_long.text
    assert env.clocks(interaction)["complaint-stage1-response"].extended_days == 0
    extended = await env.post(path, days="5", reason="We are waiting for a surveyor's report.")
    assert "Extended" in extended.text
    clock = env.clocks(interaction)["complaint-stage1-response"]
    assert clock.extended_days == 5 and clock.due_at > response.due_at
    told = env.outbox(interaction, kind="complaint_extension")
    assert len(told) == 1
    assert "surveyor's report" in told[0].body
    assert "housing-ombudsman.org.uk" in told[0].body and "0300 111 3000" in told[0].body
    assert deadline_in_words(clock.due_at, now=env.clock()) in told[0].body
    over = await env.post(path, days="6", reason="Still waiting.")
    assert "5 left" in over.text

    notified = {r.recipient for r in env.outbox() if r.kind == "staff_notification"}
    assert {"complaints@landlord.example", "chris@landlord.example"} <= notified

    # Stage 2 must go to a different handler.
    escalate = f"/staff/interactions/{interaction}/complaint/escalate"
    same = await env.post(escalate, handler="chris@landlord.example", reason="Still unhappy.")
    assert "different handler" in same.text
    assert env.interaction(interaction).complaint_stage in (None, 1)
    env.clock.advance(days=2)
    moved = await env.post(escalate, handler="dana@landlord.example", reason="Still unhappy.")
    assert "Escalated to stage 2" in moved.text
    row = env.interaction(interaction)
    assert (row.complaint_stage, row.owner) == (2, "dana@landlord.example")
    clocks = env.clocks(interaction)
    assert not clocks["complaint-stage1-response"].is_open
    assert clocks["complaint-stage2-ack"].is_open
    assert clocks["complaint-stage2-ack"].started_at == env.clock()
    escalated = env.outbox(interaction, kind="complaint_escalated")
    assert len(escalated) == 1 and "Dana Director" in escalated[0].body
    notified = {r.recipient for r in env.outbox() if r.kind == "staff_notification"}
    assert "dana@landlord.example" in notified

    await env.login("dana@landlord.example")
    await env.post(
        f"/staff/interactions/{interaction}/complaint/acknowledge",
        handler="dana@landlord.example",
        summary="The kitchen repair is still not finished.",
    )
    assert env.clocks(interaction)["complaint-stage2-response"].is_open
    await env.post(
        f"/staff/interactions/{interaction}/complaint/respond",
        text="We will redo the kitchen repair and pay you £50.",
    )
    assert not env.clocks(interaction)["complaint-stage2-response"].is_open
    final = env.outbox(interaction, kind="complaint_response")
    assert len(final) == 1 and "final answer" in final[0].body
    with env.engine.connect() as conn:
        stages = conn.execute(
            sa.select(complaint_handlers.c.stage, complaint_handlers.c.handler)
            .where(complaint_handlers.c.interaction_id == interaction)
            .order_by(complaint_handlers.c.stage)
        ).all()
    assert [tuple(s) for s in stages] == [
        (1, "chris@landlord.example"),
        (2, "dana@landlord.example"),
    ]


async def test_staff_can_mark_a_message_as_a_complaint(env: Env) -> None:
    interaction = env.receive("mk", body="My boiler is broken again and nobody came")
    await env.login("rita@landlord.example")
    await env.post(f"/staff/interactions/{interaction}/complaint/mark")
    row = env.interaction(interaction)
    assert (row.topic, row.complaint_stage, row.team) == ("complaint", 1, "complaints")
    assert env.clocks(interaction)["complaint-stage1-ack"].is_open
    procedure = env.outbox(interaction, kind="procedure")
    assert len(procedure) == 1 and procedure[0].channel == "email"
    await env.deliver_outbox()
    assert not env.clocks(interaction)["complaint-procedure-1"].is_open
    # Agents cannot run the complaint workflow itself.
    refused = await env.client.post(
        f"/staff/interactions/{interaction}/complaint/acknowledge",
        data={"csrf": "x", "handler": "rita@landlord.example"},
    )
    assert refused.status_code == 403


# ---- out of office, live updates ---------------------------------------------------------


async def test_admin_edits_an_officers_out_of_office(env: Env) -> None:
    await env.login("rita@landlord.example")
    assert await env.status("/staff/officers") == 403
    await env.login("admin@landlord.example")
    page = await env.client.get("/staff/officers")
    assert "Olu Officer" in page.text
    back = date(2026, 12, 21)
    done = await env.post(
        "/staff/officers/leave",
        email="olu@landlord.example",
        until=back.isoformat(),
        cover="repairs",
    )
    assert "away until 21 December 2026" in done.text
    with env.engine.connect() as conn:
        (olu,) = effective_officers(conn)
    assert (olu.on_leave_until, olu.cover) == (back, "repairs")
    past = await env.post("/staff/officers/leave", email="olu@landlord.example", until="2026-01-01")
    assert "must be after today" in past.text
    await env.post("/staff/officers/leave", email="olu@landlord.example", clear="1")
    with env.engine.connect() as conn:
        assert effective_officers(conn)[0].on_leave_until is None


async def test_live_stream_sends_a_change_event(env: Env) -> None:
    env.receive("lv", body="broken light")
    await env.login("rita@landlord.example")
    async with env.client.stream("GET", "/staff/live?after=0&max_events=1") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join([part async for part in response.aiter_text()])
    assert "event: hello" in body
    assert "event: change" in body and '"kind": "created"' in body


async def test_admin_adds_a_user_in_the_dashboard(env: Env) -> None:
    await env.login("admin@landlord.example")
    short = await env.post(
        "/staff/users",
        email="new@landlord.example",
        name="New",
        role="agent",
        team="asb",
        password="short",
    )
    assert "at least 10 characters" in short.text
    await env.post(
        "/staff/users",
        email="new@landlord.example",
        name="Nia New",
        role="agent",
        team="asb",
        password=PASSWORD,
    )
    assert (await env.login("new@landlord.example")).status_code == 303


async def test_a_mailbox_that_cannot_be_read_is_shown_to_staff(env: Env) -> None:
    from channels.email.health import MailboxHealth

    health = MailboxHealth()
    env.app.extras["mailbox_health"] = health
    health.register("repairs", intake="imap", auth="oauth2")
    health.set("repairs", "connected")
    await env.login("rita@landlord.example")
    assert "is not being read" not in await env.html("/staff/")
    health.set("repairs", "token_refused", "invalid_client: AADSTS7000215")
    html = await env.html("/staff/")
    assert "Mailbox repairs is not being read (token refused)" in html
    assert "AADSTS7000215" in html and "Tell your IT team" in html
