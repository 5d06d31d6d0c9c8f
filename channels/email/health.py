"""What each mailbox intake is doing right now, for `/api/status` and the dashboard.

A mailbox that cannot log in must never go quiet: an intake that is refused keeps retrying
with back-off, and says so here in words the landlord's IT team can act on (a revoked secret
looks different from a server that is down).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

State = Literal[
    "starting",
    "connected",  # logged in and watching (IMAP IDLE, or a live Graph subscription)
    "reconnecting",  # a clean reconnect (a token about to expire): no action needed
    "token_refused",  # the identity provider said no: secret, certificate, consent, tenant
    "token_unavailable",  # the identity provider could not be reached
    "login_refused",  # the mail server refused the login (password or token)
    "unavailable",  # the mail server could not be reached or broke the protocol
    "stopped",
]

# What to do, in plain words, for the states that need someone.
ADVICE: dict[str, str] = {
    "token_refused": (
        "The identity provider refused our app's credentials. Check the client secret or "
        "certificate has not expired or been revoked, and that an administrator granted "
        "consent to the app's permissions."
    ),
    "token_unavailable": "The identity provider could not be reached. We keep trying.",
    "login_refused": (
        "The mail server refused the login. For OAuth, check the app has access to this "
        "mailbox (Exchange: Add-MailboxPermission; Google: domain-wide delegation)."
    ),
    "unavailable": "The mail server could not be reached. We keep trying.",
}


@dataclass
class MailboxStatus:
    name: str
    intake: str  # "imap" or "graph"
    auth: str  # "password" or "oauth2"
    state: State = "starting"
    detail: str | None = None
    since: datetime | None = None
    retry_in_seconds: float | None = None
    failures: int = 0  # in a row, since the last success

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "intake": self.intake,
            "auth": self.auth,
            "state": self.state,
            "ok": self.state in ("connected", "reconnecting", "starting"),
            "detail": self.detail,
            "advice": ADVICE.get(self.state),
            "since": self.since.isoformat() if self.since else None,
            "retry_in_seconds": self.retry_in_seconds,
            "failures": self.failures,
        }


class MailboxHealth:
    """The states of every mailbox, written by the intakes, read by the web app."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, MailboxStatus] = {}

    def register(self, name: str, *, intake: str, auth: str) -> None:
        with self._lock:
            self._states[name] = MailboxStatus(
                name, intake, auth, since=datetime.now(UTC), state="starting"
            )

    def set(
        self,
        name: str,
        state: State,
        detail: str | None = None,
        *,
        retry_in: float | None = None,
    ) -> None:
        with self._lock:
            current = self._states.setdefault(name, MailboxStatus(name, "imap", "password"))
            if current.state != state:
                current.since = datetime.now(UTC)
            if state in ("connected", "reconnecting"):
                current.failures = 0
            elif state not in ("starting", "stopped"):
                current.failures += 1
            current.state = state
            current.detail = detail
            current.retry_in_seconds = retry_in

    def get(self, name: str) -> MailboxStatus | None:
        with self._lock:
            return self._states.get(name)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [s.as_dict() for s in self._states.values()]


def mailbox_states(extras: dict[str, object]) -> list[dict[str, Any]]:
    """What `/api/status` shows under "mailboxes": [] until an intake has started."""
    health = extras.get("mailbox_health")
    return health.snapshot() if isinstance(health, MailboxHealth) else []
