"""One exception hierarchy for Doorstep, translated once at each edge.

Library errors are caught where they happen and raised again as one of these
(`raise NotFoundError(...) from exc`); the web app maps them to HTTP statuses with
`http_status`, the CLI to exit codes with `exit_code`. The message is safe to show to the
person who asked (staff, or a resident through the assistant): no personal data, no traces.
"""

from __future__ import annotations


class DoorstepError(Exception):
    """Something Doorstep could not do, with a message the asker can read."""


class NotFoundError(DoorstepError, LookupError):
    """The thing asked for does not exist (an interaction, an appointment, a user)."""


class ConflictError(DoorstepError):
    """The thing exists but is in a state that forbids the change (a closed case)."""


class InvalidError(DoorstepError, ValueError):
    """The input is wrong: the message says what to give instead."""


class UnavailableError(DoorstepError):
    """A service we depend on did not answer (Rasa, a provider); trying later may work."""


# Mapped once: the web app and the CLI use these and nothing else.
_HTTP_STATUS: tuple[tuple[type[DoorstepError], int], ...] = (
    (NotFoundError, 404),
    (ConflictError, 409),
    (InvalidError, 422),
    (UnavailableError, 503),
)
_EXIT_CODE: tuple[tuple[type[DoorstepError], int], ...] = (
    (NotFoundError, 3),
    (ConflictError, 4),
    (InvalidError, 2),
    (UnavailableError, 5),
)


def http_status(exc: DoorstepError) -> int:
    """The HTTP status an error answers with (400 for a bare DoorstepError)."""
    return next((code for kind, code in _HTTP_STATUS if isinstance(exc, kind)), 400)


def exit_code(exc: DoorstepError) -> int:
    """The CLI exit code for an error (1 for a bare DoorstepError)."""
    return next((code for kind, code in _EXIT_CODE if isinstance(exc, kind)), 1)
