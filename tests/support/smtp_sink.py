"""A real SMTP server (aiosmtpd, in its own thread) that records what it receives.

    sink = SmtpSink().start()
    ... SmtpSender(SmtpSettings(host=sink.host, port=sink.port, security="none", ...)) ...
    sink.messages[0].message["Subject"]
    sink.refuse(451, times=2)       # next two recipients: 451 (temporary)
    sink.refuse(550)                # next recipient: 550 (permanent)
    sink.stop(); ...; sink.start()  # down for a while, back on the same port
    sink.close()

Usable from sync fixtures; `wait_for(n)` blocks until n messages arrived.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from types import TracebackType
from typing import Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.net import free_port

Stage = Literal["mail", "rcpt", "data"]


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    peer: object = None  # the client's (host, port): one per SMTP session


@dataclass
class _Refusal:
    code: int
    times: int
    stage: Stage
    text: str


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    def _refusal(self, stage: Stage) -> str | None:
        with self.sink._lock:
            plan = self.sink._refusal
            if plan is None or plan.stage != stage or plan.times == 0:
                return None
            plan.times -= 1
            if plan.times == 0:
                self.sink._refusal = None
            return f"{plan.code} {plan.text}"

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if (reply := self._refusal("mail")) is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if (reply := self._refusal("rcpt")) is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if (reply := self._refusal("data")) is not None:
            return reply
        raw = envelope.original_content or b""
        if isinstance(envelope.content, bytes):
            raw = envelope.content
        message = BytesParser(policy=default_policy).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        mail = ReceivedMail(
            mail_from=str(envelope.mail_from or ""),
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            message=message,
            peer=session.peer,
        )
        with self.sink._lock:
            self.sink.messages.append(mail)
            self.sink._arrived.notify_all()
        return "250 Message accepted"


class SmtpSink:
    host = "127.0.0.1"

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port(self.host)
        self.messages: list[ReceivedMail] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._refusal: _Refusal | None = None
        self._controller: Controller | None = None

    def start(self) -> SmtpSink:
        if self._controller is None:
            controller = Controller(
                _Handler(self), hostname=self.host, port=self.port, ready_timeout=10.0
            )
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening (connections are then refused); `start()` brings it back."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    close = stop

    @property
    def running(self) -> bool:
        return self._controller is not None

    def refuse(
        self, code: int, *, times: int = 1, stage: Stage = "rcpt", text: str | None = None
    ) -> None:
        """Answer the next `times` MAIL/RCPT/DATA commands with `code` instead of accepting."""
        default_text = "4.3.0 Try again later" if code < 500 else "5.1.1 Mailbox unavailable"
        with self._lock:
            self._refusal = _Refusal(code, times, stage, text or default_text)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(self.messages)} of {count} messages arrived")
                self._arrived.wait(remaining)
            return list(self.messages)

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SmtpSink({self.host}:{self.port}, {len(self.messages)} received)"


__all__ = ["ReceivedMail", "SmtpSink"]
