"""Personal data kept out of logs (PRIVACY; style: "personal data is redacted in logs").

Email addresses and phone numbers are replaced in every log record this process makes,
whichever library logs it: uvicorn's access log (query strings and redirects carrying a
phone number or a staff address), our own warnings, exceptions' text. It is done where
records are made (the log record factory), so no handler, formatter or library logging
configuration can bypass it. SQL parameters never reach a log at all: engines are created
with `hide_parameters` (bot/storage/db.py), so a database error does not quote a message.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

# Plain and URL-encoded (%40) addresses.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# UK numbers as people write them and as URLs carry them: +44 7700 900123, %2B447700900123,
# 0044..., 07700 900123. Nine or ten more digits, spaces or dashes between them.
_PHONE = re.compile(r"(?:(?:\+|%2B)\s?44|(?<!\d)0044|(?<![\d.])0)(?:[\s-]?\d){9,10}(?!\d)")

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"


def redact(text: str) -> str:
    return _PHONE.sub(PHONE_MASK, _EMAIL.sub(EMAIL_MASK, text))


def _redacted(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


_installed = False


def install() -> None:
    """Redact every log record made from now on in this process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redacted(v) for k, v in record.args.items()}
        if record.exc_info and record.exc_info[0] is not None:
            # Formatted now, redacted; formatters use exc_text when it is set.
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)))
        return record

    logging.setLogRecordFactory(factory)
