"""axe-core in the browser tests: the engine ships inside the axe-playwright-python package
(nothing is fetched); it is injected into the page under test and run there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import axe_playwright_python

AXE_JS = Path(axe_playwright_python.__file__).with_name("axe.min.js")
SEVERE = ("serious", "critical")


def violations(page: Any, *, impacts: tuple[str, ...] = SEVERE) -> list[dict[str, Any]]:
    """axe's WCAG 2.x A/AA violations of these impacts on the page as it is now."""
    page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"""
    )
    return [v for v in result["violations"] if v.get("impact") in impacts]


def describe(found: list[dict[str, Any]]) -> str:
    """A readable failure message: rule, impact and the first offending elements."""
    lines = []
    for v in found:
        targets = ", ".join(str(n.get("target")) for n in v.get("nodes", [])[:3])
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} at {targets}")
    return "\n".join(lines)
