"""OAuth 2.0 mailboxes against real servers: Dovecot checking bearer tokens with an `oauth2`
passdb (introspection at the fake identity provider), the real MSAL, google-auth and httpx
token clients fetching from that provider, and aiosmtpd taking AUTH XOAUTH2; and
`doorstep email check` against them (and the fake Graph)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.smtp import SMTP as AioSMTP
from aiosmtpd.smtp import AuthResult, LoginPassword
from fastapi import FastAPI

from bot.cli import main
from bot.domain.model import Channel, OutboundMessage
from channels.base import TransientSendError
from channels.email.graph_webhook import graph_router
from channels.email.health import MailboxHealth
from channels.email.imap import ImapIntake, InMemoryCursorStore
from channels.email.oauth import (
    GenericTokenSource,
    GoogleTokenSource,
    MsalTokenSource,
    OAuthSettings,
    TokenCache,
    TokenRefused,
)
from channels.email.smtp import SmtpSender, SmtpSettings
from tests.e2e.test_email_servers import Inbox, mail, mailbox, running, wait_until
from tests.support.dovecot import TEST_USER, DovecotServer
from tests.support.fake_graph import FakeGraph, running_fake_graph, serve_asgi
from tests.support.fake_oauth import FakeOAuth, service_account_key

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

USER = TEST_USER
TENANT = "contoso.onmicrosoft.com"
APP, SECRET = "11111111-2222-3333-4444-555555555555", "app secret"


@pytest.fixture
def idp() -> Iterator[FakeOAuth]:
    with FakeOAuth(token_lifetime=3600) as fake:
        fake.add_client(APP, SECRET, mailbox=USER)
        yield fake


@pytest.fixture
def oauth_dovecot(idp: FakeOAuth) -> Iterator[DovecotServer]:
    with DovecotServer(
        oauth_introspection_url=idp.introspection_url, oauth_ca_file=idp.ca_file
    ) as server:
        server.add_user(USER, "password only for appending")
        yield server


def microsoft(idp: FakeOAuth, **overrides: object) -> OAuthSettings:
    fields: dict[str, object] = {
        "provider": "microsoft",
        "client_id": APP,
        "client_secret": SECRET,
        "tenant": TENANT,
        "authority_host": idp.url,
        "ca_file": idp.ca_file,
        "timeout": 5.0,
    }
    fields.update(overrides)
    return OAuthSettings(**fields)  # type: ignore[arg-type]


def msal_tokens(idp: FakeOAuth) -> TokenCache:
    return TokenCache(MsalTokenSource(microsoft(idp), purpose="mail"))


# --- token clients against the fake provider ------------------------------------------


def test_msal_fetches_app_only_token_with_outlook_default_scope(idp: FakeOAuth) -> None:
    cache = msal_tokens(idp)
    token = cache.get()
    assert cache.get() is token  # cached while fresh
    (issued,) = idp.tokens_for(APP)
    assert issued.token == token.value
    assert issued.scope == "https://outlook.office365.com/.default"
    assert issued.grant == "client_credentials"
    assert token.lifetime == pytest.approx(3600, abs=5)


def test_msal_with_a_certificate_instead_of_a_secret(idp: FakeOAuth, tmp_path: Path) -> None:
    from tests.support.fake_oauth import app_certificate

    key_pem, thumbprint, public = app_certificate()
    idp.add_client("cert-app", None, mailbox=USER, public_key_pem=public)
    key_file = tmp_path / "doorstep.pem"
    key_file.write_bytes(key_pem)
    settings = microsoft(
        idp,
        client_id="cert-app",
        client_secret=None,
        certificate_path=str(key_file),
        certificate_thumbprint=thumbprint,
    )
    token = MsalTokenSource(settings, purpose="mail").fetch()
    assert idp.tokens_for("cert-app")[0].token == token.value


def test_msal_refused_secret_is_a_clear_refusal(idp: FakeOAuth) -> None:
    idp.revoke(APP)
    with pytest.raises(TokenRefused, match="invalid_client"):
        msal_tokens(idp).get()


def test_msal_unknown_tenant_host_is_unavailable_not_a_crash() -> None:
    source = MsalTokenSource(
        OAuthSettings(
            provider="microsoft",
            client_id=APP,
            client_secret=SECRET,
            tenant=TENANT,
            authority_host="https://127.0.0.1:9",
            timeout=2.0,
        ),
        purpose="mail",
    )
    from channels.email.oauth import TokenUnavailable

    with pytest.raises(TokenUnavailable):
        source.fetch()


def test_google_service_account_with_domain_wide_delegation(idp: FakeOAuth, tmp_path: Path) -> None:
    info, public = service_account_key("doorstep@landlord.iam.gserviceaccount.com", idp.token_url)
    idp.add_client(info["client_email"], None, mailbox=USER, public_key_pem=public)
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(info))
    settings = OAuthSettings(
        provider="google", service_account_file=str(key_file), ca_file=idp.ca_file
    )
    token = GoogleTokenSource(settings, username=USER).fetch()
    (issued,) = idp.tokens_for(info["client_email"])
    assert issued.token == token.value and issued.mailbox == USER
    assert issued.scope == "https://mail.google.com/"
    # Delegation to a mailbox the service account may not act as is refused.
    with pytest.raises(TokenRefused):
        GoogleTokenSource(settings, username="someone.else@landlord.example").fetch()


def test_google_refresh_token(idp: FakeOAuth) -> None:
    idp.add_client("gclient", "gsecret", mailbox=USER, refresh_token="1//refresh")
    settings = OAuthSettings(
        provider="google",
        client_id="gclient",
        client_secret="gsecret",
        refresh_token="1//refresh",
        token_url=idp.token_url,
        ca_file=idp.ca_file,
    )
    assert GoogleTokenSource(settings, username=USER).fetch().value.startswith("fake-")
    idp.revoke("gclient")
    with pytest.raises(TokenRefused, match="invalid_grant"):
        GoogleTokenSource(settings, username=USER).fetch()


def test_generic_token_url(idp: FakeOAuth) -> None:
    settings = OAuthSettings(
        provider="generic",
        client_id=APP,
        client_secret=SECRET,
        token_url=idp.token_url,
        scope="imap smtp",
        ca_file=idp.ca_file,
    )
    assert GenericTokenSource(settings).fetch().value.startswith("fake-")
    with pytest.raises(TokenRefused, match="invalid_client"):
        GenericTokenSource(dataclasses.replace(settings, client_secret="wrong")).fetch()


# --- IMAP over XOAUTH2 ----------------------------------------------------------------


async def test_oauth_mailbox_receives_mail_through_idle(
    idp: FakeOAuth, oauth_dovecot: DovecotServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="channels.email")
    inbox = Inbox()
    box = mailbox(oauth_dovecot, password="", tokens=msal_tokens(idp))
    async with running(ImapIntake([box], InMemoryCursorStore(), inbox)):
        await asyncio.sleep(0.3)
        await asyncio.to_thread(oauth_dovecot.append, USER, mail(1))
        await wait_until(lambda: len(inbox.delivered) == 1, timeout=10)
    assert inbox.subjects == ["enquiry 1"]
    assert any(active for _, active in idp.introspections)  # Dovecot really asked
    assert "fake-" not in caplog.text  # tokens never logged


def test_oauthbearer_when_the_server_offers_only_that(idp: FakeOAuth) -> None:
    from channels.email.imap import probe

    with DovecotServer(
        oauth_introspection_url=idp.introspection_url,
        oauth_ca_file=idp.ca_file,
        oauth_mechanisms="oauthbearer",
    ) as server:
        server.add_user(USER, "for appending")
        server.append(USER, mail(1))
        result = probe(mailbox(server, password="", tokens=msal_tokens(idp)))
    assert result.mechanism == "OAUTHBEARER" and result.messages == 1 and result.idle


async def test_google_workspace_mailbox_through_idle(
    idp: FakeOAuth, oauth_dovecot: DovecotServer, tmp_path: Path
) -> None:
    """The Google path whole: a delegated service account's token (google-auth), XOAUTH2."""
    info, public = service_account_key("doorstep@landlord.iam.gserviceaccount.com", idp.token_url)
    idp.add_client(info["client_email"], None, mailbox=USER, public_key_pem=public)
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(info))
    google = OAuthSettings(
        provider="google", service_account_file=str(key_file), ca_file=idp.ca_file
    )
    tokens = TokenCache(GoogleTokenSource(google, username=USER))
    inbox = Inbox()
    box = mailbox(oauth_dovecot, password="", tokens=tokens)
    async with running(ImapIntake([box], InMemoryCursorStore(), inbox)):
        await asyncio.to_thread(oauth_dovecot.append, USER, mail(1))
        await wait_until(lambda: len(inbox.delivered) == 1, timeout=10)
    assert idp.tokens_for(info["client_email"])[0].grant == "jwt-bearer"


