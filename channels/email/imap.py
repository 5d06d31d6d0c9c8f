"""IMAP intake: fetch new mail from each mailbox and hand the raw bytes on to be stored.

The intake only fetches and stores (Zulip's "reject early, the worker decides"): parsing,
loop protection and acknowledging happen later, from storage. That keeps the only promise
this module has to keep small: every message is passed to `on_message` (or, for a read-only
mailbox, with its fetched batch to `on_batch`) at least once, and the cursor moves past a UID
only after that call returned. A crash between the two re-delivers the message; storage
dedupes by (mailbox, uidvalidity, uid).

How it reaches new mail promptly (peers poll every 30 s to 5 min and lose mail when polls
overlap): one task per mailbox, each with its own connection in its own thread (imapclient
blocks, and an IDLE parked on the shared default executor would starve everything else);
IDLE until the server reports something or `idle_timeout` passes (RFC 2177: re-issue
before 29 minutes), then a UID SEARCH from the cursor. Every reconnect re-scans too, so
mail that arrived while we were disconnected is picked up. Servers without IDLE are polled.

Size: messages are fetched whole (BODY.PEEK[], which never sets \\Seen), in batches bounded
by count and bytes, so a 10 MB photo of mould is just a slow fetch. Above `max_fetch_bytes`
we do not download the body at all: `on_message` gets the message's header with an
`X-Doorstep-Oversize` field, which the parser quarantines with its size, so staff see that
a mail arrived and can open it in the mailbox.

OAuth (Microsoft 365, Google Workspace): with `tokens` set the session logs in with SASL
XOAUTH2 (or OAUTHBEARER when that is all the server offers) and an access token. Exchange
drops a session whose token has expired; we do not wait for that: a session ends cleanly
shortly before its token would, and the next one starts at once with a fresh token. The
cursor makes that reconnect lossless, as any other. A refused token or login is retried with
back-off and shown in `health`; it never stops the mailbox's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import logging
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from imapclient import IMAPClient

from channels.base import ChannelError
from channels.email.health import MailboxHealth
from channels.email.oauth import TokenCache, TokenError, TokenRefused
from channels.email.parse import OVERSIZE_HEADER
from channels.email.redact import redact_address, redact_text

log = logging.getLogger(__name__)

Security = Literal["ssl", "starttls", "none"]
OnMessage = Callable[[str, int, int, bytes], Awaitable[None]]
# Optional: a whole fetched batch of (uid, raw) at once, so storage can write it in one
# transaction. Used for read-only mailboxes, where nothing happens per message after storing.
OnBatch = Callable[[str, int, list[tuple[int, bytes]]], Awaitable[None]]
T = TypeVar("T")

_MAX_IDLE_SECONDS = 29 * 60  # RFC 2177: servers may drop an IDLE after 30 minutes
_IDLE_SLICE = 1.0  # how often a parked IDLE checks for stop(); bounds shutdown latency


class MailboxUnavailable(ChannelError):
    """The IMAP server could not be reached, refused the login, or broke the protocol."""


class LoginRefused(MailboxUnavailable):
    """The IMAP server refused our credentials (password or access token)."""


class CursorStore(Protocol):
    """Where each mailbox's position is kept (the lead's implementation is the database)."""

    def load(self, mailbox: str) -> tuple[int | None, int]:
        """(uidvalidity, last_uid) for `mailbox`; (None, 0) when never seen."""
        ...

    def save(self, mailbox: str, uidvalidity: int, last_uid: int) -> None: ...


class InMemoryCursorStore:
    """A `CursorStore` in a dict, for tests and `doorstep` tools that need no persistence."""

    def __init__(self) -> None:
        self.cursors: dict[str, tuple[int, int]] = {}

    def load(self, mailbox: str) -> tuple[int | None, int]:
        return self.cursors.get(mailbox, (None, 0))

    def save(self, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        self.cursors[mailbox] = (uidvalidity, last_uid)


@dataclass(frozen=True, slots=True)
class MailboxSettings:
    name: str  # our name for the mailbox; the cursor key and the `source` of stored mail
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    security: Security = "ssl"  # "none" only when configured: credentials go in clear
    folder: str = "INBOX"
    mark_seen: bool = False
    move_to: str | None = None
    idle_timeout: float = 300.0
    rescan_interval: float = 60.0
    batch_size: int = 25
    batch_bytes: int = 32 * 1024 * 1024
    max_fetch_bytes: int = 64 * 1024 * 1024
    connect_timeout: float = 30.0
    read_timeout: float = 120.0
    backoff_initial: float = 1.0
    backoff_max: float = 300.0
    tls_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    # OAuth 2.0: log in with an access token from here instead of the password.
    tokens: TokenCache | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.security not in ("ssl", "starttls", "none"):
            raise ValueError(f"mailbox {self.name}: security must be ssl, starttls or none")
        if not 0 < self.idle_timeout <= _MAX_IDLE_SECONDS:
            raise ValueError(f"mailbox {self.name}: idle_timeout must be in (0, 1740] seconds")
        if self.rescan_interval <= 0 or self.batch_size < 1:
            raise ValueError(f"mailbox {self.name}: rescan_interval and batch_size must be > 0")

    @property
    def read_only(self) -> bool:
        return not (self.mark_seen or self.move_to)


class _Session:
    """One IMAP connection. Blocking; only ever used from its mailbox's own thread."""

    def __init__(self, settings: MailboxSettings) -> None:
        self.settings = settings
        self.client: IMAPClient | None = None
        self.supports_idle = False
        self.caught_up = False  # connected and scanned once: the back-off can reset
        # OAuth: when the session must end for a fresh token (time.time()); None: never.
        self.token_deadline: float | None = None
        self.renewing = False  # ended for a fresh token: reconnect at once, no back-off
        self.mechanism = "password"  # how it logged in: password, XOAUTH2 or OAUTHBEARER

    def connect(self) -> int:
        """Connect, log in, select the folder; returns its UIDVALIDITY."""
        s = self.settings
        from imapclient import SocketTimeout

        context = s.tls_context or ssl.create_default_context()
        client = IMAPClient(
            s.host,
            port=s.port,
            ssl=s.security == "ssl",
            ssl_context=context if s.security == "ssl" else None,
            timeout=SocketTimeout(connect=s.connect_timeout, read=s.read_timeout),
        )
        self.client = client
        if s.security == "starttls":
            client.starttls(context)
        if s.tokens is None:
            self._checked_login(lambda: client.login(s.username, s.password))
        else:
            self._oauth_login(client, s.tokens)
        status = client.select_folder(s.folder, readonly=s.read_only)
        self.supports_idle = client.has_capability("IDLE")
        uidvalidity = status.get(b"UIDVALIDITY")
        if not isinstance(uidvalidity, int):
            raise MailboxUnavailable(f"server gave no UIDVALIDITY for {s.folder!r}")
        return uidvalidity

    def _checked_login(self, login: Callable[[], object]) -> None:
        from imapclient.exceptions import LoginError

        try:
            login()
        except LoginError as exc:
            detail = redact_text(str(exc)) or "refused"
            raise LoginRefused(f"login refused: {detail}") from exc

    def _oauth_login(self, client: IMAPClient, tokens: TokenCache) -> None:
        s = self.settings
        token = tokens.get()  # TokenError goes up as it is: the provider, not the server
        capabilities = {c.upper() for c in client.capabilities()}
        if b"AUTH=XOAUTH2" in capabilities:
            self.mechanism = "XOAUTH2"
            login: Callable[[], object] = lambda: client.oauth2_login(s.username, token.value)  # noqa: E731
        elif b"AUTH=OAUTHBEARER" in capabilities:
            self.mechanism = "OAUTHBEARER"
            login = lambda: client.oauthbearer_login(s.username, token.value)  # noqa: E731
        else:
            raise LoginRefused("the server offers neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER")
        try:
            self._checked_login(login)
        except LoginRefused:
            # Perhaps revoked early: the next attempt asks the provider for a new one.
            tokens.invalidate()
            raise
        self.token_deadline = tokens.usable_until(token)

    def _client(self) -> IMAPClient:
        if self.client is None:
            raise MailboxUnavailable("not connected")
        return self.client

    def uids_after(self, last_uid: int) -> list[int]:
        found = self._client().search(["UID", f"{last_uid + 1}:*"])
        # "N:*" always matches the highest UID, even when it is below N.
        return sorted(uid for uid in found if uid > last_uid)

    def sizes(self, uids: Sequence[int]) -> dict[int, int]:
        data = self._client().fetch(list(uids), ["RFC822.SIZE"])
        return {uid: int(item.get(b"RFC822.SIZE", 0)) for uid, item in data.items()}

    def bodies(self, uids: Sequence[int]) -> dict[int, bytes]:
        data = self._client().fetch(list(uids), ["BODY.PEEK[]"])
        return {
            uid: bytes(item[b"BODY[]"])
            for uid, item in data.items()
            if isinstance(item.get(b"BODY[]"), bytes)
        }

    def oversize_stand_in(self, uid: int, size: int) -> bytes | None:
        data = self._client().fetch([uid], ["BODY.PEEK[HEADER]"])
        header: object = data.get(uid, {}).get(b"BODY[HEADER]")
        if not isinstance(header, bytes):
            return None
        note = f"(message of {size} bytes not fetched: open it in the mailbox)\r\n"
        return f"{OVERSIZE_HEADER}: {size}\r\n".encode() + header + note.encode()

    def after_store(self, uid: int) -> None:
        client = self._client()
        if self.settings.mark_seen:
            client.add_flags([uid], [b"\\Seen"])
        if self.settings.move_to:
            if client.has_capability("MOVE"):
                client.move([uid], self.settings.move_to)
            else:
                client.copy([uid], self.settings.move_to)
                client.delete_messages([uid])
                if client.has_capability("UIDPLUS"):
                    client.uid_expunge([uid])
                else:
                    client.expunge()

    def idle_wait(self, seconds: float, stop: threading.Event) -> bool:
        """IDLE until the server says something, `seconds` pass, or `stop` is set."""
        client = self._client()
        client.idle()
        # imaplib files the untagged responses it reads outside IDLE (those of the last
        # command, and any the server sends before its "+ idling") in a dict of its own,
        # where idle_check never looks. New mail announced there would wait for the safety
        # re-scan (a minute): count it as the server having spoken.
        early = client._imap.untagged_responses
        announced = any(early.pop(kind, None) for kind in ("EXISTS", "RECENT"))
        deadline = time.monotonic() + seconds
        responses: list[Any] = [b"announced before IDLE"] if announced else []
        while not stop.is_set() and not responses:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            responses = client.idle_check(timeout=min(_IDLE_SLICE, remaining))
        client.idle_done()
        return bool(responses)

    def noop(self) -> None:
        self._client().noop()

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # already broken: just drop the socket
            with contextlib.suppress(Exception):
                client.shutdown()


