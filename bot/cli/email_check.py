"""`doorstep email check`: try the configured mailboxes and relay, say what works and what to
fix, in plain words for a landlord's IT team. It sends nothing and changes nothing: the
folder is opened read-only, an SMTP session ends before MAIL FROM, and a Graph subscription
made for the test is deleted at once.

    $ doorstep email check
    Mailbox repairs (imap, oauth2 microsoft)
      ok    access token from microsoft (valid for 59 minutes)
      ok    IMAP login to outlook.office365.com:993 with XOAUTH2; INBOX has 12 messages
      ok    IDLE: new mail is seen within seconds
    SMTP relay smtp.office365.com:587 (oauth2)
      ok    connected and logged in (nothing sent)
    Everything works.

Exit status 0 when everything works, 1 when something needs fixing.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings import Mailbox, Settings
    from channels.email.oauth import TokenCache


def register_check(sub: Any) -> None:
    check = sub.add_parser(
        "check", help="try the configured mailboxes and SMTP relay; say what to fix (sends nothing)"
    )
    check.add_argument(
        "--no-subscription",
        action="store_true",
        help="Graph: do not try a change-notification subscription (serve is not running)",
    )
    check.set_defaults(handler=_check)


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    problems: int = 0

    def heading(self, text: str) -> None:
        self.lines.append(text)

    def ok(self, text: str) -> None:
        self.lines.append(f"  ok    {text}")

    def warn(self, text: str, fix: str | None = None) -> None:
        self.lines.append(f"  note  {text}")
        if fix:
            self.lines.append(f"        {fix}")

    def fail(self, text: str, fix: str) -> None:
        self.problems += 1
        self.lines.append(f"  FAIL  {text}")
        self.lines.append(f"        To fix: {fix}")


def _check(args: argparse.Namespace) -> int:
    from bot.cli.common import settings_from

    settings = settings_from(args)
    report = run_checks(settings, subscription=not args.no_subscription)
    print("\n".join(report.lines), flush=True)
    return 0 if report.problems == 0 else 1


def run_checks(settings: Settings, *, subscription: bool = True) -> Report:
    report = Report()
    if not settings.email.mailboxes and settings.email.smtp is None:
        report.fail(
            "no mailbox and no SMTP relay are configured",
            "add email.mailboxes and email.smtp to config.yml, or set DOORSTEP_IMAP_HOST...",
        )
        return report
    for mailbox in settings.email.mailboxes:
        auth = f"{mailbox.auth} {mailbox.provider}" if mailbox.auth == "oauth2" else "password"
        report.heading(f"Mailbox {mailbox.name} ({mailbox.intake}, {auth})")
        if mailbox.intake == "graph":
            asyncio.run(_check_graph(settings, mailbox, report, subscription=subscription))
        else:
            _check_imap(mailbox, report)
    _check_sending(settings, report)
    report.heading(
        "Everything works."
        if report.problems == 0
        else f"{report.problems} thing(s) to fix (see FAIL above)."
    )
    return report


def _check_token(cache: TokenCache, provider: str | None, report: Report) -> bool:
    from channels.email.oauth import TokenRefused, TokenUnavailable

    try:
        token = cache.get()
    except TokenRefused as exc:
        report.fail(
            f"{provider} refused to give an access token: {exc}",
            _TOKEN_FIX.get(provider or "", _TOKEN_FIX["generic"]),
        )
        return False
    except TokenUnavailable as exc:
        report.fail(
            f"could not reach {provider}'s sign-in service: {exc}",
            "check this server can make HTTPS connections to it (firewall, proxy).",
        )
        return False
    minutes = max(0, int((token.expires_at - time.time()) // 60))
    report.ok(f"access token from {provider} (valid for {minutes} minutes)")
    return True


_TOKEN_FIX = {
    "microsoft": (
        "in Entra ID (App registrations > your app) check the tenant and client id, that the "
        "client secret has not expired (Certificates & secrets), and that an administrator "
        "granted consent to the API permissions."
    ),
    "google": (
        "check the service account key file, and that domain-wide delegation is set up for "
        "its client id with the scope https://mail.google.com/ (Admin console > Security > "
        "API controls)."
    ),
    "generic": "check token_url, client_id and client_secret with your mail provider.",
}


def _check_imap(mailbox: Mailbox, report: Report) -> None:
    from channels.email.imap import LoginRefused, MailboxUnavailable, probe
    from channels.email.oauth import TokenError
    from channels.email.wiring import imap_mailbox_settings

    settings = imap_mailbox_settings(mailbox)
    if settings.tokens is not None and not _check_token(settings.tokens, mailbox.provider, report):
        return
    where = f"{mailbox.host}:{mailbox.port}"
    try:
        result = probe(settings)
    except TokenError as exc:  # already checked above; a refusal between the two
        report.fail(f"no access token: {exc}", _TOKEN_FIX.get(mailbox.provider or "", ""))
        return
    except LoginRefused as exc:
        fix = (
            "the app has a token but may not open this mailbox. Exchange Online: "
            "New-ServicePrincipal and Add-MailboxPermission (docs/email.md); Google: the "
            "service account's delegation must include https://mail.google.com/."
            if mailbox.auth == "oauth2"
            else "check the username and password (Microsoft 365 and Google need OAuth: "
            "auth: oauth2)."
        )
        report.fail(f"IMAP login to {where} refused: {exc}", fix)
        return
    except MailboxUnavailable as exc:
        report.fail(
            f"IMAP server {where} not usable: {exc}",
            f"check host, port and security ({mailbox.security}), and folder "
            f"{mailbox.folder!r}; is the server reachable from here?",
        )
        return
    finally:
        if settings.tokens is not None:
            settings.tokens.close()
    report.ok(
        f"IMAP login to {where} with {result.mechanism}; {mailbox.folder} has "
        f"{result.messages} message(s)"
    )
    if result.idle:
        report.ok("IDLE: new mail is seen within seconds")
    else:
        report.warn(
            "the server does not offer IDLE",
            f"new mail will be looked for every {mailbox.rescan_interval:.0f} seconds.",
        )


async def _check_graph(
    settings: Settings, mailbox: Mailbox, report: Report, *, subscription: bool
) -> None:
    from channels.email.graph import GraphRefused, GraphUnavailable
    from channels.email.wiring import graph_client_factory, graph_folder

    folder = graph_folder(mailbox)
    client = graph_client_factory(mailbox)()
    try:
        if not await asyncio.to_thread(_check_token, client.tokens, mailbox.provider, report):
            return
        try:
            items, _ = await client.delta(folder, None)
        except GraphRefused as exc:
            report.fail(
                f"Graph refused to read {mailbox.username}: {exc}",
                "grant the app the Graph application permission Mail.ReadWrite (admin "
                "consent), and if you limit it with an application access policy, include "
                "this mailbox.",
            )
            return
        except GraphUnavailable as exc:
            report.fail(f"Graph not reachable: {exc}", f"check graph_url ({mailbox.graph_url}).")
            return
        report.ok(f"Graph can read {folder}: {len(items)} message(s) there")
        if not subscription:
            report.warn("change notifications not tried (--no-subscription)")
            return
        base = settings.public_url.rstrip("/")
        url = f"{base}/webhooks/graph/{mailbox.name}"
        try:
            sub = await client.subscribe(folder, url, f"{url}/lifecycle", "check", 10)
        except (GraphRefused, GraphUnavailable) as exc:
            report.fail(
                f"Graph could not create a change-notification subscription: {exc}",
                f"Graph must reach {url} over HTTPS: set public_url to this server's public "
                "address and run `doorstep serve`. Without it mail still arrives, every "
                f"{mailbox.graph_resync_seconds:.0f} seconds, by delta query.",
            )
            return
        await client.unsubscribe(sub)
        report.ok(f"Graph change notifications reach {url} (test subscription deleted)")
    finally:
        await client.aclose()
        client.tokens.close()


def _check_sending(settings: Settings, report: Report) -> None:
    email = settings.email
    if email.sender == "graph":
        report.heading("Sending with Microsoft Graph")
        report.ok("sending uses the Graph mailbox's token (permission Mail.Send); nothing was sent")
        return
    smtp = email.smtp
    if smtp is None:
        report.heading("Sending")
        report.fail(
            "no SMTP relay is configured: acknowledgements cannot be sent",
            "set email.smtp (or DOORSTEP_SMTP_HOST), or email.sender: graph.",
        )
        return
    report.heading(f"SMTP relay {smtp.host}:{smtp.port} ({smtp.auth})")
    asyncio.run(_check_smtp(settings, report))


async def _check_smtp(settings: Settings, report: Report) -> None:
    import aiosmtplib

    from channels.email.oauth import TokenError
    from channels.email.wiring import smtp_oauth_fields, token_cache

    smtp = settings.email.smtp
    assert smtp is not None
    fields = smtp_oauth_fields(settings)
    tokens = token_cache(fields, username=smtp.username or "") if fields else None
    if tokens is not None and not await asyncio.to_thread(
        _check_token, tokens, fields.provider if fields else None, report
    ):
        return
    token_for: Callable[[], Any] | None = None
    if tokens is not None:
        cache = tokens

        async def token_for() -> str:
            return (await asyncio.to_thread(cache.get)).value

    client = aiosmtplib.SMTP(
        hostname=smtp.host,
        port=smtp.port,
        username=smtp.username or None,
        password=smtp.password if smtp.username and tokens is None else None,
        oauth_token_generator=token_for,
        use_tls=smtp.security == "ssl",
        start_tls=smtp.security == "starttls",
        timeout=min(smtp.timeout, 15.0),
    )
    try:
        await client.connect()
    except aiosmtplib.SMTPAuthenticationError as exc:
        report.fail(
            f"the relay refused the login: {exc.code} {exc.message}",
            "Microsoft 365: grant SMTP.SendAsApp and allow SMTP AUTH for the mailbox "
            "(Set-CASMailbox -SmtpClientAuthenticationDisabled $false); otherwise check the "
            "user and password.",
        )
        return
    except (aiosmtplib.SMTPException, OSError, TimeoutError, TokenError) as exc:
        report.fail(
            f"could not use the relay: {type(exc).__name__}: {exc}",
            "check host, port and security (ssl for 465, starttls for 587).",
        )
        return
    finally:
        if tokens is not None:
            tokens.close()
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        client.close()
    how = "logged in" if smtp.username else "connected (no login configured)"
    report.ok(f"{how}; nothing sent")
