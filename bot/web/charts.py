"""Charts drawn on the server as SVG: no script, nothing fetched, readable by a screen reader
(role="img" with a title and a description), and always shown beside a table with the same
numbers. Matplotlib makes the NLU picture offline; for a web page a few lines of SVG are
smaller, crisper at any zoom, and need no library in the browser.

Colours come from a palette that keeps at least 3:1 contrast against white (WCAG 1.4.11);
each series also has its own label in the legend, so colour is never the only cue.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

PALETTE = ("#1d4f91", "#b35900", "#2e7d32", "#6a1b9a", "#8a1c1c", "#00695c")
_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float | None]  # None: nothing to show (no clock decided)


def _fmt(value: float, unit: str) -> str:
    return f"{value:.0f}%" if unit == "%" else f"{value:,.0f}"


def bar_chart(
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "%",
    width: int = 720,
    height: int = 260,
) -> Markup:
    """Grouped vertical bars: one group per category, one bar per series."""
    n = next(_ids)
    top = (
        100.0 if unit == "%" else max((v or 0 for s in series for v in s.values), default=0) or 1.0
    )
    left, bottom, right, head = 44, 36, 8, 12
    plot_w, plot_h = width - left - right, height - bottom - head
    group_w = plot_w / max(len(categories), 1)
    bar_w = max(2.0, min(28.0, (group_w - 6) / max(len(series), 1)))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="chart-{n}-t chart-{n}-d" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-{n}-t">{escape(title)}</title>',
        f'<desc id="chart-{n}-d">{escape(description)}</desc>',
    ]
    for step in range(5):  # gridlines at 0, 25, 50, 75, 100 % of the scale
        value = top * step / 4
        y = head + plot_h - plot_h * step / 4
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#b1b4b6" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="#1b1b1b">{_fmt(value, unit)}</text>'
        )
    for c, label in enumerate(categories):
        x0 = left + c * group_w + (group_w - bar_w * len(series)) / 2
        for s, ser in enumerate(series):
            shown = ser.values[c] if c < len(ser.values) else None
            if shown is None:
                continue
            h = plot_h * min(shown, top) / top
            x, y = x0 + s * bar_w, head + plot_h - h
            colour = PALETTE[s % len(PALETTE)]
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(ser.name)}, {escape(label)}: '
                f"{_fmt(shown, unit)}</title></rect>"
            )
        if len(categories) <= 16 or c % max(1, len(categories) // 12) == 0:
            cx = left + c * group_w + group_w / 2
            parts.append(
                f'<text x="{cx:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'font-size="12" fill="#1b1b1b">{escape(label)}</text>'
            )
    parts.append("</svg>")
    if len(series) > 1:  # the legend, as text beside the picture: every colour has a name
        parts.append('<ul class="chart-legend">')
        for s, ser in enumerate(series):
            colour = PALETTE[s % len(PALETTE)]
            parts.append(
                # An SVG swatch, not a style attribute: staff pages' CSP allows no inline style.
                f'<li><svg class="swatch" viewBox="0 0 12 12" aria-hidden="true" '
                f'focusable="false"><rect width="12" height="12" fill="{colour}"/></svg>'
                f"{escape(ser.name)}</li>"
            )
        parts.append("</ul>")
    return Markup("".join(parts))
