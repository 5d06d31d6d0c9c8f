"""What the performance pages show, built from `bot.service.performance.Performance`: the
period from the query string, charts with tables beside them, and the CSV and JSON exports.
The staff page, the public page and the exports all read the same numbers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from markupsafe import Markup

from bot.service.performance import LONDON, Filters, Performance
from bot.web.charts import Series, bar_chart
from sla.figures import CH01_DEFINITION, FIGURES, TIME_BINS, week_start

DEFAULT_WEEKS = 13
MAX_DAYS = 800


class PeriodError(ValueError):
    """A period in the query string we cannot read (shown to the user, 400)."""


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime
    first: date  # inclusive, as the user reads it
    last: date  # inclusive
    bucket: str


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise PeriodError(f"'{name}' must be a date like 2026-11-30") from None


def period(today: date, first: str | None, last: str | None, bucket: str | None) -> Period:
    """From and to (inclusive, London days); by default the last 13 weeks to today."""
    chosen_last = _day(last, "to") or today
    chosen_first = _day(first, "from") or week_start(chosen_last) - timedelta(
        weeks=DEFAULT_WEEKS - 1
    )
    if chosen_first > chosen_last:
        raise PeriodError("'from' must be on or before 'to'")
    if (chosen_last - chosen_first).days > MAX_DAYS:
        raise PeriodError(f"choose a period of at most {MAX_DAYS} days")
    kind = (
        bucket
        if bucket in ("week", "month")
        else ("month" if (chosen_last - chosen_first).days > 190 else "week")
    )
    start = datetime.combine(chosen_first, time(), LONDON).astimezone(UTC)
    end = datetime.combine(chosen_last + timedelta(days=1), time(), LONDON).astimezone(UTC)
    return Period(start, end, chosen_first, chosen_last, kind)


def _pct(share: float | None) -> str:
    return "no cases" if share is None else f"{share * 100:.0f}%"


def _bucket_label(day: date, bucket: str) -> str:
    return f"{day:%b %Y}" if bucket == "month" else f"{day.day} {day:%b}"


def view(perf: Performance, *, label: dict[str, str]) -> dict[str, Any]:
    """Everything a page template needs (charts are Markup; tables are plain rows)."""
    categories = [_bucket_label(b, perf.bucket) for b in perf.buckets]
    trend_ids = ("ack", "respond", "ch02_1")
    names = {f.id: f.label for f in FIGURES}
    trend_series = [
        Series(
            names[fid],
            [
                tally.share * 100 if tally.share is not None else None
                for _, tally in perf.trend[fid]
            ],
        )
        for fid in trend_ids
    ]
    trend_text = "; ".join(
        f"{names[fid]}: "
        + ", ".join(
            f"{c} {_pct(tally.share)}"
            for c, (_, tally) in zip(categories, perf.trend[fid], strict=True)
        )
        for fid in trend_ids
    )
    charts = {
        "trend": bar_chart(
            f"Promises kept by {perf.bucket}",
            f"Share of promises kept in each {perf.bucket}. {trend_text}.",
            categories,
            trend_series,
        ),
        "ack_times": _distribution("Time to acknowledge", perf.ack_times),
        "response_times": _distribution("Time to a full response", perf.response_times),
        "volume": bar_chart(
            "New enquiries by hour of day",
            "New enquiries in the period by channel and the hour they arrived (UK time). "
            + "; ".join(f"{channel}: {sum(counts)}" for channel, counts in perf.volume.items()),
            [f"{h:02d}" for h in range(24)],
            [Series(channel, counts) for channel, counts in perf.volume.items()],
            unit="count",
        ),
    }
    return {
        "perf": perf,
        "charts": charts,
        "categories": categories,
        "figures": [
            {
                "id": f.id,
                "label": f.label,
                "public_label": f.public_label,
                "definition": f.definition,
                "share": _pct(t.share),
                "met": t.met,
                "missed": t.missed,
                "set_aside": t.set_aside,
            }
            for f, t in perf.figures
        ],
        "trend_rows": [
            {"bucket": c, **{fid: _pct(perf.trend[fid][n][1].share) for fid in trend_ids}}
            for n, c in enumerate(categories)
        ],
        "trend_ids": trend_ids,
        "trend_names": names,
        "policies": [
            {
                "policy": p,
                "label": label.get(p, p),
                "promise": promise,
                "share": _pct(x.share),
                "met": x.met,
                "missed": x.missed,
                "set_aside": x.set_aside,
            }
            for p, promise, x in perf.by_policy
        ],
        "groups": {
            name: [
                {
                    "key": k,
                    "share": _pct(x.share),
                    "met": x.met,
                    "missed": x.missed,
                    "set_aside": x.set_aside,
                }
                for k, x in rows
            ]
            for name, rows in perf.by_group.items()
        },
        "ch01_definition": CH01_DEFINITION,
        "time_bins": [b for b, _ in TIME_BINS],
    }


def _distribution(title: str, counts: list[tuple[str, int]]) -> Markup:
    total = sum(n for _, n in counts)
    words = ", ".join(f"{label}: {n}" for label, n in counts if n)
    return bar_chart(
        title,
        f"{title} for the {total} promises kept in the period. {words or 'None yet'}.",
        [label for label, _ in counts],
        [Series("promises kept", [n for _, n in counts])],
        unit="count",
    )


def as_json(perf: Performance, filters: Filters) -> dict[str, Any]:
    return {
        "period": {
            "from": perf.start.isoformat(),
            "to": perf.end.isoformat(),
            "bucket": perf.bucket,
        },
        "filters": filters.as_dict(),
        "figures": [
            {
                "id": f.id,
                "label": f.label,
                "definition": f.definition,
                "policies": list(f.policies),
                **t.as_dict(),
            }
            for f, t in perf.figures
        ],
        "by_policy": [
            {"policy": p, "promise": promise, **t.as_dict()} for p, promise, t in perf.by_policy
        ],
        "by": {
            name: [{"key": k, **t.as_dict()} for k, t in rows]
            for name, rows in perf.by_group.items()
        },
        "trend": {
            fid: [{"from": b.isoformat(), **t.as_dict()} for b, t in rows]
            for fid, rows in perf.trend.items()
        },
        "time_to_acknowledge": dict(perf.ack_times),
        "time_to_respond": dict(perf.response_times),
        "volume_by_channel_and_hour": perf.volume,
        "ch01": perf.ch01,
    }


def as_csv(perf: Performance) -> str:
    """One row per figure and per promise: what a spreadsheet or a regulator return needs."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["kind", "id", "label", "met", "missed", "set_aside", "share_met", "from", "to"]
    )
    first, last = perf.start.isoformat(), perf.end.isoformat()
    for f, t in perf.figures:
        share = "" if t.share is None else f"{t.share:.4f}"
        writer.writerow(["figure", f.id, f.label, t.met, t.missed, t.set_aside, share, first, last])
    for p, promise, t in perf.by_policy:
        share = "" if t.share is None else f"{t.share:.4f}"
        writer.writerow(["promise", p, promise, t.met, t.missed, t.set_aside, share, first, last])
    for key in ("stage1", "stage2"):
        writer.writerow(
            [
                "ch01",
                key,
                f"complaints received ({key})",
                perf.ch01.get(key),
                "",
                "",
                perf.ch01.get(f"{key}_per_1000") or "",
                first,
                last,
            ]
        )
    return out.getvalue()
