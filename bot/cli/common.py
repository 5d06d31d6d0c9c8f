"""Helpers shared by the CLI modules."""

from __future__ import annotations

import argparse

from bot.cli import CliError, _loaded
from bot.settings import Settings, SettingsError, load_settings


def settings_from(args: argparse.Namespace) -> Settings:
    try:
        settings = load_settings(getattr(args, "config", None))
    except SettingsError as exc:
        raise CliError(str(exc)) from exc
    _loaded["settings"] = settings
    return settings
