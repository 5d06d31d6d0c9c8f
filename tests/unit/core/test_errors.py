"""One exception hierarchy, mapped once to HTTP statuses and once to CLI exit codes."""

from __future__ import annotations

import pytest

from actions.replies import ActionError
from bot.errors import (
    ConflictError,
    DoorstepError,
    InvalidError,
    NotFoundError,
    UnavailableError,
    exit_code,
    http_status,
)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (NotFoundError("no such case"), 404, 3),
        (ConflictError("DS-2026-000001 is closed."), 409, 4),
        (InvalidError("Choose an outcome."), 422, 2),
        (UnavailableError("Rasa did not answer"), 503, 5),
        (DoorstepError("something else"), 400, 1),
        (ActionError("Write a reply first."), 422, 2),  # staff actions are invalid input
    ],
)
def test_mapped_once(error: DoorstepError, status: int, code: int) -> None:
    assert http_status(error) == status
    assert exit_code(error) == code


def test_invalid_and_not_found_are_still_the_builtin_kinds() -> None:
    # Callers that caught ValueError / LookupError keep working while they move over.
    assert isinstance(InvalidError("x"), ValueError)
    assert isinstance(NotFoundError("x"), LookupError)
