"""The repository port for Interaction aggregates, and an in-memory fake of it.

The service layer and the conversation engine depend on `Interactions` only: production
passes the SQL implementation (bot.storage.interactions.SqlInteractions, inside a unit of
work), the unit tier this fake, so a turn can be tested without a database.
"""

from __future__ import annotations

import copy
from typing import Protocol

from bot.domain.events import Event
from bot.domain.interaction import Interaction
from bot.errors import NotFoundError


class Interactions(Protocol):
    def get(self, interaction_id: int) -> Interaction:
        """The interaction with its open clocks; NotFoundError when there is none."""
        ...

    def save(self, interaction: Interaction) -> list[Event]:
        """Store what changed and log its new events; returns those events (for handlers)."""
        ...


class InMemoryInteractions:
    """The fake: keeps copies, so a change not saved is not seen (as with a database)."""

    def __init__(self, *items: Interaction) -> None:
        self._items: dict[int, Interaction] = {}
        self.log: list[tuple[int, Event]] = []
        self._next_clock = 1
        for item in items:
            self.save(item)

    def get(self, interaction_id: int) -> Interaction:
        try:
            return copy.deepcopy(self._items[interaction_id])
        except KeyError:
            raise NotFoundError("That interaction does not exist.") from None

    def save(self, interaction: Interaction) -> list[Event]:
        for tracked in interaction.clocks:
            if tracked.id is None:
                tracked.id = self._next_clock
                self._next_clock += 1
            tracked.changed = False
        new = list(interaction.events)
        self.log.extend((interaction.id, event) for event in new)
        interaction.events.clear()
        interaction.changed.clear()
        self._items[interaction.id] = copy.deepcopy(interaction)
        return new
