"""Live chat: "Talk to a person" in the web chat reaches a person in office hours (HANDOFF).

When a resident asks for a person (the button or the classifier's `ask_human` intent, which
the aggregate records as a `handoff_requested` event), `decide` chooses:

- LIVE: the office is open and someone in the case's team is signed in to the dashboard and
  Available (a fresh heartbeat, not idle). The chat waits in the live queue and the
  resident is told where they are in it ("You are next in the queue"). A member of staff
  takes it (the aggregate's `take`), the resident is told who has joined, and their
  messages and the officer's go through the web chat's history, hub and outbox as any other
  chat line does (so a second instance sees and pushes them too).
- PHONE: nobody is free, or the office is closed. The hand-off reply the resident already
  has gives the number to call now (in office hours) and when the team will reply: nothing
  more is said, and the decision is recorded.

Nobody takes a waiting chat within `live_chat.queue_timeout_seconds`: the resident is told
to call now and when the team will reply here; the case stays in the team's ordinary queue
with its hand-off clock. An officer whose dashboard goes quiet mid-chat has left it: the
resident is told the same. Everything the resident reads comes from templates.

Each step runs in the caller's transaction (`UnitOfWork`); the worker (`LiveChatWorker`)
looks for new requests, timeouts and absent officers every few seconds, safely from several
instances at once (each step changes a row only from the state it expects).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from actions.replies import ActionError, Actor, Services, enqueue_to_resident, load_case, render
from actions.wording import deadline_in_words, team_in_words
from bot.domain.interaction import NOT_KEPT_BY_A_MESSAGE
from bot.errors import DoorstepError
from bot.storage import live as store
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import UnitOfWork

if TYPE_CHECKING:
    import sqlalchemy as sa

    from bot.bootstrap import App
    from bot.conversation.engine import Reply
    from bot.conversation.turns import SqlConversation
    from bot.service.pipeline import Turn
    from bot.settings import LiveChat as LiveChatSettings

log = logging.getLogger(__name__)

MAX_LIVE_MESSAGE_CHARS = 2000
# Clocks about acknowledging, not answering: not the deadline we tell the resident.
_ACK_POLICIES = ("ack-2", "email-ack-now", "complaint-procedure-1")


class Route(StrEnum):
    LIVE = "live"
    PHONE = "phone"


@dataclass(frozen=True, slots=True)
class Decision:
    route: Route
    reason: str
    available: int = 0
    # The queue notice, when the caller words it into its own reply (`offer(tell=False)`).
    notice: str = ""


def decide(*, enabled: bool, office_open: bool, available: int) -> Decision:
    """HANDOFF: a person now when one can answer now; otherwise the phone and a deadline."""
    if not enabled:
        return Decision(Route.PHONE, "live chat is turned off")
    if not office_open:
        return Decision(Route.PHONE, "the office is closed")
    if available < 1:
        return Decision(Route.PHONE, "nobody in the team is available")
    return Decision(Route.LIVE, "someone in the team is available", available)


class OfficeHours(Protocol):
    def is_open(self, moment: datetime) -> object: ...


class Presence(Protocol):
    """Who is there: the number of a team's staff Available now (SQL: `SqlPresence`)."""

    def available(self, team: str, now: datetime) -> int: ...


def choose(
    hours: OfficeHours, presence: Presence, *, team: str, now: datetime, enabled: bool
) -> Decision:
    """`decide` with the facts looked up; presence is only asked when it could matter."""
    office_open = bool(hours.is_open(now))
    available = presence.available(team, now) if enabled and office_open else 0
    return decide(enabled=enabled, office_open=office_open, available=available)


# ---- presence ------------------------------------------------------------------------------


def presence_windows(settings: LiveChatSettings) -> tuple[timedelta, timedelta]:
    return (
        timedelta(seconds=settings.presence_ttl_seconds),
        timedelta(minutes=settings.idle_minutes),
    )


class SqlPresence:
    """Presence as the dashboard's heartbeats left it in the database (any instance's)."""

    def __init__(self, conn: sa.Connection, settings: LiveChatSettings) -> None:
        self.conn = conn
        self.ttl, self.idle = presence_windows(settings)

    def available(self, team: str, now: datetime) -> int:
        return len(store.available_staff(self.conn, team, now, self.ttl, self.idle))


