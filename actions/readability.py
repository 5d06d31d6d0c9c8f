"""Reading-ease scores for what residents read (plain language, CONTACT).

Flesch reading ease and Flesch-Kincaid grade with a standard vowel-group syllable count:
close enough to steer wording, and with no dictionary to download (textstat now fetches one
at run time, which we must not do).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


# ---- Welsh ------------------------------------------------------------------------------
# Flesch's constants were fitted to English; no published formula is fitted to Welsh, so
# Welsh is measured by what plain-language guides for Welsh (Cymraeg Clir) ask for: short
# sentences and few long words. Limits are in docs/accessibility.md.

_ANY_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
LONG_WORD = 10  # letters: "atgyweiriad" (11) is everyday; longer runs get hard


@dataclass(frozen=True, slots=True)
class Plainness:
    words: int
    sentences: int
    mean_sentence: float  # words per sentence
    longest_sentence: int
    long_word_share: float  # share of words of LONG_WORD letters or more


def plainness(text: str) -> Plainness:
    """Sentence and word lengths of any language written in words (Welsh, English)."""
    sentences = [s for s in _SENTENCE_END.split(text) if _ANY_WORD.search(s)]
    lengths = [len(_ANY_WORD.findall(s)) for s in sentences]
    words = [w for s in sentences for w in _ANY_WORD.findall(s)]
    if not words:
        return Plainness(0, 0, 0.0, 0, 0.0)
    long_words = sum(1 for w in words if len(w.replace("'", "")) >= LONG_WORD)
    return Plainness(
        words=len(words),
        sentences=len(sentences),
        mean_sentence=len(words) / len(sentences),
        longest_sentence=max(lengths),
        long_word_share=long_words / len(words),
    )
