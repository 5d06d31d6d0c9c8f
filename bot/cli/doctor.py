"""`doorstep doctor`: checks a configuration end to end and says what is ready and what to
fix, before residents find out.

It reads the settings, connects to the database, logs in to every mailbox, greets the SMTP
relay (and logs in), asks Twilio for the account when SMS is on, asks Rasa for its status
when it is set, and renders every message for every channel. Nothing is sent, nothing is
written to a mailbox, and the database is not migrated.

Exit status: 0 everything is ready; 1 something needs fixing (each line says what);
2 the settings themselves cannot be read (as every other command).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings import Mailbox, Settings

TIMEOUT = 10.0  # seconds for each network check: a doctor must not hang


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check the configuration end to end: what is ready, what to fix"
    )
    parser.add_argument(
        "--timeout", type=float, default=TIMEOUT, help="seconds for each network check"
    )
    parser.set_defaults(handler=_doctor)


@dataclass
class Finding:
    ok: bool
    what: str
    detail: str

    def line(self) -> str:
        return f"{'ready' if self.ok else 'FIX  '}  {self.what}: {self.detail}"


def _doctor(args: argparse.Namespace) -> int:
    from bot.cli.common import settings_from

    settings = settings_from(args)  # unreadable settings: one sentence, exit 2
    findings = run_checks(settings, timeout=args.timeout)
    for finding in findings:
        print(finding.line(), flush=True)
    broken = [f for f in findings if not f.ok]
    if broken:
        print(f"\n{len(broken)} to fix before Doorstep is ready.")
        return 1
    print("\nEverything checked is ready.")
    return 0


def run_checks(settings: Settings, *, timeout: float = TIMEOUT) -> list[Finding]:
    config = settings.config_file
    findings = [Finding(True, "settings", f"read from {config or 'the embedded defaults'}")]
    checks: list[Callable[[], list[Finding]]] = [
        lambda: _database(settings),
        lambda: _nlu(settings),
        lambda: _contact_details(settings),
        lambda: [_mailbox(m, timeout) for m in settings.email.mailboxes] or [_no_mailbox()],
        lambda: [_smtp(settings, timeout)],
        lambda: _sms(settings, timeout),
        lambda: _rasa(settings, timeout),
        lambda: _templates(settings),
    ]
    for check in checks:
        try:
            findings.extend(check())
        except Exception as exc:  # a check that breaks is itself something to fix
            findings.append(Finding(False, "doctor", f"a check failed unexpectedly: {exc!r}"))
    return findings


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def _database(settings: Settings) -> list[Finding]:
    import sqlalchemy as sa

    from bot.cli.errors import redacted_url
    from bot.storage.db import create_engine
    from bot.storage.tables_staff import staff_users

    where = redacted_url(settings.database_url)
    postgresql = settings.database_url.startswith("postgresql")
    try:
        engine = (
            create_engine(settings.database_url, connect_args={"connect_timeout": 5})
            if postgresql
            else create_engine(settings.database_url)
        )
    except Exception as exc:
        return [Finding(False, "database_url", f"{where}: {_first_line(exc)}")]
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            tables = set(sa.inspect(conn).get_table_names())
            if "staff_users" not in tables:
                return [
                    Finding(True, "database_url", f"{where} answers"),
                    Finding(
                        True,
                        "database schema",
                        "not created yet: `doorstep serve` creates it on its first start",
                    ),
                ]
            users = conn.execute(sa.select(sa.func.count()).select_from(staff_users)).scalar()
    except Exception as exc:
        return [Finding(False, "database_url", f"cannot connect to {where}: {_first_line(exc)}")]
    finally:
        engine.dispose()
    found = [Finding(True, "database_url", f"{where} answers; schema in place")]
    if not users:
        found.append(
            Finding(
                False,
                "staff users",
                "nobody can sign in yet: `doorstep user add you@landlord.example "
                '--name "Your Name" --role admin`',
            )
        )
    else:
        found.append(Finding(True, "staff users", f"{users} can sign in"))
    return found


def _nlu(settings: Settings) -> list[Finding]:
    if settings.nlu.engine == "rasa":
        return []  # checked with Rasa
    from bot.nlu.loader import is_current
    from bot.nlu.spacy_classifier import read_meta

    model, data = settings.nlu.model_dir, settings.nlu.data_dir
    if is_current(model, data):
        return [Finding(True, "nlu", f"model in {model} is current")]
    if data.is_dir() and any(data.rglob("*.yml")):  # Rasa layout: nlu_data/nlu/*.yml
        return [Finding(True, "nlu", f"will train from {data} on first start (about 20 s)")]
    if read_meta(model) is not None:
        return [Finding(True, "nlu", f"using the model in {model} (no training data in {data})")]
    return [
        Finding(False, "nlu.model_dir / nlu.data_dir", f"no model in {model} and no data in {data}")
    ]


def _contact_details(settings: Settings) -> list[Finding]:
    from bot.cli.startup import CONTACT_DETAILS

    unset = [key for key in CONTACT_DETAILS if not getattr(settings.organisation, key)]
    if not unset:
        return [Finding(True, "organisation", "every contact detail is set")]
    keys = ", ".join(f"organisation.{k}" for k in unset)
    return [Finding(True, "organisation", f"{keys} not set: messages leave those lines out")]


def _no_mailbox() -> Finding:
    return Finding(True, "email.mailboxes", "none: no email is read (set one to acknowledge email)")


def _mailbox(mailbox: Mailbox, timeout: float) -> Finding:
    from imapclient import IMAPClient, SocketTimeout
    from imapclient.exceptions import IMAPClientError, LoginError

    what = f"mailbox {mailbox.name} ({mailbox.username}@{mailbox.host}:{mailbox.port})"
    context = ssl.create_default_context()
    try:
        client = IMAPClient(
            mailbox.host,
            port=mailbox.port,
            ssl=mailbox.security == "ssl",
            ssl_context=context if mailbox.security == "ssl" else None,
            timeout=SocketTimeout(connect=timeout, read=timeout),
        )
    except (OSError, IMAPClientError) as exc:
        return Finding(False, what, f"cannot connect: {_first_line(exc)}")
    try:
        if mailbox.security == "starttls":
            client.starttls(context)
        client.login(mailbox.username, mailbox.password)
        status = client.select_folder(mailbox.folder, readonly=True)
        count = status.get(b"EXISTS", 0)
        idle = "IDLE" if client.has_capability("IDLE") else "no IDLE: polled"
        return Finding(True, what, f"logged in; {mailbox.folder} holds {count} mails ({idle})")
    except LoginError as exc:
        return Finding(False, what, f"login refused (username or password): {_first_line(exc)}")
    except (OSError, IMAPClientError) as exc:
        return Finding(False, what, f"{_first_line(exc)}")
    finally:
        try:
            client.logout()
        except Exception:
            client.shutdown()


def _smtp(settings: Settings, timeout: float) -> Finding:
    smtp = settings.email.smtp
    if smtp is None:
        return Finding(
            False,
            "email.smtp",
            "no SMTP relay: no email can be sent (acknowledgements, staff and complaints "
            "team notifications). Set email.smtp or DOORSTEP_SMTP_HOST",
        )
    what = f"email.smtp ({smtp.host}:{smtp.port}, {smtp.security})"
    import aiosmtplib

    async def greet() -> str:
        client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            local_hostname=socket.gethostname() or "localhost",
            use_tls=smtp.security == "ssl",
            start_tls=smtp.security == "starttls",
            timeout=timeout,
        )
        await client.connect()
        try:
            if smtp.username:
                await client.login(smtp.username, smtp.password or "")
                return "the relay answers and accepts the login"
            return "the relay answers (no login configured)"
        finally:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()

    try:
        return Finding(True, what, asyncio.run(greet()))
    except aiosmtplib.SMTPAuthenticationError as exc:
        return Finding(False, what, f"login refused (username or password): {exc.message}")
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return Finding(False, what, f"cannot talk to the relay: {_first_line(exc)}")


def _sms(settings: Settings, timeout: float) -> list[Finding]:
    if not settings.sms.enabled:
        return [Finding(True, "sms.enabled", "false: texts are neither received nor sent")]
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    from bot.settings import SettingsError
    from channels.sms.adapter import sender
    from channels.sms.sender import _RebasedHttpClient

    try:
        sender(settings)  # the secrets and numbers
    except SettingsError as exc:
        return [Finding(False, "sms", str(exc))]
    base = settings.sms.api_base_url
    http = _RebasedHttpClient(base, timeout) if base else TwilioHttpClient(timeout=timeout)
    client = Client(
        settings.twilio_account_sid, settings.twilio_auth_token, http_client=http, environment={}
    )
    try:
        account = client.api.v2010.accounts(settings.twilio_account_sid).fetch()
    except Exception as exc:
        return [Finding(False, "Twilio", f"the account cannot be read: {_first_line(exc)}")]
    return [Finding(True, "Twilio", f"account {account.friendly_name!r} is {account.status}")]


def _rasa(settings: Settings, timeout: float) -> list[Finding]:
    url = settings.rasa.url or (settings.nlu.rasa_url if settings.nlu.engine == "rasa" else None)
    if not url:
        return []
    import httpx

    try:
        response = httpx.get(f"{url.rstrip('/')}/status", timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        return [Finding(False, "rasa.url", f"{url} does not answer: {_first_line(exc)}")]
    model = response.json().get("model_file", "a model") if response.content else "a model"
    return [Finding(True, "rasa.url", f"{url} answers with {model}")]


def _templates(settings: Settings) -> list[Finding]:
    """Every message a resident can be sent, rendered for every channel, with the landlord's
    own templates (templates_dir) first."""
    from actions.acknowledge import AckContext, Composer

    composer = Composer(settings.organisation, settings.templates_dir)
    now = datetime.now(UTC)
    due = now + timedelta(days=2)
    problems: list[str] = []
    rendered = 0
    for channel in (None, "sms", "webchat"):
        for topic, urgency in (("repair", "emergency"), ("complaint", "routine"), ("asb", "high")):
            ctx = AckContext(
                reference="DS-2026-000001",
                topic=topic,
                urgency=urgency,
                owner_name="the Repairs team",
                deadline=due,
                now=now,
                resident_name="Sam",
                hazard_signposts=("gas",),
            )
            try:
                texts = [
                    composer.acknowledgement(ctx, channel=channel),
                    composer.complaint_procedure(
                        reference="DS-2026-000001",
                        stage1_ack_deadline=due,
                        stage1_response_days=10,
                        now=now,
                        channel=channel,
                    ),
                ]
            except Exception as exc:
                problems.append(f"{channel or 'email'}: {_first_line(exc)}")
                continue
            rendered += len(texts)
            for text in texts:
                if "example.org.uk" in text or "None" in text:
                    problems.append(f"{channel or 'email'}: a placeholder in the message")
    if problems:
        where = f" (templates_dir {settings.templates_dir})" if settings.templates_dir else ""
        return [Finding(False, f"templates{where}", "; ".join(sorted(set(problems))))]
    return [Finding(True, "templates", f"{rendered} messages render for email, SMS and web chat")]
