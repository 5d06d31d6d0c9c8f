"""From typed settings to the email channel's clients: token caches, IMAP mailboxes, senders.

Kept here rather than in bot/bootstrap.py or bot/runtime.py so those only call one function;
every key is checked by bot/settings.py before anything here runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from channels.email.health import MailboxHealth
from channels.email.oauth import (
    MICROSOFT_AUTHORITY_HOST,
    OAuthSettings,
    TokenCache,
    build_token_source,
)

if TYPE_CHECKING:
    from bot.bootstrap import App
    from bot.settings import Mailbox, OAuthFields, Settings
    from channels.email.graph import GraphClient
    from channels.email.graph_intake import GraphIntake, KnownIds, OnStore
    from channels.email.graph_send import GraphSender
    from channels.email.imap import CursorStore, ImapIntake, MailboxSettings, OnBatch, OnMessage


def oauth_settings(fields: OAuthFields) -> OAuthSettings:
    assert fields.provider is not None  # settings checked: auth oauth2 has a provider
    return OAuthSettings(
        provider=fields.provider,
        client_id=fields.client_id or "",
        client_secret=fields.client_secret,
        tenant=fields.tenant,
        token_url=fields.token_url,
        scope=fields.scope,
        certificate_path=str(fields.certificate_path) if fields.certificate_path else None,
        certificate_thumbprint=fields.certificate_thumbprint,
        service_account_file=(
            str(fields.service_account_file) if fields.service_account_file else None
        ),
        refresh_token=fields.refresh_token,
        ca_file=str(fields.oauth_ca_file) if fields.oauth_ca_file else None,
        authority_host=fields.authority_host or MICROSOFT_AUTHORITY_HOST,
    )


def token_cache(fields: OAuthFields, *, username: str, purpose: str = "mail") -> TokenCache | None:
    """The token cache for a mailbox or relay with `auth: oauth2`; None for a password."""
    if fields.auth != "oauth2":
        return None
    return TokenCache(
        build_token_source(oauth_settings(fields), username=username, purpose=purpose)
    )


def imap_mailbox_settings(mailbox: Mailbox) -> MailboxSettings:
    from channels.email.imap import MailboxSettings

    return MailboxSettings(
        name=mailbox.name,
        host=mailbox.host,
        port=mailbox.port,
        security=mailbox.security,
        username=mailbox.username,
        password=mailbox.password,
        folder=mailbox.folder,
        mark_seen=mailbox.mark_seen,
        move_to=mailbox.move_to,
        idle_timeout=mailbox.idle_timeout,
        rescan_interval=mailbox.rescan_interval,
        tokens=token_cache(mailbox, username=mailbox.username),
    )


def smtp_oauth_fields(settings: Settings) -> OAuthFields | None:
    """The OAuth client the relay logs in with: its own, or the first oauth2 mailbox's."""
    smtp = settings.email.smtp
    if smtp is None or smtp.auth != "oauth2":
        return None
    if smtp.provider is not None:
        return smtp
    return next(m for m in settings.email.mailboxes if m.auth == "oauth2")


def mailbox_health(extras: dict[str, object]) -> MailboxHealth:
    """The one `MailboxHealth` of this process, kept in `App.extras` for the web app."""

    found = extras.get("mailbox_health")
    if not isinstance(found, MailboxHealth):
        found = MailboxHealth()
        extras["mailbox_health"] = found
    return found


def build_imap_intake(
    settings: Settings,
    extras: dict[str, object],
    cursor_store: CursorStore,
    on_message: OnMessage,
    on_batch: OnBatch | None,
    only: str | None = None,
) -> ImapIntake | None:
    """The IMAP intake of every `intake: imap` mailbox (or of mailbox `only`); None when
    there is none."""
    from channels.email.imap import ImapIntake

    boxes = [
        m
        for m in settings.email.mailboxes
        if m.intake == "imap" and (only is None or m.name == only)
    ]
    if not boxes:
        return None
    return ImapIntake(
        [imap_mailbox_settings(m) for m in boxes],
        cursor_store,
        on_message,
        on_batch,
        health=mailbox_health(extras),
    )


def graph_folder(mailbox: Mailbox) -> str:
    """Graph's name for the folder: IMAP's INBOX is Graph's well-known "inbox"."""
    return "inbox" if mailbox.folder.upper() == "INBOX" else mailbox.folder


def graph_client_factory(mailbox: Mailbox) -> Callable[[], GraphClient]:
    """New Graph clients for `mailbox`, all sharing one token cache."""
    from channels.email.graph import GraphClient

    tokens = token_cache(mailbox, username=mailbox.username, purpose="graph")
    assert tokens is not None  # settings checked: intake graph has auth oauth2

    def make() -> GraphClient:
        return GraphClient(mailbox.graph_url, mailbox.username, tokens)

    return make


