"""Sign-in throttling: a progressive delay that slows a guesser without letting a stranger
lock a colleague out."""

from __future__ import annotations

from bot.web.dashboard.throttle import ADDRESS, LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_few_mistakes_cost_nothing_then_the_delay_grows() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    waits = []
    for _ in range(8):
        waits.append(throttle.wait_seconds("rita@x", "10.0.0.9"))
        throttle.fail("rita@x", "10.0.0.9")
    waits.append(throttle.wait_seconds("rita@x", "10.0.0.9"))
    assert waits[:4] == [0, 0, 0, 0]
    assert waits[4:] == [2, 4, 8, 16, 32]  # doubling for the guesser on that machine
    clock.now += 32
    assert throttle.wait_seconds("rita@x", "10.0.0.9") == 0


def test_a_stranger_cannot_lock_a_colleague_out() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    # A stranger hammers Rita's address from many machines, as fast as allowed.
    for n in range(500):
        throttle.fail("rita@x", f"203.0.113.{n % 250}")
    # Rita, at her own computer, waits at most the address cap (30 seconds), never minutes.
    assert throttle.wait_seconds("rita@x", "10.0.0.9") <= ADDRESS.cap
    clock.now += ADDRESS.cap
    assert throttle.wait_seconds("rita@x", "10.0.0.9") == 0

    # A stranger at one machine waits longer and longer; Rita at hers, 30 seconds at most.
    for _ in range(20):
        throttle.fail("rita@x", "198.51.100.66")
    assert throttle.wait_seconds("rita@x", "198.51.100.66") >= 900
    assert throttle.wait_seconds("rita@x", "10.0.0.9") <= ADDRESS.cap


def test_one_machine_trying_many_addresses_is_slowed() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    for n in range(30):
        throttle.fail(f"user{n}@x", "198.51.100.7")
    assert throttle.wait_seconds("someone-else@x", "198.51.100.7") > 60
    assert throttle.wait_seconds("someone-else@x", "10.0.0.9") == 0


def test_success_clears_the_address_and_old_failures_are_forgotten() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock)
    for _ in range(6):
        throttle.fail("lee@x", "10.0.0.2")
    throttle.succeed("lee@x", "10.0.0.2")
    assert throttle.wait_seconds("lee@x", "10.0.0.2") == 0
    for _ in range(6):
        throttle.fail("ann@x", "10.0.0.3")
    clock.now += 3601
    assert throttle.wait_seconds("ann@x", "10.0.0.3") == 0


def test_memory_stays_bounded() -> None:
    throttle = LoginThrottle(Clock())
    for n in range(20_000):
        throttle.fail(f"bot{n}@x", f"192.0.2.{n % 200}")
    assert len(throttle._seen) <= 10_000
