"""Welsh dates and deadlines, as Welsh councils' bilingual letters write them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from actions.cymraeg import date_in_words, deadline_in_words, time_in_words


def test_deadline_takes_the_soft_mutation_after_erbyn() -> None:
    wednesday = datetime(2026, 12, 30, 17, 0, tzinfo=UTC)
    assert deadline_in_words(wednesday, now=wednesday) == "erbyn 5pm ddydd Mercher 30 Rhagfyr"


def test_every_weekday_and_month_is_welsh() -> None:
    assert [date_in_words(date(2026, 11, d)) for d in range(23, 30)] == [
        "dydd Llun 23 Tachwedd",
        "dydd Mawrth 24 Tachwedd",
        "dydd Mercher 25 Tachwedd",
        "dydd Iau 26 Tachwedd",
        "dydd Gwener 27 Tachwedd",
        "dydd Sadwrn 28 Tachwedd",
        "dydd Sul 29 Tachwedd",
    ]
    months = [date_in_words(date(2027, m, 1)).split()[-1] for m in range(1, 13)]
    assert months[0] == "Ionawr" and months[5] == "Mehefin" and months[11] == "Rhagfyr"


def test_times_and_years() -> None:
    summer = datetime(2026, 7, 1, 11, 0, tzinfo=UTC)  # 12:00 in London (BST)
    assert time_in_words(summer) == "hanner dydd"
    assert time_in_words(datetime(2026, 12, 1, 9, 15, tzinfo=UTC)) == "9:15am"
    next_year = datetime(2027, 1, 4, 17, 0, tzinfo=UTC)
    assert deadline_in_words(next_year, now=datetime(2026, 12, 30, tzinfo=UTC)).endswith(
        "ddydd Llun 4 Ionawr 2027"
    )
