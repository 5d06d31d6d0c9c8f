"""What the assistant says: acknowledgements, out-of-office receipts and the complaints
procedure, rendered from Jinja2 templates a landlord can override (`templates_dir`).

Every message can be written in English, in Welsh (`templates/cy/`, the same names), or in
both (a `Voice` from actions/languages.py says which, and in what order); a resident who
writes in another language gets one line in it on how to ask for an interpreter (ACCESS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import jinja2

from actions import cymraeg
from actions.languages import ENGLISH_ONLY, WELSH, Voice, interpreter_line
from actions.wording import date_in_words, deadline_in_words
from bot.domain.safety import DANGER_ADVICE, GAS_EMERGENCY, what_to_do_now
from bot.settings import Organisation

DEFAULT_TEMPLATES = Path(__file__).with_name("templates")
OMBUDSMAN_URL = "https://www.housing-ombudsman.org.uk"


@dataclass(frozen=True, slots=True)
class Ombudsman:
    """The ombudsman a resident can take a complaint to (COMPLAINT), as the letters name it.

    Welsh puts the preposition and article with the name: "â'r Ombwdsmon Tai" but "ag
    Ombwdsmon Gwasanaethau Cyhoeddus Cymru" (a name ending in "Cymru" takes no article)."""

    name: str  # after "contact" or "ask": "the Housing Ombudsman"
    url: str
    phone: str
    with_cy: str  # after "cysylltu"
    to_cy: str  # after "gofyn"
    url_cy: str


