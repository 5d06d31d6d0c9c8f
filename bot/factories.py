"""The areas' factories, named as "module:function" and built with the App in one place.

Each area (web chat, SMS, dashboard, appointments, Rasa's assistant API) offers a factory
that takes the App; `bot/web/app.py` lists the routers and `bot/runtime.py` the background
workers. Importing lazily keeps `import bot.web.app` light and free of start-up side effects.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any


def build_all(specs: Iterable[str], app: Any) -> list[Any]:
    """Call each "module:function" with the app; a factory may return None (not configured)."""
    built = []
    for spec in specs:
        module_name, _, func = spec.partition(":")
        made = getattr(importlib.import_module(module_name), func)(app)
        if made is not None:
            built.append(made)
    return built
