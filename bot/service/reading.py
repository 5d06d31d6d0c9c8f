"""Reading stored messages (decode, fit, classify) with a time limit per message (issue 14).

Python's parsers, regular expressions and the classifier hold the interpreter lock: a
message that takes a minute to read in a thread of `doorstep serve` takes the dashboard, the
web chat and the webhooks down for that minute. So by default (`reading.timeout_seconds`,
10) messages are read in a worker process, and one that takes longer than the limit is given
up: the worker is killed and replaced, the message waits in quarantine with the reason
"took too long to read" (`/staff/quarantine`), and the rest of the batch goes on.

The worker is forked from serve once the model is loaded, so it shares the model's memory
with serve page by page (copy on write) instead of loading a second copy; `gc.freeze()` in
the worker keeps its garbage collector from writing to, and so copying, serve's objects.
Every page either process writes after the fork becomes a private copy, so a worker is
replaced after `RECYCLE_AFTER` messages, and exits on its own after a minute without work
(a fresh one is forked when needed): its own copies never build up. Where fork is not
available, or the limit is 0, messages are read in the caller's thread as before.

The classifier runs in the worker too, unless it is a remote one (Rasa's HTTP parse, with
its own timeout): a connection pool must not be shared between two processes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import multiprocessing
import os
import signal
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

from bot.domain.model import Channel
from bot.nlu.types import Classification, Classifier
from bot.storage.fit import fit_inbound
from bot.storage.repository import StoredInbound
from channels.base import DecodedInbound, Decoder, InvalidPayloadError

log = logging.getLogger(__name__)

# The worker exits after this long without a request; the next batch forks a fresh one.
IDLE_SECONDS = 60.0
# A fresh worker shares nearly all its memory with serve, but every page either process
# writes afterwards becomes a private copy: measured in a soak, the worker's own memory grew
# from 31 to 73 MB in two busy minutes. So a worker is replaced after this many messages
# (a fork takes milliseconds), which keeps that copy small.
RECYCLE_AFTER = 500


@dataclass(frozen=True, slots=True)
class Prepared:
    """A stored message decoded and classified: the work done before any write."""

    decoded: DecodedInbound | None
    invalid: str | None  # why the payload cannot be read (quarantined), classified
    result: Classification | None


class Reader(Protocol):
    """Decodes and classifies a batch of stored messages, one `Prepared` per message."""

    def read(self, batch: Sequence[StoredInbound]) -> list[Prepared]: ...

    def close(self) -> None: ...


def too_long(seconds: float) -> str:
    """The quarantine reason for a message over the limit (a `quarantine.CATEGORIES` one)."""
    return f"took too long to read (over {seconds:g} s)"


def classify_text(decoded: DecodedInbound) -> str | None:
    """What the classifier reads of a message; None when it gets no reply (no need)."""
    if decoded.no_reply_reason is not None:
        return None
    message = decoded.message
    return "\n".join(part for part in (message.subject, message.body) if part)


def _decode(decoders: Mapping[Channel, Decoder], item: StoredInbound) -> DecodedInbound:
    channel = Channel(item.channel)
    decoder = decoders.get(channel)
    if decoder is None:
        raise InvalidPayloadError(f"no decoder for channel {channel.value}")
    return decoder(item.raw or b"", item.source)


def _fitted(decoded: DecodedInbound) -> DecodedInbound:
    # Storable and fitted to its columns before anything reads it (bot/storage/fit.py).
    return dataclasses.replace(decoded, message=fit_inbound(decoded.message))


def _unreadable(exc: InvalidPayloadError) -> str:
    from bot.service import quarantine

    return quarantine.classify(exc).reason


class InlineReader:
    """Reads in the caller's thread, with no time limit (`reading.timeout_seconds: 0`)."""

    def __init__(self, decoders: Mapping[Channel, Decoder], classifier: Classifier) -> None:
        self.decoders = decoders
        self.classifier = classifier

    def read(self, batch: Sequence[StoredInbound]) -> list[Prepared]:
        decoded: list[tuple[DecodedInbound | None, str | None]] = []
        for item in batch:
            try:
                decoded.append((_fitted(_decode(self.decoders, item)), None))
            except InvalidPayloadError as exc:
                decoded.append((None, _unreadable(exc)))
        texts = {
            n: text
            for n, (d, _) in enumerate(decoded)
            if d is not None and (text := classify_text(d)) is not None
        }
        results = dict(zip(texts, self.classifier.classify_many(list(texts.values())), strict=True))
        return [Prepared(d, invalid, results.get(n)) for n, (d, invalid) in enumerate(decoded)]

    def close(self) -> None:
        pass