async def test_token_expiring_mid_idle_reconnects_cleanly_and_misses_nothing(
    idp: FakeOAuth, oauth_dovecot: DovecotServer
) -> None:
    idp.token_lifetime = 3.0  # renewed at 2.25 s: several renewals during this test
    inbox = Inbox()
    health = MailboxHealth()
    tokens = msal_tokens(idp)
    box = mailbox(oauth_dovecot, password="", tokens=tokens, backoff_initial=5.0)
    intake = ImapIntake([box], InMemoryCursorStore(), inbox, health=health)
    async with running(intake):
        for n in range(1, 9):
            await asyncio.to_thread(oauth_dovecot.append, USER, mail(n))
            await asyncio.sleep(0.9)  # spread over ~7 s: some land around a renewal
        await wait_until(lambda: len(inbox.delivered) == 8, timeout=15)
    assert inbox.subjects == [f"enquiry {n}" for n in range(1, 9)]
    assert len(set(inbox.keys)) == 8  # none twice
    assert tokens.fetches >= 3  # a fresh token for each new session
    assert health.get("repairs") is not None
    # Renewal is no failure: never waited on the (5 s) back-off, never a refused state.
    assert not [i for i in idp.introspections if not i[1]]


async def test_revoked_secret_is_shown_and_retried_then_recovers(
    idp: FakeOAuth, oauth_dovecot: DovecotServer
) -> None:
    idp.revoke(APP)
    inbox = Inbox()
    health = MailboxHealth()
    box = mailbox(oauth_dovecot, password="", tokens=msal_tokens(idp), backoff_max=0.3)
    intake = ImapIntake([box], InMemoryCursorStore(), inbox, health=health)
    task = asyncio.create_task(intake.run())
    try:
        await wait_until(lambda: (health.get("repairs") or _none()).state == "token_refused")
        status = health.snapshot()[0]
        assert status["ok"] is False and "invalid_client" in status["detail"]
        assert "secret" in status["advice"]
        requests_before = idp.token_requests
        await asyncio.sleep(1.0)
        assert idp.token_requests > requests_before  # retried, not stopped
        assert not task.done()  # no crash
        await asyncio.to_thread(oauth_dovecot.append, USER, mail(1))
        idp.restore(APP)  # the IT team fixed the secret
        await wait_until(lambda: len(inbox.delivered) == 1, timeout=10)
        assert (health.get("repairs") or _none()).state == "connected"
    finally:
        intake.stop()
        await asyncio.wait_for(task, timeout=10)


