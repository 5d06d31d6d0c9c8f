"""The first hour (issue 20): no placeholder reaches a resident, start-up says where things
are and what is missing, and a failure is one sentence, not a traceback."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import pytest

from actions.acknowledge import DEFAULT_TEMPLATES, AckContext, Composer
from bot.cli import main
from bot.cli.startup import Banner, base_url, configuration_gaps, configure_logging
from bot.conversation.answers import landlord_answer
from bot.settings import Organisation, Settings

PLACEHOLDER = "example.org.uk"
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def _every_template(composer: Composer) -> dict[str, str]:
    """Every bundled template rendered with the organisation's details and anything else
    left empty: whatever a template says about the landlord shows."""
    lenient = composer.env.overlay(undefined=jinja2.ChainableUndefined)
    context = composer._common()
    return {
        path.name: lenient.get_template(path.name).render(**context)
        for path in sorted(DEFAULT_TEMPLATES.glob("*.j2"))
    }


def test_no_rendered_message_names_a_placeholder_or_none() -> None:
    rendered = _every_template(Composer(Organisation()))
    assert len(rendered) > 20
    for name, text in rendered.items():
        assert PLACEHOLDER not in text, name
        assert "More help: \n" not in text and "policy: None" not in text, name
        assert "None" not in text, name


@pytest.mark.parametrize("channel", [None, "sms", "webchat"])
def test_acknowledgement_leaves_unset_lines_out(channel: str | None) -> None:
    composer = Composer(Organisation())
    ctx = AckContext(
        reference="DS-1", topic="repair", urgency="routine", owner_name="the Repairs team",
        deadline=NOW, now=NOW,
    )  # fmt: skip
    text = composer.acknowledgement(ctx, channel=channel)
    assert PLACEHOLDER not in text and "None" not in text
    assert "More help" not in text and "online account" not in text
    if channel != "webchat":  # a chat is itself the way to contact us
        assert Organisation().phone in text


def test_set_details_are_still_shown() -> None:
    org = Organisation(website="https://riverside.example", self_service_url="https://r.example/me")
    ctx = AckContext(
        reference="DS-1", topic="repair", urgency="routine", owner_name="the Repairs team",
        deadline=NOW, now=NOW,
    )  # fmt: skip
    text = Composer(org).acknowledgement(ctx)
    assert "More help: https://riverside.example" in text
    assert "https://r.example/me" in text


@pytest.mark.parametrize(
    "question", ["when are you open", "how do I pay my rent", "I want to complain", "phone number"]
)
def test_chat_answers_leave_unset_details_out(question: str) -> None:
    answer = landlord_answer(Organisation(), question)
    assert answer and "None" not in answer and PLACEHOLDER not in answer
    assert "{" not in answer


def test_chat_answers_use_set_details() -> None:
    org = Organisation(website="https://riverside.example", contact_email="hi@riverside.example")
    answer = landlord_answer(org, "phone number")
    assert answer is not None
    assert "hi@riverside.example" in answer and "https://riverside.example" in answer


def test_start_up_warns_about_every_unset_detail_and_channel() -> None:
    gaps = " ".join(configuration_gaps(Settings(), configured=set()))
    for key in ("website", "contact_email", "complaints_url", "self_service_url"):
        assert f"organisation.{key}" in gaps
    assert "email.smtp" in gaps and "sms.enabled" in gaps
    assert "complaints team" in gaps  # the notifications that would fail


def test_start_up_is_quiet_about_what_is_set() -> None:
    settings = Settings(
        organisation={
            "website": "https://r.example",
            "contact_email": "hi@r.example",
            "complaints_url": "https://r.example/c",
            "self_service_url": "https://r.example/me",
        },
        email={"from_address": "hi@r.example", "smtp": {"host": "smtp.r.example"}},
        sms={"enabled": True},
        imap_host="imap.r.example",
        imap_user="hi@r.example",
    )
    assert configuration_gaps(settings, configured={"email", "sms"}) == []


def test_banner_lists_the_addresses_and_the_next_step() -> None:
    banner = Banner(
        addresses=[("Staff sign-in:", f"{base_url('0.0.0.0', 8000)}/staff/login")],
        next_steps=["add a user"],
        warnings=["no SMTP"],
    )
    text = banner.text()
    assert "http://127.0.0.1:8000/staff/login" in text
    assert "Next step: add a user" in text and "Warning: no SMTP" in text


def test_one_handler_so_every_line_prints_once(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    spacy_logger = logging.getLogger("spacy")
    own = logging.StreamHandler()  # what spaCy installs when imported
    spacy_logger.addHandler(own)
    try:
        configure_logging("info")
        configure_logging("info")  # twice: still one handler
        assert len(root.handlers) == 1
        logging.getLogger("alembic.runtime.plugins").info("setup plugin x")
        spacy_logger.info("Created vocabulary")
        err = capsys.readouterr().err
        assert err.count("Created vocabulary") == 1
        assert "setup plugin" not in err
    finally:
        spacy_logger.removeHandler(own)
        spacy_logger.propagate = True
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.NOTSET)
        logging.getLogger("alembic.runtime.migration").setLevel(logging.NOTSET)


def test_missing_config_file_is_one_sentence_and_status_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOORSTEP_CONFIG", str(tmp_path / "missing.yml"))
    assert main(["sla", "policies"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0
    assert "missing.yml (DOORSTEP_CONFIG) does not exist" in err


def test_a_bad_setting_is_one_sentence_and_status_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yml"
    config.write_text("doorstep:\n  web: {max_connections: none}\n")
    assert main(["--config", str(config), "sla", "policies"]) == 2
    err = capsys.readouterr().err
    assert "web.max_connections" in err and "Traceback" not in err


def test_forwarded_addresses_are_believed_only_from_configured_proxies() -> None:
    from bot.web.limits import uvicorn_options

    default = uvicorn_options(Settings())
    assert default["proxy_headers"] is False and default["forwarded_allow_ips"] is None
    behind = uvicorn_options(Settings(web={"trusted_proxies": ["10.0.0.5"]}))
    assert behind["proxy_headers"] is True and behind["forwarded_allow_ips"] == ["10.0.0.5"]
    assert default["limit_concurrency"] == 200 and default["ws_max_size"] == 64 * 1024
    assert default["h11_max_incomplete_event_size"] == 16 * 1024
