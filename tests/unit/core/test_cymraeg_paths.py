"""Welsh where the first Welsh work could not reach, with no database: the live chat's
notices follow the contact's language, and a landlord in Wales names the Public Services
Ombudsman for Wales in its complaints letters in both languages (COMPLAINT; Cymraeg)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from actions.acknowledge import Composer
from actions.languages import RESIDENT, Voice
from actions.replies import Case, render
from bot.cli.startup import configuration_gaps
from bot.domain.model import Channel
from bot.service.clocks import ClockService
from bot.settings import Organisation, Settings
from sla import PRESETS, Calendar

WALES = Organisation(name="Cartrefi Cwm", languages=["cy", "en"], ombudsman="pspow")
NOW = datetime(2026, 12, 8, 10, tzinfo=UTC)


@dataclass
class StaffServices:
    """What the staff actions need (actions.replies.Services), without the App."""

    settings: Settings = field(default_factory=lambda: Settings(organisation=WALES))
    clocks: ClockService = field(default_factory=lambda: ClockService(dict(PRESETS), Calendar()))

    @property
    def composer(self) -> Composer:
        return Composer(self.settings.organisation)


def case(language: str | None, source: str | None) -> Case:
    return Case(
        id=1, reference="DS-2026-000123", channel=Channel.WEBCHAT, address="sess-1",
        topic="repair", urgency="urgent", team="repairs", owner=None, status="open",
        subject=None, complaint_stage=None, resident_name="Siân", last_inbound_id=None,
        thread_ids=(), language=language, language_source=source,
    )  # fmt: skip


# ---- live chat -----------------------------------------------------------------------------


def test_the_live_chat_joined_notice_is_in_welsh_for_a_resident_who_chose_it() -> None:
    body = render(
        StaffServices(),
        "live_joined.txt.j2",
        case("cy", RESIDENT),
        staff_name="Jane",
        team_name="the Repairs team",
    )
    assert body.strip() == "Mae Jane wedi ymuno â'r sgwrs (y tîm Atgyweirio)."


def test_unknown_language_for_a_landlord_in_wales_gets_both() -> None:
    body = render(
        StaffServices(),
        "live_joined.txt.j2",
        case(None, None),
        staff_name="Jane",
        team_name="the Repairs team",
    )
    assert body.splitlines() == [
        "Jane from the Repairs team has joined the chat.",
        "",
        "Mae Jane wedi ymuno â'r sgwrs (y tîm Atgyweirio).",
    ]


def test_the_queue_timeout_and_end_notices_in_welsh() -> None:
    services = StaffServices()
    queued = render(
        services, "live_queued.txt.j2", case("cy", RESIDENT),
        ahead=0, team_name="the Repairs team", within="3 minutes", emergency=False,
    )  # fmt: skip
    assert queued.startswith("Chi sydd nesaf yn y ciw. Bydd y tîm Atgyweirio yn ymuno")
    assert "o fewn 3 munud" in queued
    ended = render(
        services, "live_ended.txt.j2", case("cy", RESIDENT),
        staff_name="Our officer", left=True, team_name="the Repairs team",
        deadline="by 5pm on Friday 11 December", office_open=True,
    )  # fmt: skip
    assert ended.startswith("Mae ein swyddog wedi gorfod gadael y sgwrs.")  # not "Our officer"
    assert "Bydd y tîm Atgyweirio yn ateb erbyn 5pm ddydd Gwener 11 Rhagfyr." in ended
    # An officer's own line is said once, as typed, whatever the voice.
    typed = render(services, "live_message.txt.j2", case(None, None), body="Helo Siân!")
    assert typed.strip() == "Helo Siân!"


# ---- the ombudsman -------------------------------------------------------------------------


def _stage1(composer: Composer, voice: Voice) -> str:
    return composer.render(
        "complaint_stage1_ack.txt.j2",
        voice=voice,
        reference="DS-2026-000123",
        resident_name="Siân",
        handler_name="Alex Jones",
        deadline="by 5pm on Tuesday 22 December",
        summary=None,
        ombudsman_phone="0300 111 3000",  # what actions/complaints passes: the setting wins
    )


def test_a_landlord_in_wales_names_the_public_services_ombudsman_in_both_languages() -> None:
    both = _stage1(Composer(WALES), Voice(("en", "cy")))
    english, _, welsh = both.partition("Annwyl Siân,")
    assert "You can contact the Public Services Ombudsman for Wales at any time" in english
    assert "https://www.ombudsman.wales or 0300 790 0203" in english
    assert "Gallwch gysylltu ag Ombwdsmon Gwasanaethau Cyhoeddus Cymru unrhyw bryd" in welsh
    assert "https://www.ombwdsmon.cymru neu 0300 790 0203" in welsh
    assert "Housing Ombudsman" not in both and "Ombwdsmon Tai" not in both
    assert "0300 111 3000" not in both


def test_the_final_answer_and_the_procedure_name_it_too() -> None:
    composer = Composer(WALES)
    final = composer.render(
        "complaint_response.txt.j2",
        voice=Voice(("cy",)),
        reference="DS-2026-000123",
        resident_name=None,
        stage=2,
        body="Rydym wedi trwsio'r to.",
        staff_name="Alex",
    )
    assert "gallwch ofyn i Ombwdsmon Gwasanaethau Cyhoeddus Cymru edrych ar eich cwyn" in final
    procedure = composer.complaint_procedure(
        reference="DS-2026-000123",
        stage1_ack_deadline=datetime(2026, 12, 15, 17, tzinfo=UTC),
        stage1_response_days=10,
        now=NOW,
    )
    assert "the Public Services Ombudsman for Wales" in procedure
    assert "0300 790 0203" in procedure


def test_a_landlord_in_england_keeps_the_housing_ombudsman() -> None:
    text = _stage1(Composer(Organisation()), Voice(("cy", "en")))
    assert "gysylltu â'r Ombwdsmon Tai" in text
    assert "contact the Housing Ombudsman" in text
    assert "https://www.housing-ombudsman.org.uk" in text and "0300 111 3000" in text


def test_a_landlord_in_wales_without_the_setting_is_warned_at_start() -> None:
    unset = Settings(organisation=Organisation(languages=["cy", "en"]))
    gaps = configuration_gaps(unset, configured={"email", "sms"})
    assert any("organisation.ombudsman not set" in gap and "pspow" in gap for gap in gaps)
    chosen = Settings(organisation=WALES)
    assert not any("ombudsman" in gap for gap in configuration_gaps(chosen, configured=set()))
    england = Settings()
    assert not any("ombudsman" in gap for gap in configuration_gaps(england, configured=set()))


def test_the_ombudsman_setting_is_typed() -> None:
    with pytest.raises(ValidationError):
        Organisation(ombudsman="ombudsman-for-wales")  # type: ignore[arg-type]
    assert Organisation(ombudsman="housing-ombudsman").ombudsman == "housing-ombudsman"