_frozen = [False]  # whether serve's objects were frozen at a first fork (WorkerReader._start)


class _Overran(Exception):
    """The worker did not answer within the limit (it has been killed)."""


class _Died(Exception):
    """The worker ended while it worked on a request (a crash in a C extension, OOM)."""


class WorkerReader:
    """Reads in a forked worker process, giving up on a message after `seconds`.

    Each message is decoded alone, against the limit; the batch is then classified in one
    call (the model is faster on several texts at once) against the limit times the number
    of texts, and if that overruns, each text is classified alone against the limit, so only
    the slow one is given up. Exceptions raised in the worker are raised here as they were,
    so the pipeline treats them exactly as in a thread.
    """

    def __init__(
        self,
        decoders: Mapping[Channel, Decoder],
        classifier: Classifier,
        *,
        seconds: float,
        classify_here: bool = False,
    ) -> None:
        self.decoders = decoders
        self.classifier = classifier
        self.seconds = seconds
        self.classify_here = classify_here
        self._context = multiprocessing.get_context("fork")
        self._lock = threading.Lock()  # one batch at a time: one worker, one conversation
        self._handle = _WorkerHandle()
        # A reader dropped without close() (tests build many) must not leave a process.
        weakref.finalize(self, self._handle.stop)

    @property
    def worker_pid(self) -> int | None:
        """The worker's process id while it runs (for measuring its memory)."""
        return self._handle.pid

    # ---- the batch -------------------------------------------------------------------

    def read(self, batch: Sequence[StoredInbound]) -> list[Prepared]:
        with self._lock:
            decoded: list[tuple[DecodedInbound | None, str | None]] = []
            for item in batch:
                decoded.append(self._decode_one(item))
            texts = {
                n: text
                for n, (d, _) in enumerate(decoded)
                if d is not None and (text := classify_text(d)) is not None
            }
            results = self._classify_all(list(texts.values()))
            prepared: list[Prepared] = []
            by_n = dict(zip(texts, results, strict=True))
            for n, (d, invalid) in enumerate(decoded):
                result = by_n.get(n)
                if isinstance(result, str):  # this text overran: the message waits
                    prepared.append(Prepared(None, result, None))
                else:
                    prepared.append(Prepared(d, invalid, result))
            return prepared

    def _decode_one(self, item: StoredInbound) -> tuple[DecodedInbound | None, str | None]:
        if self._handle.served >= RECYCLE_AFTER:
            self._stop()  # replaced between messages, never during one (RECYCLE_AFTER)
        self._handle.served += 1
        try:
            found = self._ask(("decode", item.channel, item.raw or b"", item.source), self.seconds)
        except _Overran:
            log.warning("inbound %s took over %g s to read; quarantined", item.id, self.seconds)
            return None, too_long(self.seconds)
        except _Died:
            return None, "processing error (the reader stopped on this message)"
        except InvalidPayloadError as exc:
            return None, _unreadable(exc)
        assert isinstance(found, DecodedInbound)
        return _fitted(found), None

    def _classify_all(self, texts: list[str]) -> list[Classification | str]:
        if not texts:
            return []
        if self.classify_here:
            return list(self.classifier.classify_many(texts))
        if len(texts) == 1:
            return [self._classify_one(texts[0])]
        try:
            found = self._ask(("classify", texts), self.seconds * len(texts))
        except (_Overran, _Died):
            return [self._classify_one(text) for text in texts]  # only the culprit waits
        assert isinstance(found, list)
        return found

    def _classify_one(self, text: str) -> Classification | str:
        try:
            found = self._ask(("classify", [text]), self.seconds)
        except _Overran:
            log.warning("a message took longer than %g s to classify; quarantined", self.seconds)
            return too_long(self.seconds)
        except _Died:
            return "processing error (the classifier stopped on this message)"
        assert isinstance(found, list) and len(found) == 1
        result: Classification = found[0]
        return result

    # ---- the worker ------------------------------------------------------------------

    def _ask(self, request: tuple[Any, ...], seconds: float, *, again: bool = True) -> Any:
        """Send one request and wait for its answer for at most `seconds`."""
        conn = self._start()
        try:
            conn.send(request)
            if not conn.poll(seconds):
                self._stop()
                raise _Overran()
            ok, answer = conn.recv()
        except (EOFError, OSError) as exc:
            # Ended cleanly: its idle minute ran out as this request went; ask a fresh one.
            # Any other end is a crash on this message, which must not be tried in a loop.
            idle_exit = self._handle.exited_cleanly()
            self._stop()
            if idle_exit and again:
                return self._ask(request, seconds, again=False)
            raise _Died() from exc
        if not ok:
            raise answer  # the worker's own exception, as a thread would have raised it
        return answer

    def _start(self) -> Connection:
        handle = self._handle
        if handle.process is not None and handle.conn is not None and handle.process.is_alive():
            return handle.conn
        handle.stop()
        if not _frozen[0]:
            # Once, at the first fork (the model loaded, the app built): what exists now is
            # left alone by serve's garbage collector from here on, which would otherwise
            # write to every object's header in each full collection and so copy every
            # page the worker shares. Only once: freezing again would keep for ever the
            # garbage cycles among objects alive at that moment.
            gc.freeze()
            _frozen[0] = True
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_work,
            args=(child, self.decoders, None if self.classify_here else self.classifier),
            name="doorstep-reader",
            daemon=True,
        )
        process.start()
        child.close()
        handle.process, handle.conn, handle.served = process, parent, 0
        return parent

    def _stop(self) -> None:
        self._handle.stop()

    def close(self) -> None:
        with self._lock:
            self._stop()


