"""Dates, times and deadlines in Welsh, for the messages residents read (Cymraeg; the Welsh
Language Standards ask for correspondence in Welsh to be answered in Welsh).

"erbyn 5pm ddydd Mercher 30 Rhagfyr": after "erbyn" the day is an adverb of time and takes
the soft mutation (dydd -> ddydd), as Welsh councils' bilingual letters write it. Times keep
the am/pm form those letters use; midday is "hanner dydd". A fluent speaker should review
the wording (docs/cymraeg.md says what was checked and how).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from actions import wording

LONDON = ZoneInfo("Europe/London")

WEEKDAYS = ("Llun", "Mawrth", "Mercher", "Iau", "Gwener", "Sadwrn", "Sul")
MONTHS = (
    "Ionawr",
    "Chwefror",
    "Mawrth",
    "Ebrill",
    "Mai",
    "Mehefin",
    "Gorffennaf",
    "Awst",
    "Medi",
    "Hydref",
    "Tachwedd",
    "Rhagfyr",
)


def time_in_words(moment: datetime) -> str:
    """'5pm', '5:15pm', '9am', 'hanner dydd'."""
    return wording.time_in_words(moment, midday="hanner dydd")


def date_in_words(day: date, *, today: date | None = None, mutated: bool = False) -> str:
    """'dydd Mercher 30 Rhagfyr' ('ddydd ...' after a preposition of time), with the year only
    when it is not this year."""
    weekday = ("ddydd " if mutated else "dydd ") + WEEKDAYS[day.weekday()]
    text = f"{weekday} {day.day} {MONTHS[day.month - 1]}"
    if today is not None and day.year != today.year:
        text += f" {day.year}"
    return text


def deadline_in_words(moment: datetime, *, now: datetime | None = None) -> str:
    """'erbyn 5pm ddydd Mercher 30 Rhagfyr' (Europe/London)."""
    local = moment.astimezone(LONDON)
    today = now.astimezone(LONDON).date() if now is not None else None
    day = date_in_words(local.date(), today=today, mutated=True)
    return f"erbyn {time_in_words(local)} {day}"


# ---- the English words our callers put into messages, in Welsh --------------------------
# Callers pass deadlines and dates already in English words (actions/wording.py); the Welsh
# templates get the same values in Welsh. Only our own fixed forms are translated, never a
# member of staff's words.

_EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAY = "|".join(_EN_WEEKDAYS)
_MONTH = "|".join(_EN_MONTHS)
_TIME = r"(?:\d{1,2}(?::\d\d)?[ap]m|midday)"
_DATE_RE = re.compile(rf"\b({_DAY}) (\d{{1,2}}) ({_MONTH})((?: \d{{4}})?)")
_DEADLINE_RE = re.compile(rf"\bby ({_TIME}) on ({_DAY}) (\d{{1,2}}) ({_MONTH})((?: \d{{4}})?)")
_SPAN_RE = re.compile(rf"({_TIME}) to ({_TIME})")
_BETWEEN_RE = re.compile(rf"between ({_TIME}) and ({_TIME})")
_DAY_RANGE_RE = re.compile(rf"\b({_DAY}) to ({_DAY})")
_LONE_DAY_RE = re.compile(rf"\b({_DAY})s?\b")
_MINUTES_RE = re.compile(r"\b(\d+) minutes?\b")  # "3 minutes": how long a live chat waits


def _day_cy(english: str) -> str:
    return WEEKDAYS[_EN_WEEKDAYS.index(english)]


def _month_cy(english: str) -> str:
    return MONTHS[_EN_MONTHS.index(english)]


def _time_cy(text: str) -> str:
    return "hanner dydd" if text == "midday" else text


def _and(time: str) -> str:
    """'a' or, before a vowel sound ('un', 'un ar ddeg', 'wyth'), 'ac'."""
    hour = re.match(r"\d+", time)
    return "ac" if hour is not None and hour[0] in ("1", "11", "8") else "a"


def phrase(text: str) -> str:
    """Our English date, time and deadline words in Welsh ("by 5pm on Wednesday 30
    December" -> "erbyn 5pm ddydd Mercher 30 Rhagfyr"); other words are left alone."""
    text = _DEADLINE_RE.sub(
        lambda m: f"erbyn {_time_cy(m[1])} ddydd {_day_cy(m[2])} {m[3]} {_month_cy(m[4])}{m[5]}",
        text,
    )
    text = _DATE_RE.sub(lambda m: f"dydd {_day_cy(m[1])} {m[2]} {_month_cy(m[3])}{m[4]}", text)
    text = text.replace(", in the morning (", ", yn y bore (")
    text = text.replace(", in the afternoon (", ", yn y prynhawn (")
    text = _BETWEEN_RE.sub(lambda m: f"rhwng {_time_cy(m[1])} {_and(m[2])} {_time_cy(m[2])}", text)
    # "dydd Llun i ddydd Gwener": after "i" the day takes the soft mutation.
    text = _DAY_RANGE_RE.sub(lambda m: f"dydd {_day_cy(m[1])} i ddydd {_day_cy(m[2])}", text)
    text = _LONE_DAY_RE.sub(lambda m: f"dydd {_day_cy(m[1])}", text)
    # "munud" keeps its singular form after a number ("3 munud").
    text = _MINUTES_RE.sub(lambda m: f"{m[1]} munud", text)
    return _SPAN_RE.sub(lambda m: f"{_time_cy(m[1])} i {_time_cy(m[2])}", text)


# Common team names, as Welsh housing bodies name them on their bilingual pages. A
# landlord's own go in `organisation.welsh_names`. Keys are lower case, without "the".
TEAM_NAMES = {
    "repairs team": "y tîm Atgyweirio",
    "repairs": "y tîm Atgyweirio",
    "customer services team": "y tîm Gwasanaethau Cwsmeriaid",
    "customer services": "y tîm Gwasanaethau Cwsmeriaid",
    "complaints team": "y tîm Cwynion",
    "housing team": "y tîm Tai",
    "housing management team": "y tîm Rheoli Tai",
    "neighbourhood team": "y tîm Cymdogaeth",
    "community safety team": "y tîm Diogelwch Cymunedol",
    "anti-social behaviour team": "y tîm Ymddygiad Gwrthgymdeithasol",
    "asb team": "y tîm Ymddygiad Gwrthgymdeithasol",
    "income team": "y tîm Incwm",
    "rent team": "y tîm Rhent",
    "lettings team": "y tîm Gosod Tai",
    "tenancy team": "y tîm Tenantiaeth",
    "gas team": "y tîm Nwy",
    "voids team": "y tîm Eiddo Gwag",
    "estates team": "y tîm Ystadau",
}
# A name that is not a team (a person) is kept as it is: Welsh does not mutate it here,
# because the templates put names only where no mutation falls ("Bydd Siân yn ateb").

TRADES = {
    "plumbing": "plymio",
    "electrical": "trydanol",
    "electrics": "trydan",
    "carpentry": "gwaith coed",
    "joinery": "gwaith coed",
    "roofing": "toi",
    "heating": "gwresogi",
    "gas": "nwy",
    "boiler": "boeler",
    "plastering": "plastro",
    "glazing": "gwydro",
    "painting": "peintio",
    "damp": "lleithder",
    "general": "cyffredinol",
    "drainage": "draeniau",
}


def name(english: str, welsh_names: dict[str, str] | None = None) -> str:
    """A team or owner as Welsh messages write it: the landlord's own Welsh name, then the
    common ones; a person's name as it is."""
    bare = english.strip()
    if bare.lower().startswith("the "):
        bare = bare[4:]
    for key, value in (welsh_names or {}).items():
        if key.strip().lower() in (bare.lower(), english.strip().lower()):
            return value
    return TEAM_NAMES.get(bare.lower(), bare)


def trade(english: str) -> str:
    return TRADES.get(english.strip().lower(), english)


# ---- safety advice and signposts (EMERGENCY), one Welsh line per English one ------------


def safety_line(english: str, *, gas_phone: str) -> str:
    """The Welsh for a line of bot/domain/safety.py's advice (matched by what it says)."""
    if "carbon monoxide" in english:
        return (
            "Os yw eich larwm carbon monocsid yn canu, agorwch y ffenestri a gadewch y "
            f"cartref nawr. Ffoniwch {gas_phone}."
        )
    if "smell gas" in english:
        return (
            "Os ydych chi'n arogli nwy, gadewch y cartref nawr. Peidiwch â defnyddio "
            "switshis na fflamau. Ffoniwch y Gwasanaeth Argyfwng Nwy Cenedlaethol ar "
            f"{gas_phone}."
        )
    if "consumer unit" in english:
        return (
            "Cadwch draw o ddŵr ger goleuadau, socedi neu wifrau. Os yw'n ddiogel, "
            "diffoddwch y trydan yn y bocs ffiwsiau."
        )
    if "in danger now" in english:
        return "Os oes unrhyw un mewn perygl nawr, ffoniwch 999."
    if "police on 101" in english:
        return "I roi gwybod am drosedd nad yw'n argyfwng, ffoniwch yr heddlu ar 101."
    return english


# The safety questions bot/nlu asks when a message may be an emergency (`Classification.ask`,
# bot/nlu/rules.py and spacy_classifier.UNSURE_QUESTION), in Welsh. Matched by their exact
# English words: a question not listed here is left in English (better than no question).
QUESTIONS = {
    "Is it the only toilet in your home?": "Ai dyma'r unig doiled yn eich cartref?",
    "Is anyone stuck in the lift, or unable to use the stairs?": (
        "Oes unrhyw un yn sownd yn y lifft, neu'n methu defnyddio'r grisiau?"
    ),
    "Is anyone at home elderly, disabled, pregnant, very young or unwell?": (
        "Oes unrhyw un yn y cartref sy'n oedrannus, yn anabl, yn feichiog, yn ifanc iawn neu'n sâl?"
    ),
    "Does it affect medical equipment, the cooker or the fridge, or every light?": (
        "Ydy hyn yn effeithio ar offer meddygol, y popty neu'r oergell, neu bob golau?"
    ),
    "Is water near lights or sockets, or can you not stop it?": (
        "Oes dŵr ger goleuadau neu socedi, neu ydych chi'n methu ei atal?"
    ),
    "Is anyone in danger now, or is water near lights or sockets?": (
        "Oes unrhyw un mewn perygl nawr, neu oes dŵr ger goleuadau neu socedi?"
    ),
}


def question(english: str) -> str:
    """The Welsh for one of the classifier's safety questions (the English if unknown)."""
    return QUESTIONS.get(" ".join(english.split()), english)


def emergency_repair_line(phone: str) -> str:
    return (
        f"Ar gyfer atgyweiriad brys, ffoniwch ein llinell 24 awr ar {phone}. "
        "Peidiwch ag aros am ein hateb."
    )


def office_closed_line(phone: str) -> str:
    return f"Mae ein swyddfa ar gau nawr. Ar gyfer atgyweiriad brys, ffoniwch {phone} unrhyw bryd."
