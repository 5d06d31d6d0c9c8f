"""Case references: readable, unguessable, and a check character that catches a single
mistyped character or two swapped neighbours (bot/domain/references.py)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.domain import references as r
from bot.nlu.rules import REFERENCE_RE

codes = st.text(alphabet=r.ALPHABET, min_size=r.RANDOM_LENGTH, max_size=r.RANDOM_LENGTH)


def _code(body: str) -> str:
    return body + r.check_character(body)


def test_shape_and_no_look_alike_characters() -> None:
    reference = r.new_reference("DS")
    assert re.fullmatch(r"DS-[A-Z0-9]{4}-[A-Z0-9]{4}", reference)
    for ch in "01IL5SOBZ2UV8":
        assert ch not in r.ALPHABET
    assert r.is_reference(reference)


def test_fresh_references_differ() -> None:
    assert len({r.new_reference("DS") for _ in range(2000)}) == 2000


@given(codes)
def test_every_generated_code_passes(body: str) -> None:
    assert r.is_valid_code(_code(body))


@given(codes, st.integers(0, r.RANDOM_LENGTH), st.sampled_from(r.ALPHABET))
def test_a_single_wrong_character_is_caught(body: str, at: int, wrong: str) -> None:
    code = _code(body)
    mistyped = code[:at] + wrong + code[at + 1 :]
    assert r.is_valid_code(mistyped) == (mistyped == code)


@given(codes, st.integers(0, r.RANDOM_LENGTH - 1))
def test_two_swapped_neighbours_are_caught(body: str, at: int) -> None:
    code = _code(body)
    swapped = code[:at] + code[at + 1] + code[at] + code[at + 2 :]
    assert r.is_valid_code(swapped) == (swapped == code)


@given(codes)
def test_typed_forms_normalise_to_the_stored_one(body: str) -> None:
    reference = r.format_reference("DS", _code(body))
    code = reference[3:].replace("-", "")
    for typed in (reference.lower(), f"ds-{code}", f" DS-{code[:4]} {code[4:]} "):
        assert r.normalise(typed) == reference
    assert list(r.find_references(f"Re: my case [{reference.lower()}], again")) == [reference]
    assert REFERENCE_RE.search(f"about {reference} please")


def test_first_format_keeps_working_and_mistyped_ones_are_skipped() -> None:
    assert r.normalise("ds-2026-000006") == "DS-2026-000006"
    good = r.new_reference("DS")
    bad = good[:-1] + next(c for c in r.ALPHABET if c != good[-1])
    text = f"DS-2026-000006 and {bad} and {good} and DS-2026-000006 again"
    assert list(r.find_references(text)) == ["DS-2026-000006", good]
    assert r.normalise("DS-2026-00006") is None
    assert r.normalise("hello") is None