# ---- the steps -------------------------------------------------------------------------------


def _team_name(services: Services, team: str) -> str:
    try:
        return team_in_words(str(services.settings.team(team).name))
    except KeyError:
        return str(services.settings.organisation.name)


def _minutes(seconds: float) -> str:
    n = max(1, math.ceil(seconds / 60))
    return "1 minute" if n == 1 else f"{n} minutes"


def reply_deadline(
    uow: UnitOfWork, services: Services, interaction_id: int, now: datetime
) -> datetime:
    """When the team will reply, as the hand-off reply said: the hand-off clock, else the
    earliest promise to answer (not merely to acknowledge)."""
    interaction = SqlInteractions(uow).get(interaction_id)
    running = [c for c in interaction.open_clocks() if c.policy not in _ACK_POLICIES]
    handoff = [c for c in running if c.policy.startswith("handoff-")]
    chosen = handoff or [c for c in running if not c.policy.startswith(NOT_KEPT_BY_A_MESSAGE)]
    if chosen:
        return min(c.clock.due_at for c in chosen)
    due: datetime = services.clocks.deadline("handoff-3", now)
    return due


def offer(
    uow: UnitOfWork,
    services: Services,
    interaction_id: int,
    *,
    session_id: str,
    event_id: int | None,
    now: datetime,
    tell: bool = True,
) -> Decision:
    """A resident asked for a person in the web chat: queue the chat for a live answer, or
    record that the phone and the deadline (already in the hand-off reply) are the answer.
    `tell` False: the queue notice is returned in the decision, not sent (the conversation
    engine words it into its one hand-off reply)."""
    settings = services.settings.live_chat
    existing = store.active_for(uow.conn, interaction_id)
    if existing is not None:
        # Asked again while waiting or talking: the chat is where it was.
        return Decision(Route.LIVE, "already in the live queue")
    case = load_case(uow.conn, interaction_id)
    if case.status == "closed":
        return Decision(Route.PHONE, "the case is closed")
    decision = choose(
        services.clocks.calendar,
        SqlPresence(uow.conn, settings),
        team=case.team,
        now=now,
        enabled=settings.enabled,
    )
    state = "waiting" if decision.route is Route.LIVE else "phone"
    chat_id = store.add(
        uow.conn,
        interaction_id=interaction_id,
        event_id=event_id,
        session_id=session_id,
        team=case.team,
        state=state,
        now=now,
    )
    if chat_id is None or decision.route is Route.PHONE:
        return decision
    chat = store.get(uow.conn, chat_id)
    assert chat is not None
    place = store.position(uow.conn, chat)
    body = render(
        services,
        "live_queued.txt.j2",
        case,
        ahead=place - 1,
        team_name=_team_name(services, case.team),
        within=_minutes(settings.queue_timeout_seconds),
        emergency=case.urgency == "emergency",
    )
    if not tell:
        return dataclasses.replace(decision, notice=body)
    enqueue_to_resident(
        uow, services, case, body=body, kind="live", key=("live-queued", chat_id), auto=True
    )
    return decision


def _visible_chat(uow: UnitOfWork, chat_id: int) -> store.LiveChat:
    chat = store.get(uow.conn, chat_id)
    if chat is None:
        raise ActionError("That chat does not exist.")
    return chat


