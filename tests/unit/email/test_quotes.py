from __future__ import annotations

import pytest

from channels.email.html_text import html_to_text
from channels.email.quotes import strip_quotes

NEW = "The leak is worse today, water is coming through the light fitting."


@pytest.mark.parametrize(
    "history",
    [
        "On Mon, 3 Mar 2025 at 10:00, Repairs <repairs@landlord.example> wrote:\n> Thanks",
        "On Mon, 3 Mar 2025 at 10:00, Repairs Team\n<repairs@landlord.example> wrote:\n> Hi",
        "-----Original Message-----\nFrom: Repairs\nSent: 03 March 2025 10:00\nThanks",
        "From: Repairs <repairs@landlord.example>\nSent: Monday, March 3, 2025 10:00 AM\n"
        "To: Jo\nSubject: RE: Leak\n\nThanks for your email",
        "________________________________\nFrom: Repairs <repairs@landlord.example>\n"
        "Sent: Monday\nThanks",
        "*From:* Repairs <repairs@landlord.example>\n*Sent:* Monday\n*To:* Jo\nThanks",
        "Am Mo., 3. März 2025 um 10:00 Uhr schrieb Repairs <r@l.example>:\n> Danke",
        "Le lun. 3 mars 2025 à 10:00, Repairs <r@l.example> a écrit :\n> Merci",
        "> quoted line one\n> quoted line two",
        "-- \nJo Bloggs\n12 Acacia Avenue",
        "--\nJo Bloggs",
        "Sent from my iPhone",
        "Sent from my Samsung Galaxy smartphone.",
        "Get Outlook for Android",
    ],
)
def test_history_and_signatures_are_removed(history: str) -> None:
    assert strip_quotes(f"{NEW}\n\n{history}\n") == NEW


def test_interleaved_quotes_are_dropped_and_answers_kept() -> None:
    text = "> When can we come?\nTuesday morning.\n> Is the water off?\nYes."
    assert strip_quotes(text) == "Tuesday morning.\nYes."


def test_text_that_only_mentions_words_is_kept() -> None:
    text = (
        "From: the look of it the leak is spreading.\n"
        "On the other hand the heating works.\n"
        "I sent from my phone yesterday but got no answer."
    )
    assert strip_quotes(text) == text


def test_forwarded_messages_are_kept() -> None:
    text = (
        "Please see below.\n\n---------- Forwarded message ---------\nFrom: Neighbour\nLoud music"
    )
    assert "Loud music" in strip_quotes(text)


def test_blank_lines_are_tidied() -> None:
    assert strip_quotes("\n\nA\n\n\n\nB  \n\n") == "A\n\nB"


def test_html_to_text_handles_entities_pre_and_bad_markup() -> None:
    assert html_to_text("a &lt;b&gt; &pound;5 &#8217;") == "a <b> £5 ’"
    assert html_to_text("<pre>line 1\n  line 2</pre>") == "line 1\n  line 2"
    assert html_to_text("<p>unclosed <b>bold <div>x") == "unclosed bold\nx"
    assert html_to_text("<table><tr><td>a</td><td>b</td></tr></table>") == "a b"


def test_a_sent_from_line_is_dropped_without_cutting_what_follows() -> None:
    text = "Sent from my phone\nThe boiler is leaking again."
    assert strip_quotes(text) == "The boiler is leaking again."
