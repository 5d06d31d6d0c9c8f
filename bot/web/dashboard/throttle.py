"""Sign-in throttling: a progressive delay, never a hard lock.

Failures are counted three ways. A guesser on one machine trying one colleague's address
(address + client IP) waits longer and longer, up to 15 minutes. One machine trying many
addresses (client IP) does too. Many machines trying one address (the address alone) slow
it down, but only up to 30 seconds: the colleague whose address it is can still sign in
from their own computer, after a short wait at worst. A lock a stranger can set off would
let anyone keep a named person out of the dashboard.

In-process, like the sessions' server: `doorstep serve` is one process. A restart forgets
the counts, which only ever helps the person who forgot their password.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

FORGET_AFTER = 3600.0  # a failure an hour ago no longer counts
MAX_KEYS = 10_000  # memory stays bounded whatever a bot sends


@dataclass(frozen=True, slots=True)
class Rule:
    free: int  # failures allowed with no delay
    cap: float  # longest delay, seconds

    def delay(self, failures: int) -> float:
        if failures <= self.free:
            return 0.0
        return min(self.cap, 2.0 ** (failures - self.free))


PAIR = Rule(free=3, cap=900.0)
CLIENT = Rule(free=20, cap=900.0)
ADDRESS = Rule(free=10, cap=30.0)


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()

    def _get(self, kind: str, key: str, now: float) -> tuple[int, float]:
        failures, last = self._seen.get((kind, key), (0, 0.0))
        if failures and now - last > FORGET_AFTER:
            self._seen.pop((kind, key), None)
            return 0, 0.0
        return failures, last

    def _keys(self, address: str, client: str) -> list[tuple[str, str, Rule]]:
        return [
            ("pair", f"{address}\n{client}", PAIR),
            ("client", client, CLIENT),
            ("address", address, ADDRESS),
        ]

    def wait_seconds(self, address: str, client: str) -> int:
        """How long this attempt must wait (0: go ahead), rounded up to whole seconds."""
        now = self._clock()
        wait = 0.0
        for kind, key, rule in self._keys(address, client):
            failures, last = self._get(kind, key, now)
            wait = max(wait, last + rule.delay(failures) - now)
        return math.ceil(wait) if wait > 0 else 0

    def fail(self, address: str, client: str) -> None:
        now = self._clock()
        for kind, key, _ in self._keys(address, client):
            failures, _last = self._get(kind, key, now)
            self._seen[(kind, key)] = (failures + 1, now)
            self._seen.move_to_end((kind, key))
        while len(self._seen) > MAX_KEYS:
            self._seen.popitem(last=False)

    def succeed(self, address: str, client: str) -> None:
        """The right password clears this address's counts (not the client's: one machine
        that also guesses other addresses stays slowed down)."""
        self._seen.pop(("pair", f"{address}\n{client}"), None)
        self._seen.pop(("address", address), None)
