"""Reading-ease scores for what residents read (plain language, CONTACT).

Flesch reading ease and Flesch-Kincaid grade with a standard vowel-group syllable count:
close enough to steer wording, and with no dictionary to download (textstat now fetches one
at run time, which we must not do).
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)|\n")


def syllables(word: str) -> int:
    word = word.lower().strip("'")
    if len(word) <= 3:
        return 1
    word = re.sub(r"(?:[^laeiouy]es|ed|[^laeiouy]e)$", "", word)
    word = re.sub(r"^y", "", word)
    return max(1, len(re.findall(r"[aeiouy]{1,2}", word)))


def _counts(text: str) -> tuple[int, int, int]:
    words = _WORD.findall(text)
    sentences = max(1, len([s for s in _SENTENCE_END.split(text) if _WORD.search(s)]))
    return len(words), sentences, sum(syllables(w) for w in words)


def flesch_reading_ease(text: str) -> float:
    words, sentences, syl = _counts(text)
    if not words:
        return 100.0
    return 206.835 - 1.015 * (words / sentences) - 84.6 * (syl / words)


def flesch_kincaid_grade(text: str) -> float:
    words, sentences, syl = _counts(text)
    if not words:
        return 0.0
    return 0.39 * (words / sentences) + 11.8 * (syl / words) - 15.59
