"""Start-up failures as one sentence naming the setting or file (exit status 2), not a
traceback: a configuration that points at nothing is bad input, not a bug.

Only failures we understand are translated; anything else still raises, so a real bug keeps
its traceback.
"""

from __future__ import annotations

from typing import Any


def explain(exc: BaseException, settings: Any | None = None) -> str | None:
    """The sentence for a start-up failure, or None when it is not one we know."""
    from bot.settings import SettingsError

    if isinstance(exc, SettingsError):
        return str(exc)
    database = _database_failure(exc, settings)
    if database is not None:
        return database
    from bot.nlu.spacy_classifier import ModelError

    if isinstance(exc, ModelError):
        return f"nlu.model_dir / nlu.data_dir: {exc}"
    if isinstance(exc, OSError) and exc.filename is not None:
        # A file or folder a setting names that cannot be made or read.
        name = str(exc.filename)
        key = "database_url: " if settings is not None and name in settings.database_url else ""
        return f"{key}cannot use {name}: {exc.strerror or exc}"
    return None


def _database_failure(exc: BaseException, settings: Any | None) -> str | None:
    import sqlalchemy.exc as sa_exc

    if isinstance(exc, sa_exc.ArgumentError):
        return f"database_url: not a database URL we can use: {exc}"
    if not isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return None
    detail = str(exc.orig) if exc.orig is not None else str(exc)
    first = detail.strip().splitlines()[0] if detail.strip() else type(exc).__name__
    lowered = detail.lower()
    if not any(word in lowered for word in ("connect", "unable to open", "authentication")):
        return None  # a failure in the middle of work is a bug or a fault, not a setting
    where = redacted_url(settings.database_url) if settings is not None else "the database"
    return f"database_url: cannot connect to {where}: {first}"


def redacted_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unreadable URL)"
