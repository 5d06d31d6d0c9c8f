"""The queue read at a glance (issue 18): what each row says in words, from stored values.

Pure functions, no I/O: the first words of a message, the classifier's flags (hazards, needs,
language, low confidence), and names for promises, teams, channels and topics instead of the
ids the database keeps. `queries.queue_page` calls them for the rows of one page.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actions.languages import short_language_name
from channels.email.quotes import strip_quotes
from sla.policies import Policy

FIRST_WORDS_CHARS = 140  # about two lines of a phone-width card
# Characters of the first message read from the database for its first words: enough to get
# past a quoted reply a mail client put first, small enough for a page of 50 rows.
FIRST_MESSAGE_CHARS = 2000
# The classifier's best topic held less than this share of its probability: staff check
# the routing (docs/nlu.md: `confidence`). 1.0 means a rule decided.
LOW_CONFIDENCE = 0.5

CHANNEL_NAMES = {"email": "Email", "sms": "SMS", "webchat": "Web chat", "social": "Social media"}
TOPIC_NAMES = {
    "repair": "Repair",
    "asb": "Antisocial behaviour",
    "complaint": "Complaint",
    "general": "General enquiry",
}

# The presets' names as an officer says them (sla/policies.py: PRESETS); a landlord's own
# policy shows its summary.
PROMISE_NAMES = {
    "email-ack-now": "Email acknowledgement",
    "ack-2": "Acknowledgement",
    "respond-10": "Full response ('2-ten')",
    "respond-10-holding": "Update on what happens next ('2-ten')",
    "email-3": "Email reply",
    "email-urgent-1": "Urgent email reply",
    "handoff-3": "Reply from the team",
    "handoff-urgent-1": "Urgent reply from the team",
    "asb-urgent-1": "Urgent ASB report",
    "asb-routine-5": "ASB report",
    "voicemail": "Voicemail answer",
    "social": "Social media answer",
    "letter-10": "Letter answer",
    "written-simple-3": "Simple written query",
    "written-complex-10": "Complex written query",
    "complaint-procedure-1": "Send the complaints procedure",
    "complaint-stage1-ack": "Acknowledge stage 1 complaint",
    "complaint-stage1-response": "Stage 1 complaint answer",
    "complaint-stage2-ack": "Acknowledge stage 2 complaint",
    "complaint-stage2-response": "Stage 2 complaint answer",
    "after-job-2": "Call back after a job",
    "awaab-emergency": "Awaab's Law: make safe",
    "awaab-investigate": "Awaab's Law: investigate",
    "awaab-summary": "Awaab's Law: written summary",
    "sar": "Subject access request",
}

HAZARD_NAMES = {
    "gas": "Gas",
    "carbon_monoxide": "Carbon monoxide",
    "fire": "Fire",
    "flooding": "Flooding",
    "water_electrics": "Water near electrics",
    "electrics": "Dangerous electrics",
    "no_power": "No power",
    "no_water": "No water",
    "sewage": "Sewage",
    "only_toilet": "Only toilet not working",
    "insecure_home": "Home not secure",
    "structure": "Unsafe structure",
    "lift": "Lift failure",
    "lift_out": "Lift out of order",
    "fire_alarm": "Fire alarm fault",
    "call_system": "Alarm call system down",
    "communal_lighting": "Communal lights out",
    "locked_in_out": "Locked in or out",
    "no_gas_supply": "No gas supply",
    "no_heating": "No heating",
    "no_heating_winter": "No heating in winter",
    "partial_power": "Partial power loss",
    "leak": "Leak",
    "no_heating_vulnerable": "No heating, vulnerable resident",
    "damp_mould_health": "Damp and mould affecting health",
    "self_harm": "Risk of self-harm",
    "danger_to_life": "Danger to life",
    "violence": "Violence",
    "threat": "Threats",
    "hate_crime": "Hate crime",
    "domestic_abuse": "Domestic abuse",
    "cuckooing": "Cuckooing",
    "harassment": "Harassment",
}

NEED_NAMES = {
    "elderly": "Older resident",
    "disabled": "Disabled resident",
    "pregnant": "Pregnancy",
    "child": "A child",
    "medical_equipment": "Medical equipment",
    "abusive": "Abusive words",
    "interpreter": "Needs an interpreter",
}


@dataclass(frozen=True, slots=True)
class Flag:
    """One thing to notice about a message. `kind` is hazard, need, language or unsure (the
    CSS class); `text` says it in words, so colour is never the only sign."""

    kind: str
    text: str


def _words(value: str) -> str:
    """An id as words when there is no name for it: 'water_electrics' -> 'Water electrics'."""
    return value.replace("_", " ").replace("-", " ").strip().capitalize()


def promise_name(policy_name: str | None, policies: Mapping[str, Policy] | None = None) -> str:
    if not policy_name:
        return ""
    if policy_name in PROMISE_NAMES:
        return PROMISE_NAMES[policy_name]
    policy = (policies or {}).get(policy_name)
    if policy is not None and policy.summary:
        return policy.summary[:1].upper() + policy.summary[1:]
    return _words(policy_name)


def team_name(team_id: str | None, teams: Mapping[str, str]) -> str:
    if not team_id:
        return ""
    return teams.get(team_id) or _words(team_id)


def person_name(email: str | None, names: Mapping[str, str]) -> str | None:
    """A colleague by name; an address nobody is known by stays an address (never hidden)."""
    if not email:
        return None
    return names.get(email) or names.get(email.lower()) or email


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel) or _words(channel)


def topic_name(topic: str) -> str:
    return TOPIC_NAMES.get(topic) or _words(topic)


def language_name(code: str) -> str:
    return short_language_name(code)  # one table of names: actions/languages.py


# Format characters (bidirectional overrides, zero-width joiners) can make a row read as
# something it is not; line breaks and tabs become spaces.
def _visible(text: str) -> str:
    return "".join(
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs")
    )


_SPACES = re.compile(r"\s+")
# A sign-off on a line of its own, then at most a few short lines (a name, a phone number):
# the resident's own signature, which says nothing about the case.
_SIGN_OFF = re.compile(
    r"^\s*(?:many |kind |best |warm )?(?:thanks?(?: you)?(?: again)?|thankyou|thx|cheers|"
    r"regards|best wishes|wishes|yours(?: sincerely| faithfully| truly)?|sincerely|"
    r"all the best|diolch(?: yn fawr)?|cofion(?: gorau)?)\s*[,.!]*\s*$",
    re.IGNORECASE,
)
_SIGNATURE_LINES = 4
_SIGNATURE_LINE_CHARS = 60


def _without_sign_off(text: str) -> str:
    lines = text.split("\n")
    for index in range(max(len(lines) - _SIGNATURE_LINES - 1, 1), len(lines)):
        tail = [line for line in lines[index + 1 :] if line.strip()]
        if (
            _SIGN_OFF.match(lines[index])
            and len(tail) <= _SIGNATURE_LINES
            and all(len(line) <= _SIGNATURE_LINE_CHARS for line in tail)
        ):
            return "\n".join(lines[:index])
    return text


def first_words(body: str | None, limit: int = FIRST_WORDS_CHARS) -> str:
    """The start of what the resident wrote: quoted history, "> " lines, signatures and
    "Sent from my phone" removed, on one line, cut at a word with "…" when longer."""
    if not body:
        return ""
    kept = _without_sign_off(strip_quotes(body[:FIRST_MESSAGE_CHARS]))
    text = _SPACES.sub(" ", _visible(kept)).strip()
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    space = cut.rfind(" ", limit // 2)
    return (cut[:space] if space > 0 else cut[:limit]).rstrip(" ,.;:-") + "…"


def _best_share(scores: Any) -> float | None:
    if not isinstance(scores, Mapping) or not scores:
        return None
    values = [v for v in scores.values() if isinstance(v, int | float) and not isinstance(v, bool)]
    return max(values) if values else None


def flags(classification: Any) -> tuple[Flag, ...]:
    """Hazards, needs, language and low confidence from what the classifier stored (the
    interaction's `classification`). Anything malformed is left out, never an error."""
    if not isinstance(classification, Mapping):
        return ()
    found: list[Flag] = []
    for hazard in classification.get("hazards") or ():
        rule = hazard.get("rule") if isinstance(hazard, Mapping) else None
        if isinstance(rule, str) and rule:
            text = HAZARD_NAMES.get(rule) or _words(rule)
            if Flag("hazard", text) not in found:
                found.append(Flag("hazard", text))
    for need in classification.get("needs") or ():
        if isinstance(need, str) and need:
            text = NEED_NAMES.get(need) or _words(need)
            if Flag("need", text) not in found:
                found.append(Flag("need", text))
    language = classification.get("language")
    if isinstance(language, str) and language and language.lower() != "en":
        found.append(Flag("language", f"In {language_name(language)}"))
    confidence = classification.get("confidence")
    share = _best_share(confidence.get("topic")) if isinstance(confidence, Mapping) else None
    if classification.get("error"):
        found.append(Flag("unsure", "Could not be read fully: check"))
    elif share is not None and share < LOW_CONFIDENCE:
        found.append(Flag("unsure", f"Unsure of the topic ({share:.0%}): check"))
    return tuple(found)
