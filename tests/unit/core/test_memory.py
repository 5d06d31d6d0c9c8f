"""bot/memory.py: the operator's MALLOC_ARENA_MAX wins, and giving memory back is safe."""

from __future__ import annotations

import pytest

from bot import memory


def test_an_arena_limit_set_by_the_operator_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert memory.limit_arenas() is False


def test_giving_memory_back_never_fails() -> None:
    memory.give_back()
