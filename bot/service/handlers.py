"""What happens after an interaction changes: handlers for its events, registered in one
place (cosmicpython's message bus, without the queue: they run in the same transaction).

An action changes the aggregate, then calls `save_and_handle`: the repository stores the
change and logs the events, and each handler registered for an event's type reacts (the
resident's notice, staff notifications). A reaction is thus written once, wherever the
change comes from (the dashboard, the assistant, a command).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from actions.replies import Services, enqueue_to_resident, load_case, render
from actions.wording import deadline_in_words
from bot.domain import events as ev
from bot.domain.interaction import Interaction
from bot.domain.repository import Interactions
from bot.storage.repository import UnitOfWork


@dataclass(frozen=True, slots=True)
class Context:
    """What handlers may use: the transaction, the app's services and the change's time."""

    uow: UnitOfWork
    services: Services
    at: datetime


Handler = Callable[[int, ev.Event, Context], None]


def tell_resident_new_owner(interaction_id: int, event: ev.Event, ctx: Context) -> None:
    """HANDOFF: the resident is told who now owns their case and by when, on their channel
    (SAME-CHANNEL); one notice per transfer (the key names its target and moment)."""
    assert isinstance(event, ev.Transferred)
    case = load_case(ctx.uow.conn, interaction_id)
    body = render(
        ctx.services,
        "handoff.txt.j2",
        case,
        owner_name=event.owner_name,
        deadline=deadline_in_words(event.due_at, now=ctx.at),
    )
    enqueue_to_resident(
        ctx.uow,
        ctx.services,
        case,
        body=body,
        kind="handoff",
        key=("handoff", case.id, event.team, event.owner or "-", ctx.at.isoformat()),
        auto=True,
    )


# The one registry of reactions. Events not named here are only logged.
EVENT_HANDLERS: dict[type[ev.Event], list[Handler]] = {
    ev.Transferred: [tell_resident_new_owner],
}


def handle(interaction_id: int, events: Sequence[ev.Event], ctx: Context) -> None:
    for event in events:
        for handler in EVENT_HANDLERS.get(type(event), ()):
            handler(interaction_id, event, ctx)


def save_and_handle(
    interactions: Interactions, interaction: Interaction, ctx: Context
) -> list[ev.Event]:
    """Store the change, log its events, then let the registered handlers react."""
    new = interactions.save(interaction)
    handle(interaction.id, new, ctx)
    return new