class _Mailbox:
    """The loop for one mailbox: connect, scan, IDLE, scan ...; reconnect with back-off."""

    def __init__(
        self,
        settings: MailboxSettings,
        cursors: CursorStore,
        on_message: OnMessage,
        on_batch: OnBatch | None = None,
        health: MailboxHealth | None = None,
    ) -> None:
        self.settings = settings
        self.cursors = cursors
        self.on_message = on_message
        self.on_batch = on_batch
        self.health = health or MailboxHealth()
        self.health.register(
            settings.name, intake="imap", auth="password" if settings.tokens is None else "oauth2"
        )
        self.stop_requested = threading.Event()  # read by the blocking thread
        self._wake = asyncio.Event()
        self.connected = asyncio.Event()  # set while a session is up (tests wait on it)

    @property
    def label(self) -> str:
        s = self.settings
        return f"{s.name} ({redact_address(s.username)} at {s.host}:{s.port}/{s.folder})"

    def stop(self) -> None:
        self.stop_requested.set()
        self._wake.set()

    async def run(self) -> None:
        backoff = self.settings.backoff_initial
        while not self.stop_requested.is_set():
            executor = ThreadPoolExecutor(1, thread_name_prefix=f"imap-{self.settings.name}")
            session = _Session(self.settings)
            try:
                await self._session(session, executor)
            except TokenError as exc:
                self.health.set(
                    self.settings.name,
                    "token_refused" if isinstance(exc, TokenRefused) else "token_unavailable",
                    str(exc),
                    retry_in=backoff,
                )
                log.warning(
                    "imap %s: no access token: %s; retry in %.0fs", self.label, exc, backoff
                )
            except MailboxUnavailable as exc:
                self.health.set(
                    self.settings.name,
                    "login_refused" if isinstance(exc, LoginRefused) else "unavailable",
                    str(exc),
                    retry_in=backoff,
                )
                log.warning("imap %s: %s; reconnecting in %.0fs", self.label, exc, backoff)
            except Exception as exc:
                self.health.set(
                    self.settings.name, "unavailable", type(exc).__name__, retry_in=backoff
                )
                log.exception("imap %s failed; reconnecting in %.0fs", self.label, backoff)
            finally:
                self.connected.clear()
                # Queued behind whatever the thread is doing (at most one IDLE slice).
                executor.submit(session.close)
                executor.shutdown(wait=False)
            if session.caught_up:
                backoff = self.settings.backoff_initial
            if self.stop_requested.is_set():
                break
            if session.renewing:
                continue  # a fresh token, at once: no mail waits on a back-off
            await self._sleep(backoff)
            backoff = min(backoff * 2, self.settings.backoff_max)

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        if self.stop_requested.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    async def _call(self, executor: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, fn, *args)
        except MailboxUnavailable:
            raise
        except (imaplib.IMAP4.error, OSError, EOFError) as exc:
            # imapclient's errors derive from imaplib's; sockets and TLS raise OSError.
            detail = redact_text(str(exc)) or type(exc).__name__
            raise MailboxUnavailable(f"{type(exc).__name__}: {detail}") from exc

    async def _session(self, session: _Session, executor: ThreadPoolExecutor) -> None:
        s = self.settings
        uidvalidity = await self._call(executor, session.connect)
        self.connected.set()
        self.health.set(s.name, "connected")
        log.info("imap %s: connected (idle=%s)", self.label, session.supports_idle)
        await self.scan_until_quiet(session, executor, uidvalidity)  # what came meanwhile
        session.caught_up = True
        while not self.stop_requested.is_set():
            cycle = min(s.idle_timeout, s.rescan_interval)
            if session.token_deadline is not None:
                left = session.token_deadline - time.time()
                if left <= 0:
                    # End cleanly before the server ends it for us; the next session logs
                    # in with a fresh token and re-scans from the cursor: nothing missed.
                    log.info("imap %s: access token due for renewal; reconnecting", self.label)
                    self.health.set(s.name, "reconnecting", "renewing the access token")
                    session.renewing = True
                    return
                cycle = min(cycle, left)
            if session.supports_idle:
                await self._call(executor, session.idle_wait, cycle, self.stop_requested)
            else:
                await self._sleep(cycle)
                if self.stop_requested.is_set():
                    break
                await self._call(executor, session.noop)
            if self.stop_requested.is_set():
                break
            await self.scan_until_quiet(session, executor, uidvalidity)

    async def scan_until_quiet(
        self, session: _Session, executor: ThreadPoolExecutor, uidvalidity: int
    ) -> None:
        """Scan again while scans find mail. The server announces mail that arrives during
        a FETCH in that FETCH's untagged responses, which imapclient does not keep: going
        back to IDLE straight away would leave that mail for the safety re-scan (a minute
        late in a burst). An empty scan means nothing came while we were busy."""
        while not self.stop_requested.is_set():
            if not await self.scan(session, executor, uidvalidity):
                return

    async def scan(self, session: _Session, executor: ThreadPoolExecutor, uidvalidity: int) -> int:
        """Deliver every message above the cursor, in UID order; returns how many."""
        s = self.settings
        stored_validity, last_uid = await asyncio.to_thread(self.cursors.load, s.name)
        if stored_validity != uidvalidity:
            if stored_validity is not None:
                log.warning(
                    "imap %s: UIDVALIDITY changed %s -> %s; fetching the folder again",
                    self.label,
                    stored_validity,
                    uidvalidity,
                )
            last_uid = 0
            await asyncio.to_thread(self.cursors.save, s.name, uidvalidity, 0)
        uids = await self._call(executor, session.uids_after, last_uid)
        if not uids:
            return 0
        sizes = await self._call(executor, session.sizes, uids)
        delivered = 0
        for batch in _batches(uids, sizes, s.batch_size, s.batch_bytes, s.max_fetch_bytes):
            if self.stop_requested.is_set():
                break
            if len(batch) == 1 and sizes.get(batch[0], 0) > s.max_fetch_bytes:
                uid = batch[0]
                stand_in = await self._call(executor, session.oversize_stand_in, uid, sizes[uid])
                log.warning("imap %s: uid %s is %s bytes; not fetched", self.label, uid, sizes[uid])
                bodies = {uid: stand_in} if stand_in is not None else {}
            else:
                bodies = await self._call(executor, session.bodies, batch)
            if s.read_only and self.on_batch is not None:
                fetched = [(uid, bodies[uid]) for uid in batch if bodies.get(uid) is not None]
                if fetched:
                    await self.on_batch(s.name, uidvalidity, fetched)
                    delivered += len(fetched)
            else:
                for uid in batch:
                    raw = bodies.get(uid)
                    if raw is not None:
                        await self.on_message(s.name, uidvalidity, uid, raw)
                        delivered += 1
                    # else: expunged between SEARCH and FETCH; UIDs never come back, move on.
                    if not s.read_only:
                        # Flag or move only once the cursor is past it: never fetched twice.
                        await asyncio.to_thread(self.cursors.save, s.name, uidvalidity, uid)
                    if raw is not None and not s.read_only:
                        try:
                            await self._call(executor, session.after_store, uid)
                        except MailboxUnavailable as exc:
                            # Stored already and the cursor has moved: never fetched twice.
                            log.warning(
                                "imap %s: uid %s stored, flag/move failed: %s", self.label, uid, exc
                            )
            if s.read_only and batch:
                # One cursor write per batch: storage ignores a re-delivered (mailbox,
                # UIDVALIDITY, UID), so a crash mid-batch costs a re-fetch, never a loss.
                await asyncio.to_thread(self.cursors.save, s.name, uidvalidity, batch[-1])
        if delivered:
            log.info("imap %s: %d new message(s)", self.label, delivered)
        return delivered