OMBUDSMEN = {
    "housing-ombudsman": Ombudsman(
        name="the Housing Ombudsman",
        url=OMBUDSMAN_URL,
        phone="0300 111 3000",
        with_cy="â'r Ombwdsmon Tai",
        to_cy="i'r Ombwdsmon Tai",
        url_cy=OMBUDSMAN_URL,
    ),
    # A landlord in Wales (organisation.ombudsman: pspow).
    "pspow": Ombudsman(
        name="the Public Services Ombudsman for Wales",
        url="https://www.ombudsman.wales",
        phone="0300 790 0203",
        with_cy="ag Ombwdsmon Gwasanaethau Cyhoeddus Cymru",
        to_cy="i Ombwdsmon Gwasanaethau Cyhoeddus Cymru",
        url_cy="https://www.ombwdsmon.cymru",
    ),
}
# The ombudsman's details come from the landlord's setting, whatever a caller passes.
_OMBUDSMAN_KEYS = frozenset({"ombudsman", "ombudsman_url", "ombudsman_phone"})


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
            "ombudsman": self.ombudsman.name,
            "ombudsman_url": self.ombudsman.url,
            "ombudsman_phone": self.ombudsman.phone,
            "gas_phone": GAS_EMERGENCY,
        }

    @property
    def ombudsman(self) -> Ombudsman:
        """organisation.ombudsman; unset, the Housing Ombudsman (start-up warns in Wales)."""
        return OMBUDSMEN[self.org.ombudsman or "housing-ombudsman"]

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

    def acknowledgement(
        self, ctx: AckContext, *, channel: str | None = None, voice: Voice | None = None
    ) -> str:
        voice = voice or ENGLISH_ONLY
        values: dict[str, object] = dict(
            reference=ctx.reference,
            topic=ctx.topic,
            urgency=ctx.urgency,
            resident_name=ctx.resident_name,
            **ctx.extra,
        )
        texts: list[tuple[str, str]] = []
        for language in voice.languages:
            if language == WELSH:
                text = self._acknowledgement_cy(ctx, channel, values)
            else:
                text = self._acknowledgement_en(ctx, channel, values)
            if text is not None:
                texts.append((language, text))
        return self._compose(texts, voice, channel)

    def _acknowledgement_en(
        self, ctx: AckContext, channel: str | None, values: dict[str, object]
    ) -> str:
        away = None
        if ctx.officer_away is not None:
            away = {
                "name": ctx.officer_away.name,
                "back": date_in_words(ctx.officer_away.back, today=ctx.now.date()),
            }
        template = self._template("acknowledgement.txt.j2", channel)
        return _tidy(
            template.render(
                **self._common(),
                **values,
                owner_name=ctx.owner_name,
                deadline=deadline_in_words(ctx.deadline, now=ctx.now),
                signposts=self.signposts(ctx),
                officer_away=away,
                cover_name=ctx.cover_name or ctx.owner_name,
            )
        )

    def _acknowledgement_cy(
        self, ctx: AckContext, channel: str | None, values: dict[str, object]
    ) -> str | None:
        template = self._welsh_template("acknowledgement.txt.j2", channel)
        if template is None:
            return None
        away = None
        if ctx.officer_away is not None:
            away = {
                "name": ctx.officer_away.name,
                # "tan ddydd Llun": "tan" takes the soft mutation.
                "back": cymraeg.date_in_words(
                    ctx.officer_away.back, today=ctx.now.date(), mutated=True
                ),
            }
        names = self.org.welsh_names
        return _tidy_cy(
            template.render(
                **self._common_cy(),
                **values,
                owner_name=cymraeg.name(ctx.owner_name, names),
                deadline=cymraeg.deadline_in_words(ctx.deadline, now=ctx.now),
                signposts=[self._signpost_cy(line) for line in self.signposts(ctx)],
                officer_away=away,
                cover_name=cymraeg.name(ctx.cover_name or ctx.owner_name, names),
            )
        )

    def complaint_procedure(
        self,
        *,
        reference: str,
        stage1_ack_deadline: datetime,
        stage1_response_days: int,
        now: datetime,
        resident_name: str | None = None,
        channel: str | None = None,
        voice: Voice | None = None,
    ) -> str:
        voice = voice or ENGLISH_ONLY
        values = dict(
            reference=reference,
            resident_name=resident_name,
            stage1_response_days=stage1_response_days,
        )
        texts: list[tuple[str, str]] = []
        for language in voice.languages:
            if language == WELSH:
                template = self._welsh_template("complaint_procedure.txt.j2", channel)
                if template is None:
                    continue
                deadline = cymraeg.deadline_in_words(stage1_ack_deadline, now=now)
                text = _tidy_cy(
                    template.render(**self._common_cy(), **values, stage1_ack_deadline=deadline)
                )
            else:
                template = self._template("complaint_procedure.txt.j2", channel)
                deadline = deadline_in_words(stage1_ack_deadline, now=now)
                text = _tidy(
                    template.render(**self._common(), **values, stage1_ack_deadline=deadline)
                )
            texts.append((language, text))
        return self._compose(texts, voice.without_offer(), channel)

    def render(
        self, name: str, *, channel: str | None = None, voice: Voice | None = None, **values: object
    ) -> str:
        """Any other template (channels and later actions use this).

        A template with a member of staff's own words in it (`_OWN_WORDS`) is written in the
        voice's first language only: their words are said once, and the wrapper is in the
        language the resident is answered in."""
        voice = voice or ENGLISH_ONLY
        values = {key: value for key, value in values.items() if key not in _OMBUDSMAN_KEYS}
        own_words = any(isinstance(values.get(key), str) and values[key] for key in _OWN_WORDS)
        languages = voice.languages[:1] if own_words else voice.languages
        texts: list[tuple[str, str]] = []
        for language in languages:
            if language == WELSH:
                template = self._welsh_template(name, channel)
                if template is None:
                    continue
                text = _tidy_cy(template.render({**self._common_cy(), **self._values_cy(values)}))
            else:
                text = _tidy(self._template(name, channel).render({**self._common(), **values}))
            texts.append((language, text))
        if not texts:  # no Welsh template for a Welsh-only voice: English beats nothing
            texts.append(
                ("en", _tidy(self._template(name, channel).render({**self._common(), **values})))
            )
        return self._compose(texts, voice.without_offer(), channel)

    # ---- Welsh -----------------------------------------------------------------------------

    def _welsh_template(self, name: str, channel: str | None) -> jinja2.Template | None:
        try:
            return self._template(f"{WELSH}/{name}", channel)
        except jinja2.TemplateNotFound:
            return None

    def _common_cy(self) -> dict[str, object]:
        org = self.org
        return {
            **self._common(),
            "ombudsman_with": self.ombudsman.with_cy,
            "ombudsman_to": self.ombudsman.to_cy,
            "ombudsman_url": self.ombudsman.url_cy,
            "organisation": org.welsh_name or org.name,
            "opening_hours": org.opening_hours_text_cy or cymraeg.phrase(org.opening_hours_text),
        }

    def _signpost_cy(self, line: str) -> str:
        if "24-hour line on " in line:
            return cymraeg.emergency_repair_line(self.org.emergency_phone)
        if "office is closed" in line:
            return cymraeg.office_closed_line(self.org.emergency_phone)
        return cymraeg.safety_line(line, gas_phone=GAS_EMERGENCY)

    def _values_cy(self, values: dict[str, object]) -> dict[str, object]:
        """The values callers pass in English words, in Welsh (dates, deadlines, team
        names, trades, signposts); staff's own words are left as they wrote them."""
        out = dict(values)
        for key, value in values.items():
            if not isinstance(value, str):
                continue
            if key in _WELSH_PHRASES:
                out[key] = cymraeg.phrase(value)
            elif key in _WELSH_NAMES:
                out[key] = cymraeg.name(value, self.org.welsh_names)
            elif key == "trade":
                out[key] = cymraeg.trade(value)
            elif key == "question":
                out[key] = cymraeg.question(value)
            elif key == "staff_name" and value in _OUR_WORDS:
                out[key] = _OUR_WORDS[value]
        for key in ("signposts", "advice"):  # our safety advice, line by line
            lines = values.get(key)
            if isinstance(lines, list | tuple):
                out[key] = [self._signpost_cy(str(line)) for line in lines]
        return out

    # ---- putting the languages together ----------------------------------------------------

    def _compose(self, texts: list[tuple[str, str]], voice: Voice, channel: str | None) -> str:
        """One message from its language versions: in the voice's order, a line said in
        both (a web address, the landlord's name) said once, at the end; the interpreter
        line on top of the English; the language question last."""
        if voice.interpreter is not None:
            line = interpreter_line(voice.interpreter, self.org.phone)
            if line is not None:
                texts = [
                    (lang, f"{line}\n\n{text}" if lang == "en" else text) for lang, text in texts
                ]
        blocks = [text.strip().splitlines() for _, text in texts]
        for n, block in enumerate(blocks):
            later = {line.strip() for other in blocks[n + 1 :] for line in other if line.strip()}
            blocks[n] = _squeeze([line for line in block if line.strip() not in later])
        gap = "\n" if channel == "sms" else "\n\n"
        parts = ["\n".join(block).strip() for block in blocks if block]
        if voice.offer:
            offers = [_OFFER[(lang, _offer_channel(channel))] for lang, _ in texts]
            parts.append("\n".join(dict.fromkeys(offers)))
        return gap.join(parts) + "\n"


