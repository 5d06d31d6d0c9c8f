"""Microsoft Graph intake: change notifications for speed, delta queries for completeness.

For each mailbox with `intake: graph`:

1. **Catch-up** (`resync`): a delta query on the folder. The first one lists every message
   in it (the mailbox's past, stored for staff; the pipeline does not acknowledge mail older
   than its window); later ones list only what changed since the last `@odata.deltaLink`.
   Ids already stored are skipped; the rest are fetched as MIME (`/$value`) and stored.
2. **Subscription**: `created` notifications on the folder's messages, with a random
   `clientState` that every notification must carry (anyone can POST to a public URL).
   Graph checks the URL first with a `validationToken`, which the web route echoes at once.
   The subscription is renewed when a third of its life is left, and deleted on stop.
3. **Notifications** put message ids on a queue; this loop fetches and stores them. A
   duplicate notification, or a message both notified and listed by delta, is stored once
   (storage ignores a source key it has seen), so it is acknowledged once.
4. **Gaps**: a `missed` lifecycle event, a `subscriptionRemoved` (then a new subscription),
   any error and reconnect, and a periodic timer (`resync_seconds`) all run a delta resync,
   so a notification that never arrives only delays a message, never loses it.
   `reauthorizationRequired` renews the subscription at once.

Like the IMAP intake it only fetches and stores: parsing, loop rules and acknowledging happen
later from storage, on the MIME exactly as Graph has it, so `internetMessageHeaders` face the
same loop rules as IMAP mail. Errors are retried with back-off and shown in `health`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from channels.email.graph import GraphClient, GraphError, GraphRefused, Subscription
from channels.email.health import MailboxHealth
from channels.email.oauth import TokenError, TokenRefused
from channels.email.redact import redact_address

log = logging.getLogger(__name__)

# (mailbox name, [(graph message id, MIME bytes)]): store them, in one transaction.
OnStore = Callable[[str, list[tuple[str, bytes]]], Awaitable[None]]
# (mailbox name, ids) -> those of the ids already stored.
KnownIds = Callable[[str, list[str]], Awaitable[set[str]]]


@dataclass(frozen=True, slots=True)
class GraphMailboxSettings:
    name: str
    mailbox: str  # the address (or user id) in /users/{mailbox}
    notification_url: str  # https://<public_url>/webhooks/graph/<name>
    lifecycle_url: str
    folder: str = "inbox"
    subscription_minutes: int = 4200  # Graph's most for messages is 10080 (7 days)
    resync_seconds: float = 300.0
    fetch_batch: int = 25
    max_fetch_bytes: int = 64 * 1024 * 1024  # above: the header only, quarantined (as IMAP)
    backoff_initial: float = 1.0
    backoff_max: float = 300.0


class _GraphMailbox:
    def __init__(
        self,
        settings: GraphMailboxSettings,
        client_factory: Callable[[], GraphClient],
        on_store: OnStore,
        known: KnownIds,
        health: MailboxHealth,
    ) -> None:
        self.settings = settings
        self.client_factory = client_factory
        self.on_store = on_store
        self.known = known
        self.health = health
        health.register(settings.name, intake="graph", auth="oauth2")
        self.client_state = secrets.token_urlsafe(24)
        self.subscription: Subscription | None = None
        self.delta_link: str | None = None
        self._pending: asyncio.Queue[str] = asyncio.Queue()
        self._resync = asyncio.Event()
        self._renew_now = asyncio.Event()
        self._resubscribe = asyncio.Event()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self.connected = asyncio.Event()
        self.resyncs = 0
        self.renewals = 0

    @property
    def label(self) -> str:
        return f"{self.settings.name} ({redact_address(self.settings.mailbox)})"

    # --- what the web route calls ---------------------------------------------------------

    def accepts(self, subscription_id: str | None, client_state: str | None) -> bool:
        """A notification is ours only with our clientState (and our subscription, if set)."""
        if not client_state or not hmac.compare_digest(client_state, self.client_state):
            return False
        return (
            subscription_id is None
            or self.subscription is None
            or (subscription_id == self.subscription.id)
        )

    def notified(self, message_id: str) -> None:
        self._pending.put_nowait(message_id)
        self._wake.set()

    def lifecycle(self, event: str) -> None:
        if event == "reauthorizationRequired":
            self._renew_now.set()
        elif event == "subscriptionRemoved":
            self._resubscribe.set()
            self._resync.set()
        else:  # "missed", and any event we do not know: a resync is never wrong
            self._resync.set()
        self._wake.set()

    # --- the loop -------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        s = self.settings
        backoff = s.backoff_initial
        while not self._stop.is_set():
            client = self.client_factory()
            caught_up = False
            try:
                await self._catch_up(client)
                caught_up = True
                await self._watch(client)
            except (GraphError, TokenError) as exc:
                refused = isinstance(exc, TokenRefused | GraphRefused)
                token = isinstance(exc, TokenError)
                state = (
                    ("token_refused" if refused else "token_unavailable")
                    if token
                    else ("login_refused" if refused else "unavailable")
                )
                self.health.set(s.name, state, str(exc), retry_in=backoff)  # type: ignore[arg-type]
                log.warning("graph %s: %s; retrying in %.0fs", self.label, exc, backoff)
            except Exception as exc:
                self.health.set(s.name, "unavailable", type(exc).__name__, retry_in=backoff)
                log.exception("graph %s failed; retrying in %.0fs", self.label, backoff)
            finally:
                self.connected.clear()
                await self._unsubscribe(client)
                await client.aclose()
            if caught_up:
                backoff = s.backoff_initial
            if self._stop.is_set():
                break
            await self._sleep(backoff)
            backoff = min(backoff * 2, s.backoff_max)
        self.health.set(s.name, "stopped")

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        if self._stop.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    async def _catch_up(self, client: GraphClient) -> None:
        await self.resync(client)  # what came while we were away
        await self._subscribe(client)
        # Mail that arrived between the delta and the subscription has no notification.
        await self.resync(client)
        self.connected.set()
        self.health.set(self.settings.name, "connected")

    async def _subscribe(self, client: GraphClient) -> None:
        s = self.settings
        self.subscription = await client.subscribe(
            s.folder,
            s.notification_url,
            s.lifecycle_url,
            self.client_state,
            s.subscription_minutes,
        )
        log.info("graph %s: subscribed until %s", self.label, self.subscription.expires_at)

    async def _unsubscribe(self, client: GraphClient) -> None:
        subscription, self.subscription = self.subscription, None
        if subscription is None:
            return
        with contextlib.suppress(GraphError, TokenError, OSError):
            await asyncio.wait_for(client.unsubscribe(subscription), timeout=5)

    def _renew_at(self) -> float:
        """Monotonic time to renew: with a third of the subscription's life left."""
        assert self.subscription is not None
        left = (self.subscription.expires_at - datetime.now(UTC)).total_seconds()
        lifetime = min(self.settings.subscription_minutes * 60, max(left, 0.0))
        return time.monotonic() + left - max(lifetime / 3, 1.0)

    async def _watch(self, client: GraphClient) -> None:
        s = self.settings
        renew_at = self._renew_at()
        resync_at = time.monotonic() + s.resync_seconds
        while not self._stop.is_set():
            if self._pending.empty() and not (
                self._resync.is_set() or self._renew_now.is_set() or self._resubscribe.is_set()
            ):
                wait = min(renew_at, resync_at) - time.monotonic()
                if wait > 0:
                    await self._sleep(wait)
            if self._stop.is_set():
                return
            if self._resubscribe.is_set():
                self._resubscribe.clear()
                self.subscription = None
                await self._subscribe(client)
                renew_at = self._renew_at()
            elif self._renew_now.is_set() or time.monotonic() >= renew_at:
                self._renew_now.clear()
                assert self.subscription is not None
                try:
                    self.subscription = await client.renew(
                        self.subscription, s.subscription_minutes
                    )
                except GraphRefused as exc:
                    if exc.status != 404:
                        raise
                    # Gone already (expired while we were throttled): a new one, and a
                    # resync for what its absence hid.
                    await self._subscribe(client)
                    self._resync.set()
                self.renewals += 1
                renew_at = self._renew_at()
                log.info("graph %s: subscription renewed", self.label)
            ids: list[str] = []
            while not self._pending.empty() and len(ids) < s.fetch_batch:
                ids.append(self._pending.get_nowait())
            if ids:
                await self._fetch_and_store(client, ids)
            if self._resync.is_set() or time.monotonic() >= resync_at:
                self._resync.clear()
                await self.resync(client)
                resync_at = time.monotonic() + s.resync_seconds

    async def resync(self, client: GraphClient) -> int:
        """Delta from the last link (or the whole folder); stores what is new."""
        items, link = await client.delta(self.settings.folder, self.delta_link)
        self.resyncs += 1
        ids = list(dict.fromkeys(i.id for i in items if not i.removed))
        stored = await self._fetch_and_store(client, ids)
        if link:
            # Only now: a crash before this re-lists the same changes, never skips them.
            self.delta_link = link
        return stored

    async def _fetch_and_store(self, client: GraphClient, ids: Sequence[str]) -> int:
        name = self.settings.name
        unique = list(dict.fromkeys(ids))
        if not unique:
            return 0
        seen = await self.known(name, unique)
        stored = 0
        for start in range(0, len(unique), self.settings.fetch_batch):
            batch: list[tuple[str, bytes]] = []
            for message_id in unique[start : start + self.settings.fetch_batch]:
                if message_id in seen:
                    continue
                raw = await client.mime(message_id, self.settings.max_fetch_bytes)
                if raw is not None:
                    batch.append((message_id, raw))
            if batch:
                await self.on_store(name, batch)
                stored += len(batch)
        if stored:
            log.info("graph %s: %d new message(s)", self.label, stored)
        return stored