def _batches(
    uids: Sequence[int], sizes: dict[int, int], count: int, max_bytes: int, oversize: int
) -> Iterator[list[int]]:
    batch: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if size > oversize:
            if batch:
                yield batch
                batch, total = [], 0
            yield [uid]
            continue
        if batch and (len(batch) >= count or total + size > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch


class ImapIntake:
    """Runs every configured mailbox concurrently until `stop()`."""

    def __init__(
        self,
        mailboxes: Sequence[MailboxSettings],
        cursor_store: CursorStore,
        on_message: OnMessage,
        on_batch: OnBatch | None = None,
        health: MailboxHealth | None = None,
    ) -> None:
        names = [m.name for m in mailboxes]
        if len(set(names)) != len(names):
            raise ValueError("mailbox names must be unique (they key the cursors)")
        self.health = health or MailboxHealth()
        self._boxes = {
            m.name: _Mailbox(m, cursor_store, on_message, on_batch, self.health) for m in mailboxes
        }

    async def run(self) -> None:
        tasks = [
            asyncio.create_task(box.run(), name=f"imap:{name}") for name, box in self._boxes.items()
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            self.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        for box in self._boxes.values():
            box.stop()

    async def wait_connected(self, name: str, timeout: float = 10.0) -> None:
        """Until mailbox `name` has a live session (its first catch-up scan included)."""
        await asyncio.wait_for(self._boxes[name].connected.wait(), timeout)

    async def poll_once(self, name: str) -> int:
        """One connect-scan-disconnect pass for mailbox `name`; returns messages delivered."""
        box = self._boxes[name]
        executor = ThreadPoolExecutor(1, thread_name_prefix=f"imap-poll-{name}")
        session = _Session(box.settings)
        try:
            uidvalidity = await box._call(executor, session.connect)
            return await box.scan(session, executor, uidvalidity)
        finally:
            await asyncio.get_running_loop().run_in_executor(executor, session.close)
            executor.shutdown(wait=False)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    uidvalidity: int
    messages: int  # in the folder now
    idle: bool  # the server offers IDLE and an IDLE started and ended cleanly
    mechanism: str  # "password", "XOAUTH2" or "OAUTHBEARER"


def probe(settings: MailboxSettings) -> ProbeResult:
    """Connect, log in, open the folder read-only and try IDLE, then log out (blocking).

    For `doorstep email check`: touches nothing in the mailbox. Raises `TokenError`,
    `LoginRefused` or `MailboxUnavailable` with what went wrong."""
    import dataclasses

    session = _Session(dataclasses.replace(settings, mark_seen=False, move_to=None))
    try:
        try:
            uidvalidity = session.connect()
            client = session._client()
            found = client.search(["ALL"])
            idle = False
            if session.supports_idle:
                session.idle_wait(0.2, threading.Event())
                idle = True
        except (imaplib.IMAP4.error, OSError, EOFError) as exc:
            detail = redact_text(str(exc)) or type(exc).__name__
            raise MailboxUnavailable(f"{type(exc).__name__}: {detail}") from exc
        return ProbeResult(uidvalidity, len(found), idle, session.mechanism)
    finally:
        session.close()