async def test_token_revoked_at_the_server_is_a_refused_login(
    idp: FakeOAuth, oauth_dovecot: DovecotServer
) -> None:
    """The provider still issues tokens, but the mailbox is not the app's (no
    Add-MailboxPermission): Dovecot refuses the login, and the state says so."""
    idp.clients[APP].mailbox = "someone.else@landlord.example"
    health = MailboxHealth()
    box = mailbox(oauth_dovecot, password="", tokens=msal_tokens(idp), backoff_max=0.3)
    intake = ImapIntake([box], InMemoryCursorStore(), Inbox(), health=health)
    task = asyncio.create_task(intake.run())
    try:
        await wait_until(lambda: (health.get("repairs") or _none()).state == "login_refused")
    finally:
        intake.stop()
        await asyncio.wait_for(task, timeout=10)


def _none() -> object:
    class Nothing:
        state = None

    return Nothing()


# --- SMTP AUTH XOAUTH2 ----------------------------------------------------------------


class _OAuthSmtp:
    """An aiosmtpd server that takes AUTH XOAUTH2, checking tokens with the provider."""

    def __init__(self, idp: FakeOAuth) -> None:
        self.idp = idp
        self.logins: list[str] = []
        self.messages: list[bytes] = []

    async def auth_XOAUTH2(self, server: AioSMTP, args: list[str]) -> AuthResult:
        if len(args) < 2:
            return AuthResult(success=False, handled=False)
        decoded = base64.b64decode(args[1]).decode()
        fields = dict(part.split("=", 1) for part in decoded.split("\x01") if "=" in part)
        token = fields.get("auth", "").removeprefix("Bearer ")
        answer = self.idp.introspect(token)
        ok = bool(answer.get("active")) and answer.get("username") == fields.get("user", "")
        if ok:
            self.logins.append(fields["user"])
        if not ok:
            return AuthResult(success=False, handled=False)  # aiosmtpd answers 535
        return AuthResult(success=True, auth_data=LoginPassword(b"", b""))

    async def handle_DATA(self, server: AioSMTP, session: object, envelope: object) -> str:
        self.messages.append(getattr(envelope, "content", b""))
        return "250 OK"