# Values that are a person's own words (a reply, a summary, a reason): said once.
_OWN_WORDS = ("body", "summary", "note", "reason", "outcome", "answer")

# Values callers pass in our own English words, and names (teams) the Welsh can rename.
_WELSH_PHRASES = frozenset(
    {
        "deadline",
        "stage1_ack_deadline",
        "when",
        "old_when",
        "back",
        "preferred",
        "opening_hours",
        "within",
    }
)
_WELSH_NAMES = frozenset({"owner_name", "cover_name", "team", "team_name", "handler_name"})
# Our own English words a caller may pass for a name it does not know (bot/service/live.py).
_OUR_WORDS = {"Our officer": "ein swyddog"}  # after "Mae": never a sentence start

# The question on the first reply (Welsh Language Standards: ask the preference and record
# it). Each channel names the way its residents answer: a word by text or email; in the
# chat the word is typed (or the widget's Cymraeg button sends it).
_OFFER = {
    # By text both languages share one line: every character counts (docs/cymraeg.md).
    ("cy", "sms"): "Cymraeg? Atebwch CYMRAEG. English? Reply ENGLISH.",
    ("en", "sms"): "Cymraeg? Atebwch CYMRAEG. English? Reply ENGLISH.",
    ("cy", "webchat"): "Hoffech chi sgwrsio yn Gymraeg? Teipiwch CYMRAEG neu ENGLISH.",
    ("en", "webchat"): "Would you like to chat in Welsh? Type CYMRAEG or ENGLISH.",
    ("cy", "email"): (
        "Hoffech chi gael ein negeseuon yn Gymraeg neu yn Saesneg? "
        "Atebwch gyda'r gair CYMRAEG neu ENGLISH."
    ),
    ("en", "email"): (
        "Would you like our messages in Welsh or in English? "
        "Reply with the word CYMRAEG or ENGLISH."
    ),
}


def _offer_channel(channel: str | None) -> str:
    if channel in ("sms", "webchat"):
        return channel
    return "email"  # letters, email and social private messages answer with a word


def _squeeze(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if not line.strip() and (not out or not out[-1].strip()):
            continue
        out.append(line)
    while out and not out[-1].strip():
        out.pop()
    return out


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


_SENTENCE_Y = re.compile(r"(^|[.!?]\s+)y\b", re.MULTILINE)


def _tidy_cy(text: str) -> str:
    """`_tidy` for Welsh: a sentence that starts with a team ('y tîm Atgyweirio') gets a
    capital ('Y tîm Atgyweirio')."""
    return _tidy(_SENTENCE_Y.sub(lambda m: f"{m.group(1)}Y", text))


def acknowledgement_subject(original: str | None, reference: str) -> str:
    """Keep the resident's subject and add the reference, so replies find the thread."""
    base = (original or "").strip() or "Your message"
    if reference in base:
        return base if base.lower().startswith("re:") else f"Re: {base}"
    return f"Re: {base} [{reference}]"