class _WorkerHandle:
    """The process and pipe, apart from the reader, so a finalizer can stop them."""

    def __init__(self) -> None:
        self.process: BaseProcess | None = None
        self.conn: Connection | None = None
        self.served = 0  # messages this worker has read

    def exited_cleanly(self) -> bool:
        process = self.process
        if process is None:
            return False
        process.join(timeout=1.0)
        return process.exitcode == 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.is_alive() else None

    def stop(self) -> None:
        process, conn = self.process, self.conn
        self.process, self.conn = None, None
        if process is not None:
            process.kill()
            process.join()
            process.close()
        if conn is not None:
            conn.close()


def _work(conn: Connection, decoders: Mapping[Channel, Decoder], classifier: Any) -> None:
    """The worker: requests in, (True, answer) or (False, exception) out, until serve goes
    or a minute passes without work."""
    gc.freeze()  # serve's objects stay shared: our collections never write to them
    _close_inherited(keep=conn.fileno())
    _name_process(b"doorstep-reader")
    logging.disable(logging.CRITICAL)  # a handler's lock may have been held at the fork
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for serve, which stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        try:
            if not conn.poll(IDLE_SECONDS):
                return
            request = conn.recv()
        except (EOFError, OSError):
            return  # serve has gone
        try:
            if request[0] == "decode":
                _, channel, raw, source = request
                decoder = decoders.get(Channel(channel))
                if decoder is None:
                    raise InvalidPayloadError(f"no decoder for channel {channel}")
                answer: Any = decoder(raw, source)
            else:
                answer = list(classifier.classify_many(request[1]))
            reply: tuple[bool, Any] = (True, answer)
        except Exception as exc:
            reply = (False, exc)
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception as exc:  # an answer that cannot be pickled: say what it was
            conn.send((False, RuntimeError(f"unpicklable answer ({type(exc).__name__})")))


def _close_inherited(keep: int) -> None:
    """Close every descriptor the fork copied from serve but ours: held here, serve's
    listening socket would outlive serve, and the pipe on the sending process's stdin would
    never reach end of file, so the sending process would not stop when serve does."""
    try:
        found = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        os.closerange(3, keep)
        os.closerange(keep + 1, 65536)
        return
    for fd in found:
        if fd > 2 and fd != keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _name_process(name: bytes) -> None:
    """What `ps -o comm` and `top` show for the worker (Linux), so an operator can tell it
    from serve; elsewhere nothing changes."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(15, name, 0, 0, 0)  # PR_SET_NAME


def build_reader(
    decoders: Mapping[Channel, Decoder],
    classifier: Classifier,
    *,
    seconds: float,
    classify_here: bool = False,
) -> Reader:
    """The reader `reading.timeout_seconds` asks for (bot/bootstrap.py)."""
    if seconds <= 0 or "fork" not in multiprocessing.get_all_start_methods():
        return InlineReader(decoders, classifier)
    return WorkerReader(decoders, classifier, seconds=seconds, classify_here=classify_here)