def graph_sender(settings: Settings) -> GraphSender:
    from channels.email.graph_send import GraphSender

    mailbox = next(m for m in settings.email.mailboxes if m.intake == "graph")
    return GraphSender(
        graph_client_factory(mailbox),
        from_address=settings.email.from_address,
        from_name=settings.email.from_name or settings.organisation.name,
    )


def build_graph_intake(
    settings: Settings,
    extras: dict[str, object],
    on_store: OnStore,
    known: KnownIds,
    only: str | None = None,
) -> GraphIntake | None:
    """The Graph intake of every `intake: graph` mailbox (or of mailbox `only`; None when
    there is none); the web route finds it by mailbox in `extras["graph_intakes"]`."""
    from channels.email.graph_intake import GraphIntake, GraphMailboxSettings

    boxes = [
        m
        for m in settings.email.mailboxes
        if m.intake == "graph" and (only is None or m.name == only)
    ]
    if not boxes:
        return None
    base = settings.public_url.rstrip("/")
    intake = GraphIntake(
        [
            (
                GraphMailboxSettings(
                    name=m.name,
                    mailbox=m.username,
                    notification_url=f"{base}/webhooks/graph/{m.name}",
                    lifecycle_url=f"{base}/webhooks/graph/{m.name}/lifecycle",
                    folder=graph_folder(m),
                    subscription_minutes=m.graph_subscription_minutes,
                    resync_seconds=m.graph_resync_seconds,
                ),
                graph_client_factory(m),
            )
            for m in boxes
        ],
        on_store,
        known,
        health=mailbox_health(extras),
    )
    # One instance watches each mailbox (bot/runtime.py's locks), so a mailbox's intake is
    # built anew whenever its lock is taken: the web route must find the current one.
    running = extras.setdefault("graph_intakes", {})
    assert isinstance(running, dict)
    for m in boxes:
        running[m.name] = intake
    return intake


class EmailIntakes:
    """The IMAP and Graph intakes as one worker (`run()` / `stop()`) for the runtime."""

    def __init__(self, imap: ImapIntake | None, graph: GraphIntake | None) -> None:
        self.imap = imap
        self.graph = graph

    async def run(self) -> None:
        import asyncio

        await asyncio.gather(*(i.run() for i in (self.imap, self.graph) if i is not None))

    def stop(self) -> None:
        for intake in (self.imap, self.graph):
            if intake is not None:
                intake.stop()

    async def wait_connected(self, name: str, timeout: float = 10.0) -> None:
        if self.graph is not None and name in self.graph.boxes:
            await self.graph.wait_connected(name, timeout)
        elif self.imap is not None:
            await self.imap.wait_connected(name, timeout)


def build_email_intake(
    app: App,
    cursor_store: CursorStore,
    on_message: OnMessage,
    on_batch: OnBatch | None,
    wake: Callable[[], None],
    only: str | None = None,
) -> EmailIntakes | None:
    """Every configured mailbox's intake (or mailbox `only`'s), IMAP or Graph; None when
    there is no mailbox.

    Graph mail is stored under source "graph:<mailbox>" keyed by Graph's immutable message
    id: storage ignores a key it has seen, so a duplicate notification is stored once."""
    import asyncio

    import sqlalchemy as sa

    from bot.domain.model import Channel
    from bot.storage import tables as t

    async def store_graph(mailbox: str, items: list[tuple[str, bytes]]) -> None:
        await asyncio.to_thread(
            app.pipeline.store_raw_many, Channel.EMAIL, f"graph:{mailbox}", items
        )
        wake()

    def known_sync(mailbox: str, ids: list[str]) -> set[str]:
        # A first delta lists the whole folder (tens of thousands of ids): asked in slices,
        # well under SQLite's limit on bound values.
        c = t.inbound_messages.c
        found: set[str] = set()
        with app.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                found.update(
                    conn.execute(
                        sa.select(c.source_key).where(
                            c.source == f"graph:{mailbox}",
                            c.source_key.in_(ids[start : start + 500]),
                        )
                    ).scalars()
                )
        return found

    async def known(mailbox: str, ids: list[str]) -> set[str]:
        return await asyncio.to_thread(known_sync, mailbox, ids)

    imap = build_imap_intake(app.settings, app.extras, cursor_store, on_message, on_batch, only)
    graph = build_graph_intake(app.settings, app.extras, store_graph, known, only)
    if imap is None and graph is None:
        return None
    return EmailIntakes(imap, graph)
