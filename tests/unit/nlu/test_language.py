"""Language detection (ACCESS): English however it is typed; other languages flagged."""

from __future__ import annotations

import pytest

from bot.nlu.language import detect_language


@pytest.mark.parametrize(
    "text",
    [
        "smel gas kitchn pls help",
        "boiler bust no hot water",
        "hiya office hours",
        "all done, bye",
        "the tap in the kitchen has been dripping since monday, can someone come",
        "ok",
        "ta",
        "",
        "12345 67890",
    ],
)
def test_english_and_too_short_to_tell_are_english(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Mae'r boeler wedi torri a does dim dŵr poeth yn y tŷ", "cy"),
        ("Mae'r cymdogion yn swnllyd iawn bob penwythnos", "cy"),
        ("Dzień dobry, nie mam ciepłej wody od trzech dni", "pl"),
        ("La caldera no funciona y no tenemos agua caliente", "es"),
        ("Bonjour, je n'ai plus de chauffage depuis hier", "fr"),
        ("السلام عليكم، السخان لا يعمل ولا يوجد ماء ساخن في الشقة", "ar"),
        ("У меня в квартире не работает отопление", "ru"),
    ],
)
def test_other_languages_are_flagged(text: str, language: str) -> None:
    assert detect_language(text) == language
