"""What the assistant says: acknowledgements, out-of-office receipts and the complaints
procedure, rendered from Jinja2 templates a landlord can override (`templates_dir`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import jinja2

from actions.wording import date_in_words, deadline_in_words
from bot.domain.safety import DANGER_ADVICE, GAS_EMERGENCY, what_to_do_now
from bot.settings import Organisation

DEFAULT_TEMPLATES = Path(__file__).with_name("templates")
OMBUDSMAN_URL = "https://www.housing-ombudsman.org.uk"


@dataclass(frozen=True, slots=True)
class AwayOfficer:
    name: str
    back: date


@dataclass(frozen=True, slots=True)
class AckContext:
    reference: str
    topic: str
    urgency: str
    owner_name: str  # the team (or person) who owns the case: HANDOFF, "who owns it"
    deadline: datetime
    now: datetime
    resident_name: str | None = None
    hazard_signposts: tuple[str, ...] = ()  # "gas", "999", "emergency_repairs"
    hazards: tuple[str, ...] = ()  # hazard rule names ("water_electrics"): safety advice
    officer_away: AwayOfficer | None = None
    cover_name: str | None = None
    office_open: bool = True
    extra: dict[str, str] = field(default_factory=dict)


class Composer:
    def __init__(self, organisation: Organisation, templates_dir: Path | None = None) -> None:
        self.org = organisation
        loaders: list[jinja2.BaseLoader] = []
        if templates_dir is not None:
            loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
        loaders.append(jinja2.FileSystemLoader(str(DEFAULT_TEMPLATES)))
        # Plain text: no HTML escaping, but StrictUndefined so a template typo fails loudly.
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def _common(self) -> dict[str, object]:
        return {
            "organisation": self.org.name,
            "phone": self.org.phone,
            "emergency_phone": self.org.emergency_phone,
            "contact_email": self.org.contact_email,
            "opening_hours": self.org.opening_hours_text,
            "website": self.org.website,
            "self_service_url": self.org.self_service_url,
            "complaints_url": self.org.complaints_url,
            "ombudsman_url": OMBUDSMAN_URL,
            "gas_phone": GAS_EMERGENCY,
        }

    def signposts(self, ctx: AckContext) -> list[str]:
        """Where to go now, fitting the topic and urgency (EMERGENCY, AUTO-ACK)."""
        # What to do now comes first, from the one set of safety advice.
        lines = what_to_do_now(ctx.hazards, ctx.hazard_signposts)
        if ctx.topic == "asb" and DANGER_ADVICE not in lines:
            lines.append(DANGER_ADVICE)
        if ctx.topic == "asb":
            lines.append("To report a crime that is not an emergency, call the police on 101.")
        if ctx.urgency == "emergency" or "emergency_repairs" in ctx.hazard_signposts:
            lines.append(
                f"For an emergency repair, call our 24-hour line on {self.org.emergency_phone}. "
                "Do not wait for our reply."
            )
        elif not ctx.office_open and ctx.topic == "repair":
            lines.append(
                "Our office is closed now. For an emergency repair, call "
                f"{self.org.emergency_phone} at any time."
            )
        return lines

    def _template(self, name: str, channel: str | None) -> jinja2.Template:
        """`name` with the channel's own variant first (acknowledgement.sms.txt.j2)."""
        stem, _, rest = name.partition(".")
        names = [f"{stem}.{channel}.{rest}"] if channel else []
        return self.env.select_template([*names, name])

    def acknowledgement(self, ctx: AckContext, *, channel: str | None = None) -> str:
        template = self._template("acknowledgement.txt.j2", channel)
        away = None
        if ctx.officer_away is not None:
            away = {
                "name": ctx.officer_away.name,
                "back": date_in_words(ctx.officer_away.back, today=ctx.now.date()),
            }
        text = template.render(
            **self._common(),
            reference=ctx.reference,
            topic=ctx.topic,
            urgency=ctx.urgency,
            owner_name=ctx.owner_name,
            deadline=deadline_in_words(ctx.deadline, now=ctx.now),
            resident_name=ctx.resident_name,
            signposts=self.signposts(ctx),
            officer_away=away,
            cover_name=ctx.cover_name or ctx.owner_name,
            **ctx.extra,
        )
        return _tidy(text)

    def complaint_procedure(
        self,
        *,
        reference: str,
        stage1_ack_deadline: datetime,
        stage1_response_days: int,
        now: datetime,
        resident_name: str | None = None,
        channel: str | None = None,
    ) -> str:
        template = self._template("complaint_procedure.txt.j2", channel)
        return _tidy(
            template.render(
                **self._common(),
                reference=reference,
                resident_name=resident_name,
                stage1_ack_deadline=deadline_in_words(stage1_ack_deadline, now=now),
                stage1_response_days=stage1_response_days,
            )
        )

    def render(self, name: str, *, channel: str | None = None, **values: object) -> str:
        """Any other template (channels and later actions use this)."""
        return _tidy(self._template(name, channel).render({**self._common(), **values}))


# "the" opening a line or following the end of a sentence: a team name (`team_in_words`)
# put where a sentence starts.
_SENTENCE_THE = re.compile(r"(^|[.!?]\s+)the\b", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def without_repeats(*parts: str) -> str:
    """Join message parts, dropping any sentence already said (CONTACT, plain language: a
    closed office or the emergency line is said once, however many parts mention it)."""
    seen: set[str] = set()
    lines: list[str] = []
    for part in parts:
        for line in part.strip().splitlines():
            kept = []
            for sentence in _SENTENCE_END.split(line.strip()):
                key = " ".join(sentence.split()).casefold()
                if key and key not in seen:
                    seen.add(key)
                    kept.append(sentence)
            if kept:
                lines.append(" ".join(kept))
    return "\n".join(lines)


def _tidy(text: str) -> str:
    """Collapse the blank lines optional template blocks leave behind; capitalise a
    sentence that starts with a team's name ('The Repairs team will reply ...')."""
    text = _SENTENCE_THE.sub(lambda m: f"{m.group(1)}The", text)
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and out and not out[-1]:
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def acknowledgement_subject(original: str | None, reference: str) -> str:
    """Keep the resident's subject and add the reference, so replies find the thread."""
    base = (original or "").strip() or "Your message"
    if reference in base:
        return base if base.lower().startswith("re:") else f"Re: {base}"
    return f"Re: {base} [{reference}]"
