"""The queue read at a glance (issue 18) on real SQLite and PostgreSQL: messages on every
channel go through the real pipeline; `queue_page` gives their first words, the classifier's
flags, names instead of ids, working days left, emergencies in their own section, a due-soon
count that agrees with the rows, the viewer's need-to-know scope unchanged, and the same
number of queries for a page of 4 rows as for a page of 40."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bot.bootstrap import App, bootstrap
from bot.domain.model import Channel
from bot.settings import Settings, Team
from bot.storage import tables as t
from bot.web.dashboard import queries
from bot.web.dashboard.auth import StaffUser
from channels.base import CollectingSender
from tests.fakes import FakeClock
from tests.integration.helpers import deliver, json_decoder
from tests.support.rules_classifier import RulesClassifier

pytestmark = pytest.mark.integration

TUESDAY = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)  # 10:00 London, an open working day
TEAMS = [
    Team(id="customer-services", name="Customer Services team"),
    Team(id="repairs", name="Repairs team"),
    Team(id="asb", name="Community Safety team"),
    Team(id="complaints", name="Complaints team"),
]
RITA = StaffUser(1, "rita@landlord.example", "Rita Repairs", "agent", "repairs", True)
ADA = StaffUser(2, "ada@landlord.example", "Ada Admin", "admin", None, True)


@pytest.fixture
def app(engine: sa.Engine) -> Iterator[App]:
    settings = Settings(
        teams=TEAMS,
        routing={"repair": "repairs", "asb": "asb", "complaint": "complaints"},
        secret_key="glance",
    )
    built = bootstrap(
        settings,
        engine=engine,
        classifier=RulesClassifier(),
        senders=[CollectingSender(c) for c in Channel],
        decoders={c: json_decoder for c in Channel},
        turn_handlers={},
        now=FakeClock(TUESDAY),
        run_migrations=False,
    )
    yield built


def receive(app: App, key: str, channel: str, body: str, **fields: Any) -> str:
    fields.setdefault("from", f"{key}@example.net")
    deliver(app, key, channel=channel, body=body, at=TUESDAY.isoformat(), **fields)
    outcome = app.pipeline.process_pending()[-1]
    assert outcome.reference is not None, outcome
    return outcome.reference


def promises(app: App) -> queries.Promises:
    return queries.Promises(
        policies=app.clocks.policies,
        calendar=app.clocks.calendar,
        due_soon_fraction=0.2,
        teams={team.id: team.name for team in TEAMS},
    )


def page(app: App, user: StaffUser, *, now: datetime = TUESDAY, limit: int = 50) -> Any:
    with app.engine.connect() as conn:
        return queries.queue_page(
            conn, queries.scope_for(user, None, None), now=now, limit=limit, promises=promises(app)
        )


def by_reference(result: Any) -> dict[str, Any]:
    return {r.reference: r for r in [*result.pressing, *result.rows, *result.without_clock]}


def test_every_channel_reads_at_a_glance(app: App) -> None:
    email = receive(
        app,
        "e1",
        "email",
        "The bath tap drips all day.\n\nKind regards,\nJo\n\n"
        "On Mon, 7 Dec 2026 at 09:00, Repairs <repairs@landlord.example> wrote:\n"
        "> Thank you for your email. Your reference is DS-OLD-1.",
        subject="Re: dripping tap",
    )
    sms = receive(
        app, "s1", "sms", "My boiler is broken and my baby is cold", **{"from": "+447700900001"}
    )
    chat = receive(app, "c1", "webchat", "Mae'r boeler wedi torri eto, does dim dŵr poeth")
    social = receive(app, "f1", "social", "The repair man never came to fix the broken gate")
    rows = by_reference(page(app, ADA))

    assert rows[email].subject == "Re: dripping tap"
    assert rows[email].first_words == "The bath tap drips all day."  # no quote, no sign-off
    assert rows[sms].first_words == "My boiler is broken and my baby is cold"
    assert rows[chat].first_words.startswith("Mae'r boeler wedi torri")
    assert rows[social].first_words == "The repair man never came to fix the broken gate"
    assert rows[sms].subject is None and rows[chat].subject is None  # no Subject, still words

    assert ("need", "A child") in [(f.kind, f.text) for f in rows[sms].flags]
    assert ("language", "In Welsh") in [(f.kind, f.text) for f in rows[chat].flags]
    for row in rows.values():
        assert row.team_name == "Repairs team" and row.team == "repairs"
        assert row.channel_name in ("Email", "SMS", "Web chat", "Social media")
        assert row.promise and "-" not in row.promise  # a name, never `handoff-3`
        # Working days for working-day promises; clock time for the others: Awaab's Law's 24
        # hours (the cold baby makes the SMS an emergency: no heating, vulnerable resident)
        # and the email acknowledgement's 15 minutes (no outbox worker runs here).
        working = app.clocks.policies[row.policy].unit.value == "working_days"
        assert ("working day" in row.left) is working, (row.policy, row.left)
        assert row.left.endswith(" left")


def test_emergencies_and_24_hour_clocks_are_set_apart(app: App) -> None:
    emergency = receive(
        app, "x1", "email", "Water is pouring through the ceiling onto the light sockets"
    )
    threat = receive(app, "x2", "sms", "My neighbour threatened to stab me, he has a knife")
    routine = receive(app, "x3", "email", "The fence panel is broken")
    result = page(app, ADA)
    pressing = [r.reference for r in result.pressing]
    rest = [r.reference for r in result.rows]
    assert emergency in pressing and routine in rest
    assert emergency not in rest and routine not in pressing
    row = by_reference(result)[emergency]
    assert row.pressing and row.urgency == "emergency"
    assert ("hazard", "Water near electrics") in [(f.kind, f.text) for f in row.flags]
    with app.engine.connect() as conn:
        policies = {
            r.policy
            for r in conn.execute(
                sa.select(t.clocks.c.policy)
                .join(t.interactions)
                .where(t.interactions.c.reference == emergency, t.clocks.c.is_open.is_(True))
            )
        }
    assert "awaab-emergency" in policies
    # Need-to-know as before: the repairs agent's emergencies section has no ASB case.
    mine = page(app, RITA)
    seen = [r.reference for r in [*mine.pressing, *mine.rows]]
    assert emergency in seen and threat not in seen
    assert all(r.team == "repairs" for r in [*mine.pressing, *mine.rows])


def _set_due(app: App, reference: str, due: datetime) -> None:
    """Move the first answer's clock (RESP-10's stays 10 working days away)."""
    i, c = t.interactions.c, t.clocks.c
    with app.engine.begin() as conn:
        found = conn.execute(sa.select(i.id).where(i.reference == reference)).scalar_one()
        conn.execute(
            t.clocks.update()
            .where(
                c.interaction_id == found,
                c.is_open.is_(True),
                c.policy.in_(["email-3", "asb-routine-5"]),
            )
            .values(due_at=due, warn_at=due)  # the stored warning no longer decides
        )


def test_due_soon_is_proportional_and_the_count_agrees(app: App) -> None:
    # Three email repairs (email-3: 3 working days, due soon for its last 0.6 working day,
    # 4.8 office hours) and an ASB report (asb-routine-5: 5 days, due soon for its last day).
    near = receive(app, "d1", "email", "The broken window")
    far = receive(app, "d2", "email", "The broken door")
    late = receive(app, "d3", "email", "The broken tap")
    asb = receive(app, "d4", "email", "My neighbour is playing loud music")
    with app.engine.begin() as conn:  # the acknowledgements went out: stop their clocks
        conn.execute(
            t.clocks.update()
            .where(t.clocks.c.policy == "email-ack-now")
            .values(is_open=False, stopped_at=TUESDAY, outcome="met")
        )
    _set_due(app, near, TUESDAY + timedelta(hours=4))  # 4 office hours left: due soon
    _set_due(app, far, TUESDAY + timedelta(days=1))  # a working day left of 3: not yet
    _set_due(app, late, TUESDAY - timedelta(minutes=5))
    _set_due(app, asb, TUESDAY + timedelta(days=1))  # a working day left of 5: due soon
    result = page(app, ADA)
    states = {r.reference: r.state for r in result.rows}
    assert states == {near: "due_soon", far: "due", late: "breached", asb: "due_soon"}
    assert (result.breached, result.due_soon) == (1, 2)
    assert by_reference(result)[late].left == "5 minutes late"


def test_a_page_costs_the_same_number_of_queries_whatever_its_length(app: App) -> None:
    def count_queries(limit: int) -> tuple[int, int]:
        seen: list[str] = []

        def listen(*args: Any) -> None:
            seen.append(str(args[2]))

        sa.event.listen(app.engine, "before_cursor_execute", listen)
        try:
            result = page(app, ADA, limit=limit)
        finally:
            sa.event.remove(app.engine, "before_cursor_execute", listen)
        return len(seen), len(result.rows) + len(result.pressing)

    for n in range(4):
        receive(app, f"n{n}", "sms", f"Broken light number {n}", **{"from": f"+4477009000{n:02d}"})
    few, shown_few = count_queries(50)
    for n in range(4, 40):
        receive(app, f"n{n}", "sms", f"Broken light number {n}", **{"from": f"+4477009000{n:02d}"})
    many, shown_many = count_queries(50)
    assert (shown_few, shown_many) == (4, 40)
    assert many == few <= 7, (few, many)