class GraphIntake:
    """Runs every `intake: graph` mailbox until `stop()`; the web route feeds it."""

    def __init__(
        self,
        mailboxes: Sequence[tuple[GraphMailboxSettings, Callable[[], GraphClient]]],
        on_store: OnStore,
        known: KnownIds,
        health: MailboxHealth | None = None,
    ) -> None:
        self.health = health or MailboxHealth()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.boxes = {
            s.name: _GraphMailbox(s, factory, on_store, known, self.health)
            for s, factory in mailboxes
        }

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        tasks = [
            asyncio.create_task(box.run(), name=f"graph:{name}") for name, box in self.boxes.items()
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            self.stop()
            await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        for box in self.boxes.values():
            box.stop()

    async def wait_connected(self, name: str, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self.boxes[name].connected.wait(), timeout)

    def handle_notifications(self, name: str, payload: Any, *, lifecycle: bool) -> int:
        """Route a Graph notification POST for mailbox `name`; returns items accepted.

        Safe from any thread: the mailbox's queue is fed on the intake's own loop."""
        box = self.boxes.get(name)
        loop = self._loop
        if box is None or loop is None:
            return 0

        def later(fn: Callable[..., None], *args: Any) -> None:
            loop.call_soon_threadsafe(fn, *args)

        items = payload.get("value") if isinstance(payload, dict) else None
        if not isinstance(items, list):
            return 0
        accepted = 0
        for item in items:
            if not isinstance(item, dict):
                continue
            if not box.accepts(item.get("subscriptionId"), item.get("clientState")):
                log.warning("graph %s: notification with a wrong clientState ignored", box.label)
                continue
            if lifecycle or "lifecycleEvent" in item:
                later(box.lifecycle, str(item.get("lifecycleEvent", "missed")))
                accepted += 1
                continue
            data = item.get("resourceData")
            message_id = data.get("id") if isinstance(data, dict) else None
            if isinstance(message_id, str) and message_id:
                later(box.notified, message_id)
                accepted += 1
            else:
                later(box.lifecycle, "missed")  # a notification we cannot read: look for ourselves
        return accepted