def take(
    uow: UnitOfWork, services: Services, chat_id: int, *, actor: Actor, now: datetime
) -> store.LiveChat:
    """The officer takes the waiting chat: the case becomes theirs (the aggregate's `take`)
    and the resident is told who has joined."""
    chat = _visible_chat(uow, chat_id)
    if chat.state == "taken" and chat.taken_by == actor.email.lower():
        return chat  # a second press of Take
    if chat.state != "waiting":
        who = chat.taken_name or "someone else"
        raise ActionError(
            f"{who} has already taken this chat."
            if chat.state == "taken"
            else "This chat has ended."
        )
    if not store.claim(uow.conn, chat_id, email=actor.email, name=actor.name, now=now):
        raise ActionError("Someone else has just taken this chat.")
    interactions = SqlInteractions(uow)
    try:
        interaction = interactions.get(chat.interaction_id)
        if interaction.owner != actor.email.lower():
            interaction.take(owner=actor.email, at=now)
            interactions.save(interaction)
    except DoorstepError as exc:
        raise ActionError(str(exc)) from exc
    case = load_case(uow.conn, chat.interaction_id)
    body = render(
        services,
        "live_joined.txt.j2",
        case,
        staff_name=actor.first_name,
        team_name=_team_name(services, chat.team),
    )
    enqueue_to_resident(
        uow, services, case, body=body, kind="live", key=("live-joined", chat_id), auto=True
    )
    found = store.get(uow.conn, chat_id)
    assert found is not None
    return found


def say(
    uow: UnitOfWork,
    services: Services,
    chat_id: int,
    text: str,
    *,
    actor: Actor,
    nonce: str,
    now: datetime,
) -> bool:
    """The officer's message, in the resident's chat at once (through the outbox and the
    hub). The first one is the reply the hand-off promised: its clocks are met then."""
    text = text.strip()
    if not text:
        raise ActionError("Write a message first.")
    if len(text) > MAX_LIVE_MESSAGE_CHARS:
        raise ActionError(f"A chat message can be at most {MAX_LIVE_MESSAGE_CHARS:,} characters.")
    chat = _visible_chat(uow, chat_id)
    if chat.state != "taken" or chat.taken_by != actor.email.lower():
        raise ActionError(
            "Take the chat before writing in it."
            if chat.state == "waiting"
            else "This chat is not yours, or it has ended."
        )
    case = load_case(uow.conn, chat.interaction_id)
    if case.status == "closed":
        raise ActionError(f"{case.reference} is closed.")
    body = render(services, "live_message.txt.j2", case, body=text, staff_name=actor.first_name)
    sent = enqueue_to_resident(
        uow,
        services,
        case,
        body=body,
        kind="reply",
        key=("live-say", chat_id, nonce),
        auto=False,
        meta={"staff": actor.email},
    )
    if not sent:
        return False  # the same message (nonce) pressed twice
    if store.count_staff_message(uow.conn, chat_id) == 1:
        interactions = SqlInteractions(uow)
        interaction = interactions.get(chat.interaction_id)
        interaction.replied(by=actor.email, at=now)
        interactions.save(interaction)
    return True


def end(
    uow: UnitOfWork,
    services: Services,
    chat_id: int,
    *,
    actor: Actor,
    now: datetime,
) -> None:
    """The officer ends the chat; the case stays theirs in the ordinary queue."""
    chat = _visible_chat(uow, chat_id)
    if chat.state == "waiting":
        raise ActionError("Take the chat first, or leave it for a colleague.")
    if chat.state != "taken" or chat.taken_by != actor.email.lower():
        raise ActionError("This chat is not yours, or it has ended.")
    _finish(
        uow, services, chat, state="ended", reason=f"ended by {actor.email}", left=False, now=now
    )


def _finish(
    uow: UnitOfWork,
    services: Services,
    chat: store.LiveChat,
    *,
    state: str,
    reason: str,
    left: bool,
    now: datetime,
    notify: bool = True,
) -> bool:
    if not store.finish(uow.conn, chat.id, state=state, reason=reason, now=now):
        return False  # another instance (or a second press) got there first
    case = load_case(uow.conn, chat.interaction_id)
    if state == "ended" and (case.status == "closed" or not notify):
        # Closed: the close form chose whether and how to tell the resident. Passed on:
        # the transfer's own notice says who owns it now and by when (HANDOFF).
        return True
    template = "live_timeout.txt.j2" if state == "timed_out" else "live_ended.txt.j2"
    body = render(
        services,
        template,
        case,
        staff_name=(chat.taken_name or "").split(" ")[0] or "Our officer",
        left=left,
        team_name=_team_name(services, chat.team),
        deadline=deadline_in_words(reply_deadline(uow, services, case.id, now), now=now),
        office_open=bool(services.clocks.calendar.is_open(now)),
    )
    enqueue_to_resident(
        uow, services, case, body=body, kind="live", key=("live-" + state, chat.id), auto=True
    )
    return True


