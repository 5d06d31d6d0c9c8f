"""House rules for public comments (ABUSE in domain.md): abusive or aggressive posts are
hidden and shown to staff, not answered.

Deliberately narrow: a comment is hidden for strong abuse only (swearing at people, slurs a
landlord adds in settings), never for anger about a repair or a report of a threat, which
are enquiries that need an answer. An emergency is never hidden.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Strong swearing. Milder words ("rubbish", "useless", "disgrace", even "crap") are how
# unhappy residents talk about a service and must reach the complaints process instead.
BUILT_IN = (
    "fuck",
    "fucking",
    "fucker",
    "fuckers",
    "motherfucker",
    "cunt",
    "cunts",
    "wanker",
    "wankers",
    "twat",
    "twats",
)


def abusive_pattern(extra: Iterable[str] = ()) -> re.Pattern[str]:
    words = sorted({w.strip().lower() for w in (*BUILT_IN, *extra) if w.strip()}, key=len)
    alternation = "|".join(re.escape(w) for w in reversed(words))
    # Whole words only, and a plain alternation: linear in the length of the comment.
    return re.compile(rf"(?<![a-z])(?:{alternation})(?![a-z])", re.IGNORECASE)


def is_abusive(text: str, pattern: re.Pattern[str]) -> bool:
    return pattern.search(text[:5000]) is not None