@pytest.fixture
def oauth_smtp(idp: FakeOAuth) -> Iterator[tuple[str, int, _OAuthSmtp]]:
    from aiosmtpd.controller import Controller

    from tests.support.net import free_port

    handler = _OAuthSmtp(idp)
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        auth_exclude_mechanism=["LOGIN", "PLAIN"],
        ready_timeout=10.0,
    )
    controller.start()
    try:
        yield "127.0.0.1", port, handler
    finally:
        controller.stop()


def outbound(n: int) -> OutboundMessage:
    return OutboundMessage(
        channel=Channel.EMAIL,
        recipient=f"resident{n}@example.org",
        body="We have your message.",
        subject="We have your message",
        idempotency_key=f"ack-{n}",
    )


async def test_smtp_sends_with_xoauth2(
    idp: FakeOAuth, oauth_smtp: tuple[str, int, _OAuthSmtp]
) -> None:
    host, port, server = oauth_smtp
    sender = SmtpSender(
        SmtpSettings(
            host=host,
            port=port,
            security="none",
            from_address=USER,
            username=USER,
            tokens=msal_tokens(idp),
            timeout=5.0,
        )
    )
    await sender.send(outbound(1))
    assert server.logins == [USER] and len(server.messages) == 1
    idp.revoke(APP)
    # The kept token is refused by the server (535): transient, and the token is dropped ...
    with pytest.raises(TransientSendError, match="535"):
        await sender.send(outbound(2))
    # ... so the next attempt asks the provider, which refuses the revoked secret.
    with pytest.raises(TransientSendError, match="no access token"):
        await sender.send(outbound(2))  # kept in the outbox until the secret is fixed
    idp.restore(APP)
    await sender.send(outbound(2))
    assert len(server.messages) == 2


# --- `doorstep email check` -------------------------------------------------------------
# It says what works and what to fix, and sends nothing.


def oauth_keys(idp: FakeOAuth) -> dict[str, object]:
    return {
        "auth": "oauth2",
        "provider": "microsoft",
        "tenant": TENANT,
        "client_id": APP,
        "client_secret": SECRET,
        "authority_host": idp.url,
        "oauth_ca_file": idp.ca_file,
    }


def write_config(tmp_path: Path, email: dict[str, object], **top: object) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump({"doorstep": {"email": email, **top}}))
    return path


