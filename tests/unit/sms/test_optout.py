"""The single-word rule for opt-out, opt-in and help words."""

from __future__ import annotations

import pytest

from channels.sms.optout import Keyword, keyword, single_word


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stop. ",
        "STOPALL",
        "unsubscribe",
        "Cancel",
        "END",
        "quit!",
        "REVOKE",
        "optout",
        "opt-out",
    ],
)
def test_opt_out_words(text: str) -> None:
    assert keyword(text) is Keyword.OPT_OUT


@pytest.mark.parametrize("text", ["START", "yes", "Unstop"])
def test_opt_in_words(text: str) -> None:
    assert keyword(text) is Keyword.OPT_IN


@pytest.mark.parametrize("text", ["HELP", "info?"])
def test_help_words(text: str) -> None:
    assert keyword(text) is Keyword.HELP


@pytest.mark.parametrize(
    "text",
    [
        "cancel my appointment",
        "please stop the leak",
        "stop it",
        "yes please",
        "",
        "  ",
        "STOPPED",
        "help me",
    ],
)
def test_more_than_one_word_or_other_words_are_not_keywords(text: str) -> None:
    assert keyword(text) is None


def test_single_word() -> None:
    assert single_word("  yes! ") == "YES"
    assert single_word("yes please") is None
