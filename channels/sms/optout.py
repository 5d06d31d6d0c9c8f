"""Opt-out, opt-in and help words, by the single-word rule.

A text is a keyword only when the whole message is that one word (case, spaces and
punctuation around it ignored): "STOP" stops texts, "cancel my appointment" does not.
Domain.md: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT stop all texts to
that number; START, YES, UNSTOP resume; HELP and INFO answer with contact details.

What each does (see docs/sms.md):
- an opt-out word puts the number on hold for channel "sms" at intake (the webhook, so it
  takes effect before the next outbox pass) and the decoder marks the message
  `no_reply_reason`, so it never opens an interaction and never gets an acknowledgement;
- START and UNSTOP lift the hold at intake and are likewise never acknowledged (Twilio's own
  keyword handling confirms them to the resident);
- YES lifts a hold when the number is on one (then it is an opt-in, handled like START);
  otherwise it is an ordinary answer, e.g. confirming an appointment;
- HELP and INFO are answered by the SMS turn handler with our contact details.
"""

from __future__ import annotations

import enum
from datetime import datetime

from bot.storage.repository import UnitOfWork

OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
HOLD_REASON = "sms opt-out"
CHANNEL = "sms"


class Keyword(enum.StrEnum):
    OPT_OUT = "opt-out"
    OPT_IN = "opt-in"
    HELP = "help"


def single_word(text: str) -> str | None:
    """The message as one upper-case word, or None when it is more than one word."""
    stripped = text.strip().strip(".!?,;:'\"()").strip()
    if not stripped or any(c.isspace() for c in stripped):
        return None
    return stripped.upper().replace("-", "").replace("_", "")


def keyword(text: str) -> Keyword | None:
    word = single_word(text)
    if word is None:
        return None
    if word in OPT_OUT_WORDS:
        return Keyword.OPT_OUT
    if word in OPT_IN_WORDS:
        return Keyword.OPT_IN
    if word in HELP_WORDS:
        return Keyword.HELP
    return None


def is_yes(text: str) -> bool:
    return single_word(text) == "YES"


def opt_out(uow: UnitOfWork, phone: str, word: str, *, at: datetime | None = None) -> None:
    """Stop all texts to `phone` until the resident opts back in (no end date)."""
    uow.hold_address(CHANNEL, phone, f"{HOLD_REASON}: {word}"[:200], None)


def opt_in(uow: UnitOfWork, phone: str) -> None:
    uow.lift_hold(CHANNEL, phone)


def is_opted_out(uow: UnitOfWork, phone: str, now: datetime) -> bool:
    return uow.active_hold(CHANNEL, phone, now) is not None


def apply_at_intake(uow: UnitOfWork, phone: str, body: str, now: datetime) -> Keyword | None:
    """Honour an opt-out or opt-in word the moment it arrives. Idempotent (a redelivered
    webhook does the same again). Returns the keyword acted on, if any."""
    found = keyword(body)
    word = single_word(body) or ""
    if found is Keyword.OPT_OUT:
        opt_out(uow, phone, word)
        return found
    if found is Keyword.OPT_IN:
        # YES only opts in when the number is on hold: otherwise it answers a question.
        if word == "YES" and not is_opted_out(uow, phone, now):
            return None
        opt_in(uow, phone)
        return found
    return None
