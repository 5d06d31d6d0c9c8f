"""A resident's language on real SQLite and PostgreSQL: Welsh answered in Welsh by email, SMS
and chat; a bilingual first reply for a landlord in Wales (Welsh first when set) that asks
the preference; CYMRAEG / ENGLISH recorded and used on every later message; a Polish
message's interpreter line; staff changing the language on the case page."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.bootstrap import App, bootstrap
from bot.domain.model import Channel
from bot.nlu.language import detect_language
from bot.nlu.types import Classification
from bot.settings import Organisation, Settings, Team
from bot.storage import tables as t
from channels.base import CollectingSender
from tests.fakes import FakeClock, KeywordClassifier
from tests.integration.helpers import deliver, json_decoder
from tests.integration.test_dashboard import dashboard_settings, open_env

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)
WELSH_LEAK = "Mae dŵr yn gollwng drwy'r nenfwd yn y gegin ers neithiwr. Allwch chi helpu?"
POLISH_LEAK = "Dzień dobry, w łazience cieknie woda z sufitu od wczoraj wieczorem."


class DetectingClassifier(KeywordClassifier):
    """The keyword triage of the unit tier, with the real language detector."""

    def classify(self, text: str) -> Classification:
        found = super().classify(text)
        return dataclasses.replace(found, language=detect_language(text))


def _settings(**org: object) -> Settings:
    return Settings(
        organisation=Organisation(name="Cartrefi Cwm", **org),  # type: ignore[arg-type]
        teams=[Team(id="repairs", name="Repairs team")],
        routing={"repair": "repairs"},
    )


def _app(engine: sa.Engine, settings: Settings, clock: FakeClock) -> App:
    return bootstrap(
        settings,
        engine=engine,
        classifier=DetectingClassifier(),
        senders=[CollectingSender(c) for c in (Channel.EMAIL, Channel.SMS, Channel.WEBCHAT)],
        decoders={c: json_decoder for c in Channel},
        now=clock,
        run_migrations=False,
    )


def _sent(app: App, channel: Channel) -> list[str]:
    asyncio.run(app.outbox.run_once(limit=100))
    sender = app.senders.get(channel)
    assert isinstance(sender, CollectingSender)
    return [m.body for m in sender.sent]


def _contact(engine: sa.Engine) -> tuple[str | None, str | None]:
    with engine.connect() as conn:
        row = conn.execute(sa.select(t.contacts.c.language, t.contacts.c.language_source)).one()
    return row.language, row.language_source


def test_welsh_email_is_answered_in_welsh_with_english_below(engine: sa.Engine) -> None:
    app = _app(engine, _settings(), FakeClock(MONDAY_10))  # a landlord in England
    deliver(app, "w1", subject="Dŵr yn gollwng", body=WELSH_LEAK, name="Siân Hughes")
    (outcome,) = app.pipeline.process_pending()
    (body,) = _sent(app, Channel.EMAIL)
    welsh, _, english = body.partition("Dear Siân,")
    assert welsh.startswith("Annwyl Siân,")
    assert "Diolch am eich neges. Rydym wedi'i chael." in welsh
    assert f"Eich cyfeirnod yw {outcome.reference}." in welsh
    assert "Byddwn yn ateb erbyn 5pm ddydd Iau 24 Rhagfyr." in welsh
    assert "Thank you for your message." in english  # English below (the default)
    assert "Atebwch gyda'r gair CYMRAEG neu ENGLISH." in english  # the question, last
    assert _contact(engine) == ("cy", "detected")


def test_welsh_only_when_english_below_is_turned_off(engine: sa.Engine) -> None:
    app = _app(engine, _settings(welsh_replies_with_english=False), FakeClock(MONDAY_10))
    deliver(app, "w1", subject="Dŵr", body=WELSH_LEAK)
    app.pipeline.process_pending()
    (body,) = _sent(app, Channel.EMAIL)
    assert body.startswith("Helo,") and "Thank you" not in body


def test_welsh_text_is_answered_in_welsh_and_cymraeg_is_kept(engine: sa.Engine) -> None:
    clock = FakeClock(MONDAY_10)
    app = _app(engine, _settings(), clock)
    phone = "+447700900123"
    deliver(app, "s1", channel="sms", **{"from": phone}, body=WELSH_LEAK)
    (first,) = app.pipeline.process_pending()
    (ack,) = _sent(app, Channel.SMS)
    assert ack.startswith("Cartrefi Cwm: diolch am eich neges. Cyf ")
    assert "erbyn 5pm ddydd Iau 24 Rhagfyr" in ack
    assert "Cymraeg? Atebwch CYMRAEG. English? Reply ENGLISH." in ack

    clock.advance(minutes=5)
    deliver(app, "s2", channel="sms", **{"from": phone}, body="Cymraeg", at=clock().isoformat())
    (choice,) = app.pipeline.process_pending()
    # It joins the conversation when the pipeline finds it open (the by-sender window), and
    # is recorded all the same when it does not: it is never a new enquiry.
    assert choice.reason == "language choice"
    assert choice.interaction_id in (None, first.interaction_id)
    confirm = _sent(app, Channel.SMS)[-1]
    assert confirm.startswith("Diolch. Byddwn yn ysgrifennu atoch yn Gymraeg o hyn ymlaen.")
    assert "Thank" not in confirm
    assert _contact(engine) == ("cy", "resident")

    # Days later, in English: the choice stands, and there is no question any more.
    clock.advance(days=3)
    deliver(
        app,
        "s3",
        channel="sms",
        **{"from": phone},
        body="The boiler is broken again and there is no hot water",
        at=clock().isoformat(),
    )
    (later,) = app.pipeline.process_pending()
    assert later.status == "processed" and later.interaction_id != first.interaction_id
    again = _sent(app, Channel.SMS)[-1]
    assert again.startswith("Cartrefi Cwm: diolch am eich neges.")
    assert "thank you" not in again.lower() and "CYMRAEG" not in again


def test_welsh_chat_is_answered_in_welsh(engine: sa.Engine) -> None:
    from channels import registry
    from channels.webchat.adapter import WebchatSender, decode
    from tests.integration.test_webchat import chat
    from tests.support.browser import closed_clock

    settings = _settings()
    app = bootstrap(
        settings,
        engine=engine,
        classifier=DetectingClassifier(),
        senders=[WebchatSender(), CollectingSender(Channel.EMAIL), CollectingSender(Channel.SMS)],
        decoders={Channel.WEBCHAT: decode},
        turn_handlers={Channel.WEBCHAT: registry.turn_handler(Channel.WEBCHAT, settings)},
        now=closed_clock(settings),
        run_migrations=False,
    )
    with chat(app) as c:
        c.hello()
        c.say("m1", WELSH_LEAK)
        frame = c.reply()
        text = frame["text"]
        assert text.startswith("Diolch. Rwyf wedi cofnodi eich neges.")
        assert f"Eich cyfeirnod yw {frame['reference']}." in text
        assert "yn ateb erbyn 5pm ddydd Iau 24 Rhagfyr." in text or "yn ateb erbyn" in text
        assert text.index("Diolch.") < text.index("Thank you.")  # English below
        assert "Hoffech chi sgwrsio yn Gymraeg? Teipiwch CYMRAEG neu ENGLISH." in text
        # Out of office hours the question is two buttons too, each sending its word.
        assert {"title": "Cymraeg", "payload": "CYMRAEG"} in frame["buttons"]
        c.say("m2", "CYMRAEG")
        confirm = c.reply()
        assert confirm["text"].startswith("Diolch. Byddwn yn ysgrifennu atoch yn Gymraeg")
    assert _contact(engine) == ("cy", "resident")


def test_bilingual_first_reply_for_a_landlord_in_wales(engine: sa.Engine) -> None:
    app = _app(engine, _settings(languages=["cy", "en"]), FakeClock(MONDAY_10))
    deliver(app, "e1", subject="Boiler", body="My boiler is broken and there is no heating")
    (outcome,) = app.pipeline.process_pending()
    (body,) = _sent(app, Channel.EMAIL)
    english_at = body.index("Thank you for your message")
    welsh_at = body.index("Diolch am eich neges")
    assert english_at < welsh_at  # English first unless welsh_first
    assert body.count(outcome.reference or "?") == 2
    # The question last, in both languages, in the same order.
    assert body.rstrip().endswith("Atebwch gyda'r gair CYMRAEG neu ENGLISH.")
    assert "Reply with the word CYMRAEG or ENGLISH.\nHoffech chi" in body
    assert _contact(engine) == ("en", "detected")


def test_welsh_first_when_set(engine: sa.Engine) -> None:
    app = _app(engine, _settings(languages=["cy", "en"], welsh_first=True), FakeClock(MONDAY_10))
    deliver(app, "e1", subject="Boiler", body="My boiler is broken and there is no heating")
    app.pipeline.process_pending()
    (body,) = _sent(app, Channel.EMAIL)
    assert body.startswith("Helo,")
    assert body.index("Diolch am eich neges") < body.index("Thank you for your message")
    lines = [line for line in body.splitlines() if line.strip()]
    assert len(lines) == len(set(lines))  # no line said twice
    assert lines[-2].startswith("Hoffech chi gael ein negeseuon yn Gymraeg")  # Welsh first
    assert lines[-1].startswith("Would you like our messages in Welsh or in English?")


def test_email_reply_english_keeps_english(engine: sa.Engine) -> None:
    clock = FakeClock(MONDAY_10)
    app = _app(engine, _settings(languages=["cy", "en"], welsh_first=True), clock)
    deliver(app, "e1", subject="Boiler", body="My boiler is broken and there is no heating")
    (first,) = app.pipeline.process_pending()
    _sent(app, Channel.EMAIL)
    clock.advance(minutes=30)
    deliver(
        app,
        "e2",
        subject=f"Re: Boiler [{first.reference}]",
        body="ENGLISH\n\nOn Mon, 21 Dec 2026 at 10:00, Cartrefi Cwm wrote:\n> Helo,",
        at=clock().isoformat(),
    )
    (choice,) = app.pipeline.process_pending()
    assert choice.status == "joined"
    confirm = _sent(app, Channel.EMAIL)[-1]
    assert confirm.startswith("Thank you. We will write to you in English from now on.")
    assert _contact(engine) == ("en", "resident")
    with engine.connect() as conn:
        kinds = conn.execute(
            sa.select(t.events.c.kind).where(t.events.c.interaction_id == first.interaction_id)
        ).scalars()
        assert "language_set" in list(kinds)


def test_polish_message_gets_an_english_reply_with_an_interpreter_line(engine: sa.Engine) -> None:
    app = _app(engine, _settings(), FakeClock(MONDAY_10))
    deliver(app, "p1", subject="Woda", body=POLISH_LEAK)
    app.pipeline.process_pending()
    (body,) = _sent(app, Channel.EMAIL)
    first = body.splitlines()[0]
    assert first == "Potrzebujesz tłumacza lub listu po polsku? Zadzwoń do nas: 0300 000 0000."
    assert "Thank you for your message. We have received it." in body
    assert "CYMRAEG" not in body  # a landlord in England asks nothing about Welsh
    assert _contact(engine) == ("pl", "detected")


async def test_staff_change_the_language_and_the_next_message_follows(engine: sa.Engine) -> None:
    async with open_env(engine, dashboard_settings()) as env:
        case_id = env.receive("r1", subject="Leak", body="There is a leak under my sink")
        await env.login("rita@landlord.example")
        page = await env.html(f"/staff/interactions/{case_id}")
        assert "Language: <strong>Not known</strong>" in page or "Language: <strong>English" in page
        refused = await env.client.post(
            f"/staff/interactions/{case_id}/language",
            data={"language": "cy", "csrf": "forged"},
        )
        assert refused.status_code == 403
        done = await env.post(f"/staff/interactions/{case_id}/language", language="cy")
        assert "Language set to Welsh (Cymraeg)." in done.text
        assert "Language: <strong>Welsh (Cymraeg)</strong> (set by staff)" in done.text
        bad = await env.post(f"/staff/interactions/{case_id}/language", language="xx")
        assert "Choose a language from the list." in bad.text

        # A staff reply now goes with Welsh around it.
        await env.post(f"/staff/interactions/{case_id}/reply", text="A plumber comes on Tuesday.")
        await env.deliver_outbox()
        reply = env.sent(Channel.EMAIL)[-1].body
        assert "A plumber comes on Tuesday." in reply and "Eich cyfeirnod yw" in reply

        # The resident's next enquiry, in English: the acknowledgement is in Welsh.
        env.clock.advance(days=1)
        env.receive(
            "r2", subject="Hall light", body="The hall light is broken", at=env.clock().isoformat()
        )
        await env.deliver_outbox()
        ack = env.sent(Channel.EMAIL)[-1].body
        assert "Diolch am eich neges." in ack and "Thank you" not in ack

        with engine.connect() as conn:
            audit = conn.execute(
                sa.text("SELECT action FROM staff_audit WHERE action = 'language_changed'")
            ).all()
        assert len(audit) == 1


# ---- the later lines, HELP and public replies follow the contact's language ---------------


def _conversing_app(engine: sa.Engine, settings: Settings, clock: FakeClock) -> App:
    from channels import registry

    return bootstrap(
        settings,
        engine=engine,
        classifier=DetectingClassifier(),
        senders=[CollectingSender(c) for c in (Channel.EMAIL, Channel.SMS, Channel.WEBCHAT)],
        decoders={c: json_decoder for c in Channel},
        turn_handlers={
            c: registry.turn_handler(c, settings) for c in (Channel.SMS, Channel.WEBCHAT)
        },
        now=clock,
        run_migrations=False,
    )


def test_help_is_answered_in_the_welsh_a_resident_chose(engine: sa.Engine) -> None:
    clock = FakeClock(MONDAY_10)
    app = _conversing_app(engine, _settings(), clock)
    phone = "+447700900123"
    deliver(app, "s1", channel="sms", **{"from": phone}, body=WELSH_LEAK)
    app.pipeline.process_pending()
    clock.advance(minutes=5)
    deliver(app, "s2", channel="sms", **{"from": phone}, body="CYMRAEG", at=clock().isoformat())
    app.pipeline.process_pending()
    clock.advance(days=2)
    deliver(app, "s3", channel="sms", **{"from": phone}, body="HELP", at=clock().isoformat())
    app.pipeline.process_pending()
    help_text = _sent(app, Channel.SMS)[-1]
    assert help_text.startswith("Cartrefi Cwm. Ffoniwch ni ar 0300 000 0000")
    assert "Anfonwch STOP i atal ein negeseuon." in help_text
    assert "Call us" not in help_text


def test_help_from_a_new_number_for_a_landlord_in_england_stays_english(engine: sa.Engine) -> None:
    app = _conversing_app(engine, _settings(), FakeClock(MONDAY_10))
    deliver(app, "s1", channel="sms", **{"from": "+447700900124"}, body="HELP")
    app.pipeline.process_pending()
    (help_text,) = _sent(app, Channel.SMS)
    assert help_text.startswith("Cartrefi Cwm. Call us on") and "Ffoniwch" not in help_text


def test_a_later_welsh_chat_line_is_answered_in_welsh(engine: sa.Engine) -> None:
    from channels import registry
    from channels.webchat.adapter import WebchatSender, decode
    from tests.integration.test_webchat import chat
    from tests.support.browser import office_hours_clock

    settings = _settings(languages=["cy", "en"])
    app = bootstrap(
        settings,
        engine=engine,
        classifier=DetectingClassifier(),
        senders=[WebchatSender(), CollectingSender(Channel.EMAIL), CollectingSender(Channel.SMS)],
        decoders={Channel.WEBCHAT: decode},
        turn_handlers={Channel.WEBCHAT: registry.turn_handler(Channel.WEBCHAT, settings)},
        now=office_hours_clock(settings),
        run_migrations=False,
    )
    with chat(app) as c:
        c.hello()
        c.say("m1", "My boiler is broken and there is no heating at all")
        first = c.reply()
        # In office hours, a landlord in Wales: the language buttons beside a person.
        payloads = [b["payload"] for b in first["buttons"]]
        assert payloads[:2] == ["CYMRAEG", "ENGLISH"] and len(payloads) == 3
        c.say("m2", "CYMRAEG")
        c.reply()
        c.say("m3", "ok diolch")  # too short to detect: the choice decides
        later = c.reply()
        assert later["text"].startswith("Diolch. Rwyf wedi ychwanegu hyn at eich ymholiad")
        assert "Thank you" not in later["text"]
        assert [b["title"] for b in later["buttons"]] == ["Siarad â pherson"]


async def test_a_welsh_comment_gets_its_public_reply_in_welsh(engine: sa.Engine) -> None:
    import httpx

    from bot.web.app import create_app
    from tests.integration.test_social import Harness
    from tests.support.fake_social import page_comment, running_fake_social

    with running_fake_social() as fake:
        harness = Harness(engine, fake, FakeClock(datetime(2026, 11, 30, 10, 0, tzinfo=UTC)))
        # The same app with the real language detector.
        harness.app = bootstrap(
            harness.settings,
            engine=engine,
            classifier=DetectingClassifier(),
            senders=[harness.sender],
            decoders=harness.app.pipeline.decoders,
            turn_handlers=harness.app.pipeline.turn_handlers,
            now=harness.clock,
            run_migrations=False,
        )
        harness.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(harness.app, run_workers=False)),
            base_url="http://testserver",
        )
        try:
            await harness.meta(page_comment(WELSH_LEAK, "555_9"))
            await harness.settle()
            calls = fake.wait_for(2)
        finally:
            await harness.client.aclose()
            await harness.sender.aclose()
    public = next(c for c in calls if c.path.endswith("/comments")).body["message"]
    assert public.startswith("Diolch am gysylltu. Rydym wedi anfon neges breifat atoch am hyn.")
    assert "Thanks for getting in touch." in public  # English below, as for any Welsh message
    private = next(c for c in calls if c.path.endswith("/messages")).body["message"]["text"]
    assert private.startswith("Helo Jo, diolch am eich neges.")
