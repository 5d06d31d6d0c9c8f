"""What `doorstep serve` says when it starts: one logging setup, the useful addresses, the
next step, and every gap in the configuration that would otherwise only show later (a
channel with no sender, a contact detail left unset).

The words are built by plain functions from the settings and the database, so tests read
them without starting a server.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from bot.bootstrap import App
    from bot.settings import Settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Loggers that are chatty at INFO without telling an operator anything they can act on.
_QUIET_LOGGERS = ("alembic.runtime.plugins", "alembic.runtime.migration")

# Contact details a resident may be pointed to; unset ones are left out of every message.
CONTACT_DETAILS = ("website", "contact_email", "complaints_url", "self_service_url")


def configure_logging(level: str) -> None:
    """One handler on the root logger, so every line is printed once.

    spaCy installs a handler of its own on the `spacy` logger when it is imported; without
    this each of its lines would print twice (its handler, then ours through propagation).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
    spacy_logger = logging.getLogger("spacy")
    spacy_logger.propagate = False  # its own handler prints it, once
    if logging.getLogger().getEffectiveLevel() >= logging.INFO:
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


@dataclass
class Banner:
    """What start-up tells the operator: where things are, what to do next, what is off."""

    addresses: list[tuple[str, str]] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        width = max((len(label) for label, _ in self.addresses), default=0)
        lines = ["Doorstep is running."]
        lines += [f"  {label.ljust(width)}  {url}" for label, url in self.addresses]
        lines += [f"Next step: {step}" for step in self.next_steps]
        lines += [f"Warning: {warning}" for warning in self.warnings]
        return "\n".join(lines)


def base_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def configuration_gaps(settings: Settings, configured: set[str]) -> list[str]:
    """Sentences for every gap a resident or an officer would otherwise find later.

    `configured` is the channels that have a sender (email, sms, ...).
    """
    gaps: list[str] = []
    org = settings.organisation
    unset = [key for key in CONTACT_DETAILS if not getattr(org, key)]
    if unset:
        keys = ", ".join(f"organisation.{key}" for key in unset)
        gaps.append(f"{keys} not set: messages to residents leave those lines out.")
    if "email" not in configured:
        gaps.append(
            "no SMTP relay (email.smtp or DOORSTEP_SMTP_HOST): nothing can be sent by email, "
            "so email acknowledgements and staff notifications (complaints team) will fail."
        )
    if "email" in configured and settings.email.from_address.endswith("example.org.uk"):
        gaps.append(
            f"email.from_address is the placeholder {settings.email.from_address}: set the "
            "address residents' replies should go to."
        )
    if settings.email.mailboxes and "email" not in configured:
        gaps.append("mailboxes are watched but replies cannot be sent: set email.smtp.")
    if not settings.sms.enabled:
        gaps.append("SMS is off (sms.enabled): texts are neither received nor sent.")
    if not settings.email.mailboxes:
        gaps.append("no mailbox to watch (email.mailboxes or DOORSTEP_IMAP_HOST).")
    if "cy" in org.languages and org.ombudsman is None:
        gaps.append(
            "organisation.ombudsman not set: complaints letters name the Housing Ombudsman "
            "(England). A landlord in Wales sets ombudsman: pspow (docs/cymraeg.md)."
        )
    return gaps


def doorstep_command() -> str:
    """How to run `doorstep` from here: it is in the virtualenv, not on the PATH."""
    script = Path(sys.executable).parent / "doorstep"
    if not script.exists():
        return f"{sys.executable} -m bot"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def staff_user_count(engine: sa.Engine) -> int:
    from bot.storage.tables_staff import staff_users

    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(staff_users)).scalar_one())


def banner(app: App, host: str, port: int) -> Banner:
    settings = app.settings
    url = base_url(host, port)
    shown = Banner()
    if settings.webchat.enabled and settings.webchat.demo_page:
        shown.addresses.append(("Resident demo and web chat:", f"{url}/"))
    shown.addresses.append(("Staff sign-in:", f"{url}/staff/login"))
    shown.addresses.append(("Health check:", f"{url}/healthz"))
    config = settings.config_file
    shown.addresses.append(("Configuration:", str(config) if config else "(embedded defaults)"))
    from bot.cli.errors import redacted_url

    shown.addresses.append(("Database:", redacted_url(settings.database_url)))
    if staff_user_count(app.engine) == 0:
        shown.next_steps.append(
            "no staff user yet. Create the first admin (it asks for a password):\n"
            f'    {doorstep_command()} user add you@landlord.example --name "Your Name" '
            "--role admin"
        )
    configured = {str(channel) for channel in ("email", "sms") if _has_sender(app, channel)}
    shown.warnings.extend(configuration_gaps(settings, configured))
    return shown


def _has_sender(app: App, channel: str) -> bool:
    from bot.domain.model import Channel

    return Channel(channel) in app.senders
