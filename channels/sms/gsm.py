"""Texts written for SMS: GSM-7 where possible, and the segment count known before sending.

One SMS segment holds 160 GSM-7 characters or 70 UCS-2 ones; a longer text is sent as one
concatenated message whose segments hold 153 / 67 (domain.md). A single curly quote or emoji
switches the whole text to UCS-2 and more than halves what a segment holds, so the usual
culprits from word processors and templates are replaced first.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# The GSM 03.38 default alphabet and its extension table (each extension character is sent
# as an escape plus the character, so it counts twice).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

# Look-alikes that would otherwise force UCS-2.
_REPLACEMENTS = {
    "\u2018": "'",  # left single quote
    "\u2019": "'",  # right single quote / apostrophe
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',  # left double quote
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2015": "-",
    "\u2212": "-",  # minus sign
    "\u2026": "...",  # ellipsis
    "\u00a0": " ",  # non-breaking space
    "\u2002": " ",
    "\u2003": " ",
    "\u2009": " ",
    "\u200a": " ",
    "\u202f": " ",
    "\u200b": "",  # zero-width space
    "\u200d": "",
    "\ufeff": "",
    "\u2022": "-",  # bullet
    "\u00b7": "-",
    "\t": " ",
    "\u2122": "TM",
    "\u00a9": "(c)",
    "\u00ae": "(R)",
}

SINGLE_GSM7 = 160
MULTI_GSM7 = 153
SINGLE_UCS2 = 70
MULTI_UCS2 = 67


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7 (extension characters count 2), UTF-16 units for UCS-2
    segments: int


def normalise(text: str) -> str:
    """Replace typographic look-alikes with GSM-7 characters; keep everything else.

    Accented letters outside GSM-7 (e.g. "ł") are decomposed to their base letter when that
    is GSM-7, so a name does not switch the whole text to UCS-2. Emoji stay: replacing a
    resident's own words is not ours to do, and our templates contain none.
    """
    out: list[str] = []
    for char in text.replace("\r\n", "\n"):
        if char in GSM7_BASIC or char in GSM7_EXTENSION:
            out.append(char)
        elif char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
        else:
            base = unicodedata.normalize("NFKD", char)
            stripped = "".join(c for c in base if not unicodedata.combining(c))
            if stripped and all(c in GSM7_BASIC for c in stripped):
                out.append(stripped)
            else:
                out.append(char)
    return "".join(out)


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def segment_info(text: str) -> SegmentInfo:
    """How the text will be sent: encoding, length in that encoding, and segments."""
    if is_gsm7(text):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, multi, encoding = SINGLE_GSM7, MULTI_GSM7, "GSM-7"
        if units <= single:
            return SegmentInfo(encoding, units, 1 if units else 0)
        # An extension character's escape pair is never split across two segments.
        segments, used = 1, 0
        for char in text:
            width = 2 if char in GSM7_EXTENSION else 1
            if used + width > multi:
                segments, used = segments + 1, 0
            used += width
        return SegmentInfo(encoding, units, segments)
    units = len(text.encode("utf-16-le")) // 2
    if units <= SINGLE_UCS2:
        return SegmentInfo("UCS-2", units, 1 if units else 0)
    # A surrogate pair (an emoji) is never split across two segments either.
    segments, used = 1, 0
    for char in text:
        width = len(char.encode("utf-16-le")) // 2
        if used + width > MULTI_UCS2:
            segments, used = segments + 1, 0
        used += width
    return SegmentInfo("UCS-2", units, segments)


def segments(text: str) -> int:
    return segment_info(text).segments
