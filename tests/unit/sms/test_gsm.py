"""GSM-7 normalisation and segment counting (domain.md: 160/153 GSM-7, 70/67 UCS-2)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from channels.sms import gsm


def test_curly_quotes_dashes_and_ellipsis_become_gsm7() -> None:
    text = "We\u2019ll call \u201csoon\u201d \u2013 by 5pm\u2026 \u2014 thanks"
    out = gsm.normalise(text)
    assert out == 'We\'ll call "soon" - by 5pm... - thanks'
    assert gsm.is_gsm7(out)


def test_accents_outside_gsm7_are_reduced_but_gsm7_accents_kept() -> None:
    assert gsm.normalise("Zoë café") == "Zoe café"  # é is GSM-7, ë is not
    assert gsm.normalise("🙂") == "🙂"  # a resident's emoji is not ours to change


def test_single_and_multi_segment_boundaries_gsm7() -> None:
    assert gsm.segment_info("a" * 160) == gsm.SegmentInfo("GSM-7", 160, 1)
    assert gsm.segments("a" * 161) == 2
    assert gsm.segments("a" * 306) == 2
    assert gsm.segments("a" * 307) == 3


def test_extension_characters_count_twice() -> None:
    assert gsm.segment_info("€" * 80) == gsm.SegmentInfo("GSM-7", 160, 1)
    assert gsm.segments("€" * 81) == 2
    # An escape pair is never split: 152 plain then one € does not fit in the first 153.
    assert gsm.segments("a" * 152 + "€" + "a" * 152) == 3


def test_one_curly_quote_switches_to_ucs2() -> None:
    text = "a" * 69 + "\u2019"
    assert gsm.segment_info(text) == gsm.SegmentInfo("UCS-2", 70, 1)
    assert gsm.segments(text + "a") == 2
    assert gsm.segments("\u2019" * 134) == 2
    assert gsm.segments("\u2019" * 135) == 3


def test_emoji_count_as_two_ucs2_units() -> None:
    assert gsm.segment_info("🙂" * 35) == gsm.SegmentInfo("UCS-2", 70, 1)
    assert gsm.segments("🙂" * 36) == 2


def test_empty_text_has_no_segments() -> None:
    assert gsm.segments("") == 0


@given(
    st.text(alphabet=st.sampled_from(sorted(gsm.GSM7_BASIC | set(gsm._REPLACEMENTS))), max_size=400)
)
def test_text_from_word_processors_normalises_to_gsm7_idempotently(text: str) -> None:
    normal = gsm.normalise(text)
    assert gsm.is_gsm7(normal)
    assert gsm.normalise(normal) == normal