def run(config: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    status = main(["--config", str(config), "email", "check", *extra])
    return status, capsys.readouterr().out


def imap_config(
    tmp_path: Path, idp: FakeOAuth, server: DovecotServer, smtp: tuple[str, int, _OAuthSmtp]
) -> Path:
    host, port, _ = smtp
    return write_config(
        tmp_path,
        {
            "from_address": USER,
            "mailboxes": [
                {
                    "name": "repairs",
                    "host": server.host,
                    "port": server.port,
                    "security": "none",
                    "username": USER,
                    **oauth_keys(idp),
                }
            ],
            "smtp": {
                "host": host,
                "port": port,
                "security": "none",
                "username": USER,
                "auth": "oauth2",
            },
        },
    )


def test_everything_works(
    tmp_path: Path,
    idp: FakeOAuth,
    oauth_dovecot: DovecotServer,
    oauth_smtp: tuple[str, int, _OAuthSmtp],
    capsys: pytest.CaptureFixture[str],
) -> None:
    oauth_dovecot.append(USER, b"From: a@example.org\r\nSubject: x\r\n\r\nhello\r\n")
    status, out = run(imap_config(tmp_path, idp, oauth_dovecot, oauth_smtp), capsys)
    assert status == 0, out
    assert "ok    access token from microsoft" in out
    assert "with XOAUTH2; INBOX has 1 message(s)" in out
    assert "IDLE: new mail is seen within seconds" in out
    assert "logged in; nothing sent" in out and out.rstrip().endswith("Everything works.")
    assert oauth_smtp[2].messages == []  # nothing sent
    assert SECRET not in out


def test_revoked_secret_says_what_to_fix(
    tmp_path: Path,
    idp: FakeOAuth,
    oauth_dovecot: DovecotServer,
    oauth_smtp: tuple[str, int, _OAuthSmtp],
    capsys: pytest.CaptureFixture[str],
) -> None:
    idp.revoke(APP)
    status, out = run(imap_config(tmp_path, idp, oauth_dovecot, oauth_smtp), capsys)
    assert status == 1
    assert "FAIL  microsoft refused to give an access token: invalid_client" in out
    assert "client secret has not expired" in out
    assert "thing(s) to fix" in out


def test_mailbox_not_granted_to_the_app(
    tmp_path: Path,
    idp: FakeOAuth,
    oauth_dovecot: DovecotServer,
    oauth_smtp: tuple[str, int, _OAuthSmtp],
    capsys: pytest.CaptureFixture[str],
) -> None:
    idp.clients[APP].mailbox = "other@landlord.example"
    status, out = run(imap_config(tmp_path, idp, oauth_dovecot, oauth_smtp), capsys)
    assert status == 1
    assert "IMAP login to" in out and "Add-MailboxPermission" in out


@pytest.fixture
def graph(idp: FakeOAuth) -> Iterator[FakeGraph]:
    with running_fake_graph(check_token=lambda t: bool(idp.introspect(t)["active"])) as fake:
        yield fake


def graph_config(tmp_path: Path, idp: FakeOAuth, graph: FakeGraph, public_url: str) -> Path:
    return write_config(
        tmp_path,
        {
            "from_address": USER,
            "sender": "graph",
            "mailboxes": [
                {
                    "name": "repairs",
                    "username": USER,
                    "intake": "graph",
                    "graph_url": graph.url,
                    **oauth_keys(idp),
                }
            ],
        },
        public_url=public_url,
    )


def test_graph_mailbox_with_and_without_a_reachable_webhook(
    tmp_path: Path, idp: FakeOAuth, graph: FakeGraph, capsys: pytest.CaptureFixture[str]
) -> None:
    graph.deliver(USER, b"Subject: x\r\n\r\nhello\r\n", notify=0)
    nowhere = graph_config(tmp_path, idp, graph, "http://127.0.0.1:9")
    status, out = run(nowhere, capsys)
    assert status == 1
    assert "ok    Graph can read inbox: 1 message(s) there" in out
    assert "FAIL  Graph could not create a change-notification subscription" in out
    assert "public_url" in out
    status, out = run(nowhere, capsys, "--no-subscription")
    assert status == 0, out
    api = FastAPI()
    api.include_router(graph_router({}))
    with serve_asgi(api) as url:
        status, out = run(graph_config(tmp_path, idp, graph, url), capsys)
    assert status == 0, out
    assert "Graph change notifications reach" in out
    assert graph.live_subscriptions() == [] and graph.sent == []


# --- the whole server ------------------------------------------------------------------


def test_serve_shows_a_revoked_secret_on_api_status_and_recovers(
    engine: Any, idp: FakeOAuth, oauth_dovecot: DovecotServer
) -> None:
    """`create_app` with its workers under uvicorn, an OAuth IMAP mailbox configured as a
    landlord would: the revoked secret is on /api/status with advice, mail waits in the
    mailbox, and once the secret is restored it is acknowledged."""
    import time

    import httpx

    from bot.bootstrap import bootstrap
    from bot.settings import Settings
    from bot.web.app import create_app
    from channels.base import CollectingSender
    from tests.fakes import KeywordClassifier

    idp.revoke(APP)
    settings = Settings(
        email={
            "from_address": "housing@landlord.example",
            "mailboxes": [
                {
                    "name": "repairs",
                    "host": oauth_dovecot.host,
                    "port": oauth_dovecot.port,
                    "security": "none",
                    "username": USER,
                    **oauth_keys(idp),
                }
            ],
        }
    )
    sender = CollectingSender(Channel.EMAIL)
    app = bootstrap(
        settings, engine=engine, classifier=KeywordClassifier(), senders=[sender],
        run_migrations=False,
    )  # fmt: skip

    from datetime import UTC, datetime

    from bot.web.api_tokens import add_token

    with engine.begin() as conn:  # /api/status needs credentials: a monitoring token
        _, token = add_token(conn, name="monitor", scope="read", now=datetime.now(UTC))
    auth = {"Authorization": f"Bearer {token}"}

    def status(url: str) -> dict[str, Any]:
        (box,) = httpx.get(f"{url}/api/status", headers=auth).json()["mailboxes"]
        return dict(box)

    def until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "condition not met in time"
            time.sleep(0.1)

    try:
        with serve_asgi(create_app(app), lifespan=True) as url:
            until(lambda: status(url)["state"] == "token_refused")
            box = status(url)
            assert box["ok"] is False and "invalid_client" in box["detail"]
            assert "consent" in box["advice"]
            from email.utils import formatdate

            fresh = mail(7).replace(b"Mon, 03 Mar 2025 10:00:00 +0000", formatdate().encode())
            oauth_dovecot.append(USER, fresh)  # dated now: inside the ACK-2 window
            idp.restore(APP)
            until(lambda: status(url)["state"] == "connected", timeout=40)
            until(lambda: len(sender.sent) == 1)
    finally:
        app.close()
    assert sender.sent[0].recipient == "resident7@example.org"
