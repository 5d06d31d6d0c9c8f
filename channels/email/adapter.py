"""The email channel for the registry: decode stored raw mail, send through SMTP."""

from __future__ import annotations

import atexit
import multiprocessing
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

from channels.base import DecodedInbound, Decoder, InvalidPayloadError, Sender

if TYPE_CHECKING:
    from bot.settings import Settings


def decoder(settings: Settings) -> Decoder:
    from channels.email.bounces import failed_recipients
    from channels.email.loops import auto_reply_block_reason
    from channels.email.parse import parse_email

    own = frozenset(settings.own_addresses)
    max_bytes = settings.email.max_message_bytes
    if settings.email.decode_timeout_seconds > 0:
        return TimedDecoder(
            max_bytes=max_bytes, own=own, seconds=settings.email.decode_timeout_seconds
        )

    def decode(raw: bytes, source: str) -> DecodedInbound:
        if not raw:
            raise InvalidPayloadError("empty message")
        parsed = parse_email(raw, max_bytes=max_bytes)
        reason = auto_reply_block_reason(parsed.message, own_addresses=own)
        failed = failed_recipients(parsed.message) if reason is not None else ()
        return DecodedInbound(parsed.inbound, no_reply_reason=reason, failed_recipients=failed)

    return decode


def sender(settings: Settings) -> Sender | None:
    from channels.email.wiring import graph_sender, smtp_oauth_fields, token_cache

    if settings.email.sender == "graph":
        return graph_sender(settings)
    smtp = settings.email.smtp
    if smtp is None:
        return None
    from channels.email.smtp import SmtpSender, SmtpSettings

    oauth = smtp_oauth_fields(settings)  # OAuth: channels/email/wiring.py
    return SmtpSender(
        SmtpSettings(
            host=smtp.host,
            port=smtp.port,
            security=smtp.security,
            username=smtp.username,
            password=smtp.password,
            timeout=smtp.timeout,
            from_address=settings.email.from_address,
            from_name=settings.email.from_name or settings.organisation.name,
            tokens=token_cache(oauth, username=smtp.username or "") if oauth else None,
        )
    )


class DecodeTimeout(InvalidPayloadError):
    """Decoding one mail took longer than the limit; the caller quarantines it."""


def _child(conn: Connection, max_bytes: int, own: frozenset[str]) -> None:
    """The decoding process: mail bytes in, (True, DecodedInbound) or (False, reason) out."""
    from channels.email.bounces import failed_recipients
    from channels.email.loops import auto_reply_block_reason
    from channels.email.parse import parse_email

    conn.send((True, None))  # ready: imports done, so the first deadline measures work only
    while True:
        try:
            raw = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            parsed = parse_email(raw, max_bytes=max_bytes)
            reason = auto_reply_block_reason(parsed.message, own_addresses=own)
            failed = failed_recipients(parsed.message) if reason is not None else ()
            decoded = DecodedInbound(
                parsed.inbound, no_reply_reason=reason, failed_recipients=failed
            )
            conn.send((True, decoded))
        except InvalidPayloadError as exc:
            conn.send((False, str(exc)))
        except Exception as exc:  # a parser bug must not take the worker down
            conn.send((False, f"unparseable message: {type(exc).__name__}"))


class TimedDecoder:
    """Decode each mail in a child process and give up on one that takes longer than
    `seconds` (issue 14: one message can never stall intake, the web or the webhooks).

    Python's regular expressions and parsers hold the interpreter lock, so a slow step in a
    thread of `doorstep serve` stalls every request; in a child process it stalls nothing,
    and the child is killed and replaced when it overruns. The mail is then quarantined
    with the reason "took too long". One child, used by one caller at a time.
    """

    def __init__(self, *, max_bytes: int, own: frozenset[str], seconds: float) -> None:
        self.max_bytes = max_bytes
        self.own = own
        self.seconds = seconds
        self._context = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        atexit.register(self.close)

    def __call__(self, raw: bytes, source: str) -> DecodedInbound:
        if not raw:
            raise InvalidPayloadError("empty message")
        with self._lock:
            conn = self._start()
            try:
                conn.send_bytes(raw)
                if not conn.poll(self.seconds):
                    self._stop()
                    raise DecodeTimeout(f"took too long (over {self.seconds:g} s to read)")
                ok, result = conn.recv()
            except (EOFError, OSError) as exc:
                self._stop()
                raise InvalidPayloadError("unparseable message: the reader stopped") from exc
        if not ok:
            raise InvalidPayloadError(str(result))
        assert isinstance(result, DecodedInbound)
        return result

    def _start(self) -> Connection:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            return self._conn
        self._stop()
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_child, args=(child, self.max_bytes, self.own), daemon=True
        )
        process.start()
        child.close()
        if not parent.poll(_START_SECONDS):
            process.kill()
            process.join()
            parent.close()
            raise InvalidPayloadError("unparseable message: the reader did not start")
        parent.recv()
        self._process, self._conn = process, parent
        return parent

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._process.close()
            self._process = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        with self._lock:
            self._stop()


_START_SECONDS = 60.0  # a cold start on a busy machine imports the parser in a second or two
