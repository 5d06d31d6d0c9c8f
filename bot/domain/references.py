"""Case references residents can read aloud and nobody can guess (PRIVACY).

A reference looks like `DS-7KQM-4W3P`: the landlord's prefix, seven random characters and
one check character. The alphabet leaves out the characters people confuse when they read,
hear or type them (0/O/Q is kept apart by dropping 0 and O; 1/I/L, 2/Z, 5/S, 8/B, U/V), so
a reference read over the phone or copied from a letter comes back as written.

The alphabet has 23 characters, a prime, and the check character makes the weighted sum
of all eight characters (weights 1..8) zero modulo 23. Because 23 is prime and every
weight is non-zero and below it:
- a single wrong character changes the sum by weight x difference, never a multiple of 23;
- two neighbours swapped change it by (difference of weights = 1) x (difference of values),
  never zero unless the two are equal (then nothing changed).
So either mistake gives a reference that fails the check, and we never match it to
someone else's case.

Seven random characters are 23**7 (about 3.4 billion) possibilities, drawn from `secrets`:
with a million cases on file a guess finds one about once in 3,400 tries, and finding one
gives nothing away (a mention from a stranger never joins the case: bot/service/joining.py).

References of the first format, `DS-2026-000123`, keep working wherever references are read.
No I/O here: the repository checks uniqueness (retrying on a collision).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator

ALPHABET = "34679ACDEFGHJKMNPQRTWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_MOD = len(ALPHABET)  # 23, prime: see the module docstring
RANDOM_LENGTH = 7
_GROUP = 4  # DS-XXXX-XXXX: two groups of four are easy to read out

assert _MOD == 23 and len(set(ALPHABET)) == _MOD

# The new format: prefix, 4 + 4 characters of the alphabet; the dash in the middle may be
# missing or a space when a resident types it. Matched case-insensitively and normalised.
_NEW_RE = re.compile(
    rf"(?<![A-Za-z0-9])([A-Za-z]{{2,5}})-([{ALPHABET}]{{{_GROUP}}})[- ]?"
    rf"([{ALPHABET}]{{{_GROUP}}})(?![A-Za-z0-9])",
    re.IGNORECASE,
)
# The first format, kept readable forever: DS-<year>-<six digits>.
LEGACY_RE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2,5}-\d{4}-\d{6})(?![A-Za-z0-9])")


def check_character(body: str) -> str:
    """The character that makes the weighted sum of `body` + it zero modulo 23."""
    total = sum((i + 1) * _VALUE[ch] for i, ch in enumerate(body.upper()))
    weight = len(body) + 1
    # weight * c = -total (mod 23): multiply by the inverse of the weight (23 is prime).
    return ALPHABET[(-total * pow(weight, -1, _MOD)) % _MOD]


def is_valid_code(code: str) -> bool:
    """True when `code` (the characters after the prefix, without dashes) passes the check."""
    code = code.upper()
    if len(code) != RANDOM_LENGTH + 1 or any(ch not in _VALUE for ch in code):
        return False
    return sum((i + 1) * _VALUE[ch] for i, ch in enumerate(code)) % _MOD == 0


def format_reference(prefix: str, code: str) -> str:
    code = code.upper()
    return f"{prefix.upper()}-{code[:_GROUP]}-{code[_GROUP:]}"


def new_reference(prefix: str, choice: Callable[[str], str] = secrets.choice) -> str:
    """A fresh random reference with its check character (unique: the caller checks)."""
    body = "".join(choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return format_reference(prefix, body + check_character(body))


def is_reference(text: str) -> bool:
    """A whole string that is a well-formed reference of either format."""
    return normalise(text) is not None


def normalise(text: str) -> str | None:
    """The stored form of a reference as a resident may type it, or None when it is not a
    reference (a mistyped one fails its check character)."""
    text = text.strip()
    match = _NEW_RE.fullmatch(text)
    if match is not None:
        prefix, first, second = match.groups()
        code = (first + second).upper()
        return format_reference(prefix, code) if is_valid_code(code) else None
    if LEGACY_RE.fullmatch(text):
        return text.upper()
    return None


def find_references(text: str) -> Iterator[str]:
    """The references in a text, in order, normalised, each once; mistyped ones skipped."""
    seen: set[str] = set()
    found: list[tuple[int, str]] = []
    for match in _NEW_RE.finditer(text):
        prefix, first, second = match.groups()
        code = (first + second).upper()
        if is_valid_code(code):
            found.append((match.start(), format_reference(prefix, code)))
    for match in LEGACY_RE.finditer(text):
        found.append((match.start(), match.group(1).upper()))
    for _, reference in sorted(found):
        if reference not in seen:
            seen.add(reference)
            yield reference
