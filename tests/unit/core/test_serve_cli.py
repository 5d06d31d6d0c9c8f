"""Which sending processes `doorstep serve` starts beside itself (`outbox.email_processes`)."""

from __future__ import annotations

import argparse
from types import SimpleNamespace

import sqlalchemy as sa

from bot.cli.serve import _email_senders
from bot.domain.model import Channel
from bot.settings import Settings
from channels.base import CollectingSender, SenderRegistry


def _app(url: str, *, smtp: bool = True, processes: int = 1) -> SimpleNamespace:
    senders = SenderRegistry()
    if smtp:
        senders.register(CollectingSender(Channel.EMAIL))
    return SimpleNamespace(
        senders=senders,
        engine=SimpleNamespace(url=sa.make_url(url)),
        settings=Settings(outbox={"email_processes": processes}),
    )


ARGS = argparse.Namespace(config="site.yml", log_level="warning")


def test_one_process_per_setting_with_serves_config_and_log_level() -> None:
    commands = _email_senders(ARGS, _app("sqlite:///var/doorstep.db", processes=2))
    assert len(commands) == 2
    command = commands[0]
    assert command[1:] == [
        "-m", "bot", "--config", "site.yml", "outbox", "--channel", "email", "--wake-stdin",
        "--log-level", "warning",
    ]  # fmt: skip


def test_none_without_smtp_when_switched_off_or_on_a_database_in_memory() -> None:
    assert _email_senders(ARGS, _app("sqlite:///var/doorstep.db", smtp=False)) == []
    assert _email_senders(ARGS, _app("sqlite:///var/doorstep.db", processes=0)) == []
    assert _email_senders(ARGS, _app("sqlite://")) == []
    assert _email_senders(ARGS, _app("sqlite:///:memory:")) == []
    assert len(_email_senders(ARGS, _app("postgresql+psycopg://db/doorstep"))) == 1