def expire(uow: UnitOfWork, services: Services, now: datetime) -> int:
    """Waiting too long: the resident is given the phone and the deadline. Taken by someone
    whose dashboard went quiet: they have left; the resident is told the same."""
    settings = services.settings.live_chat
    timeout = timedelta(seconds=settings.queue_timeout_seconds)
    ttl, _idle = presence_windows(settings)
    changed = 0
    for chat in store.in_states(uow.conn, store.ACTIVE_STATES):
        if chat.status == "closed":
            # Closed from the case page: the close form chose what the resident is told.
            changed += _finish(
                uow, services, chat, state="ended", reason="case closed", left=False, now=now
            )
        elif chat.state == "waiting" and chat.requested_at <= now - timeout:
            changed += _finish(
                uow, services, chat, state="timed_out", reason="nobody took it", left=False, now=now
            )
        elif chat.state == "taken" and (chat.owner or "") != chat.taken_by:
            # Transferred (or taken by a colleague) from the case page: the chat is no
            # longer this officer's to answer.
            changed += _finish(
                uow,
                services,
                chat,
                state="ended",
                reason="passed on",
                left=False,
                now=now,
                notify=False,
            )
        elif (
            chat.state == "taken"
            and chat.taken_by
            and not store.is_present(uow.conn, chat.taken_by, now, ttl)
        ):
            changed += _finish(
                uow, services, chat, state="ended", reason="officer left", left=True, now=now
            )
    return changed


def tick(engine: sa.Engine, services: Services, now: datetime, after_event: int) -> tuple[int, int]:
    """One pass of the worker: answer new requests, then expire. Returns the last event id
    seen and how many resident notices were written."""
    settings = services.settings.live_chat
    since = now - timedelta(seconds=settings.queue_timeout_seconds)
    written = 0
    with UnitOfWork(engine, lambda: now) as uow:
        requests = store.new_requests(uow.conn, after_event, since)
        uow.commit()
    for request in requests:
        after_event = max(after_event, request.event_id)
        if not request.address:
            continue
        with UnitOfWork(engine, lambda: now) as uow:
            decision = offer(
                uow,
                services,
                request.interaction_id,
                session_id=request.address,
                event_id=request.event_id,
                now=now,
            )
            uow.commit()
        written += decision.route is Route.LIVE
    with UnitOfWork(engine, lambda: now) as uow:
        written += expire(uow, services, now)
        uow.commit()
    return after_event, written


class LiveChatWorker:
    """`doorstep serve`'s live-chat loop (bot.bootstrap.build_workers)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._stopping = asyncio.Event()
        self._after = 0

    async def run(self) -> None:
        poll = self.app.settings.live_chat.worker_poll_seconds
        while not self._stopping.is_set():
            try:
                self._after, written = await asyncio.to_thread(
                    tick, self.app.engine, self.app, self.app.now(), self._after
                )
                if written:
                    self.app.outbox.wake()
            except Exception:  # a bad row must not stop the queue for everyone
                log.exception("live chat: a pass failed; trying again shortly")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=poll)

    def stop(self) -> None:
        self._stopping.set()


def build_worker(app: App) -> LiveChatWorker | None:
    if not (app.settings.webchat.enabled and app.settings.live_chat.enabled):
        return None
    return LiveChatWorker(app)


# ---- the chat assistant steps back while a person answers --------------------------------


def person_in_chat(turn: Turn) -> bool:
    """True (handled: nothing to say) while a member of staff is in this case's live chat."""
    interaction_id = turn.outcome.interaction_id
    if interaction_id is None:
        return False
    chat = store.active_for(turn.uow.conn, interaction_id)
    return chat is not None and chat.state == "taken"


def quiet_while_person_in_chat(turn: Turn, conversation: SqlConversation) -> list[Reply] | None:
    """The web chat's keyword step (before any engine): while a member of staff is in the
    chat, the message is stored and joined to the case as always and the officer's view shows
    it at once, so the engine says nothing; otherwise the engine answers."""
    return [] if person_in_chat(turn) else None
