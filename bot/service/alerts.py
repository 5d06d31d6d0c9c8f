"""Staff told in time: an alert and a daily digest, by email to the team address (through
the outbox) and on the dashboard, when a promise is due soon or has been missed.

- *Due soon* is the one rule of sla/due_soon.py, the last `sla.due_soon_fraction` of the
  promise's own length (the last 20 % by default), as the queue and the API say: a 24-hour
  Awaab's Law clock is due soon in its last 4 hours 48 minutes, a 10-day response in its
  last two working days. *Missed* is past the due time.
- Each clock is alerted at most once per state (due soon, then missed): the claim is a row
  of `staff_alerts`, unique on (clock, state), written in the transaction that puts the email
  in the outbox. A restart or a second server on PostgreSQL finds the claim and sends nothing.
- The digest goes once per team per working day at `alerts.digest_time` (unique on team and
  day), listing every open promise of the team that is due soon or missed.
- Whether a notification went is read from its outbox row: sent, waiting, or failed with the
  reason; a team without an address is shown as not sent, never as done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from actions.wording import deadline_in_words
from bot.domain.model import Channel, OutboundMessage
from bot.service.clocks import ClockService, needs_attention
from bot.service.outbound import enqueue_reply
from bot.settings import Settings
from bot.storage import tables as t
from bot.storage import tables_probe as tp
from bot.storage.repository import UnitOfWork, idempotency_key
from sla.due_soon import BREACHED, DUE_SOON

log = logging.getLogger(__name__)

STATE_WORDS = {DUE_SOON: "due soon", BREACHED: "missed"}


@dataclass(frozen=True, slots=True)
class Attention:
    """One open promise that needs staff now."""

    clock_id: int
    interaction_id: int
    reference: str
    team: str
    policy: str
    promise: str
    due_at: datetime
    state: str
    channel: str | None = None
    topic: str | None = None


def needing_attention(
    conn: sa.Connection, clocks: ClockService, now: datetime, fraction: float
) -> list[Attention]:
    """Open, running clocks of open cases (probes left out) that are due soon or missed,
    under the one rule (paused clocks wait on the resident: not ours to chase)."""
    c, i = t.clocks.c, t.interactions.c
    rows = conn.execute(
        sa.select(
            c.id,
            c.interaction_id,
            c.policy,
            c.promise,
            c.due_at,
            c.warn_at,
            c.channel,
            c.topic,
            i.reference,
            i.team,
        )
        .select_from(t.clocks.join(t.interactions, c.interaction_id == i.id))
        .where(
            needs_attention(now, clocks.soon_until(now, fraction)),
            i.status != "closed",
            i.id.not_in(sa.select(tp.probe_cases.c.interaction_id)),
        )
        .order_by(c.due_at, c.id)
    ).all()
    found: list[Attention] = []
    for r in rows:
        state = clocks.attention_state(
            str(r.policy), due_at=r.due_at, warn_at=r.warn_at, now=now, fraction=fraction
        )
        if state is not None:
            found.append(
                Attention(
                    int(r.id),
                    int(r.interaction_id),
                    str(r.reference),
                    str(r.team),
                    str(r.policy),
                    str(r.promise),
                    r.due_at,
                    state,
                    r.channel,
                    r.topic,
                )
            )
    return found


_CLAIM_ALERT = sa.text(
    "INSERT INTO staff_alerts (clock_id, state, interaction_id, team, policy, due_at, "
    "created_at) VALUES (:clock_id, :state, :interaction_id, :team, :policy, :due_at, "
    ":created_at) ON CONFLICT DO NOTHING RETURNING id"
).bindparams(
    sa.bindparam("due_at", type_=t.UtcDateTime),
    sa.bindparam("created_at", type_=t.UtcDateTime),
)
_CLAIM_DIGEST = sa.text(
    "INSERT INTO staff_digests (team, day, due_soon, breached, created_at) "
    "VALUES (:team, :day, :due_soon, :breached, :created_at) "
    "ON CONFLICT DO NOTHING RETURNING id"
).bindparams(sa.bindparam("day", type_=sa.Date), sa.bindparam("created_at", type_=t.UtcDateTime))


class StaffAlerts:
    def __init__(
        self, settings: Settings, engine: sa.Engine, clocks: ClockService, now: Any
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.clocks = clocks
        self.now = now

    # ---- alerts ----------------------------------------------------------------------------

    def send_alerts(self) -> int:
        """Claim and send every new (clock, state); how many were claimed."""
        now = self.now()
        fraction = self.settings.sla.due_soon_fraction
        with UnitOfWork(self.engine, lambda: now) as uow:
            new: list[tuple[int, Attention]] = []
            for item in needing_attention(uow.conn, self.clocks, now, fraction):
                claimed = uow.conn.execute(
                    _CLAIM_ALERT,
                    {
                        "clock_id": item.clock_id,
                        "state": item.state,
                        "interaction_id": item.interaction_id,
                        "team": item.team,
                        "policy": item.policy,
                        "due_at": item.due_at,
                        "created_at": now,
                    },
                ).scalar_one_or_none()
                if claimed is not None:
                    new.append((int(claimed), item))
            by_team: dict[str, list[tuple[int, Attention]]] = defaultdict(list)
            for claimed_id, item in new:
                by_team[item.team].append((claimed_id, item))
            for team, items in by_team.items():
                key = idempotency_key("staff-alert", team, min(a for a, _ in items))
                if self._email(uow, team, self._alert_mail(team, [a for _, a in items], now), key):
                    uow.conn.execute(
                        tp.staff_alerts.update()
                        .where(tp.staff_alerts.c.id.in_([a for a, _ in items]))
                        .values(outbox_key=key)
                    )
            uow.commit()
        if new:
            log.info("staff alerts: %d promises due soon or missed", len(new))
        return len(new)

    def _alert_mail(self, team: str, items: list[Attention], now: datetime) -> tuple[str, str]:
        missed = [a for a in items if a.state == BREACHED]
        soon = [a for a in items if a.state == DUE_SOON]
        parts = []
        if missed:
            parts.append(f"{len(missed)} missed")
        if soon:
            parts.append(f"{len(soon)} due soon")
        noun = "promise" if len(items) == 1 else "promises"
        subject = f"Residents' {noun} {' and '.join(parts)}: {self._team_name(team)}"
        lines = [f"Hello {self._team_name(team)},", ""]
        if missed:
            lines += ["These promises to residents have been missed. Please act on them now:", ""]
            lines += [self._line(a, now) for a in missed] + [""]
        if soon:
            lines += ["These promises are due soon:", ""]
            lines += [self._line(a, now) for a in soon] + [""]
        lines.append("You get one message for each promise when it is due soon, and one if it")
        lines.append("is missed. The dashboard shows them all.")
        return subject, "\n".join(lines)

    # ---- the daily digest ------------------------------------------------------------------

    def digest_due_day(self, now: datetime) -> date | None:
        """Today's local date when the digest is due (a working day, past digest_time)."""
        zone = ZoneInfo(self.settings.alerts.timezone)
        local = now.astimezone(zone)
        hours, minutes = (int(x) for x in self.settings.alerts.digest_time.split(":"))
        if local.time() < time(hours, minutes):
            return None
        if not self.clocks.calendar.is_working_day(local.date()):
            return None
        return local.date()

    def send_digests(self) -> int:
        """One digest per team for today, when due; how many teams were sent one."""
        now = self.now()
        day = self.digest_due_day(now)
        if day is None or not self.settings.alerts.digest:
            return 0
        sent = 0
        fraction = self.settings.sla.due_soon_fraction
        with UnitOfWork(self.engine, lambda: now) as uow:
            items = needing_attention(uow.conn, self.clocks, now, fraction)
            by_team: dict[str, list[Attention]] = defaultdict(list)
            for item in items:
                by_team[item.team].append(item)
            for team in [x.id for x in self.settings.teams] + sorted(by_team):
                mine = by_team.get(team, [])
                soon = sum(1 for a in mine if a.state == DUE_SOON)
                missed = len(mine) - soon
                claimed = uow.conn.execute(
                    _CLAIM_DIGEST,
                    {
                        "team": team,
                        "day": day,
                        "due_soon": soon,
                        "breached": missed,
                        "created_at": now,
                    },
                ).scalar_one_or_none()
                if claimed is None or not mine:
                    continue  # sent before (here or on another server), or nothing to say
                key = idempotency_key("staff-digest", team, day.isoformat())
                subject = (
                    f"Today's open promises: {missed} missed, {soon} due soon: "
                    f"{self._team_name(team)}"
                )
                lines = [f"Hello {self._team_name(team)},", "", "Open promises that need you:", ""]
                lines += [self._line(a, now) for a in mine]
                if self._email(uow, team, (subject, "\n".join(lines)), key):
                    uow.conn.execute(
                        tp.staff_digests.update()
                        .where(tp.staff_digests.c.id == claimed)
                        .values(outbox_key=key)
                    )
                sent += 1
            uow.commit()
        return sent

    # ---- shared ----------------------------------------------------------------------------

    def _team_name(self, team: str) -> str:
        for x in self.settings.teams:
            if x.id == team:
                return x.name
        return team

    def _line(self, a: Attention, now: datetime) -> str:
        policy = self.clocks.policies.get(a.policy)
        what = (policy.summary if policy is not None and policy.summary else a.promise) or a.policy
        link = f"{self.settings.public_url.rstrip('/')}/staff/interactions/{a.interaction_id}"
        due = deadline_in_words(a.due_at, now=now)
        when = f"was due {due}" if a.state == BREACHED else f"due {due}"
        return f"- {a.reference}: {what} ({when})\n  {link}"

    def _email(self, uow: UnitOfWork, team: str, mail: tuple[str, str], key: str) -> bool:
        """Queue the email to the team's address; False when the team has none (the
        claim stays, with no outbox row: the dashboard shows it as not sent)."""
        address = next((x.email for x in self.settings.teams if x.id == team and x.email), None)
        if not address:
            log.warning("staff alert for team %s not sent: the team has no email address", team)
            return False
        subject, body = mail
        enqueue_reply(
            uow,
            self.settings,
            OutboundMessage(
                channel=Channel.EMAIL,
                recipient=address,
                body=body,
                idempotency_key=key,
                subject=subject,
                sender=self.settings.email.from_address,
                kind="staff_alert",
                auto=True,
            ),
            uow.now(),
            reply=False,
        )
        return True


# ---- what the dashboard shows ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Notice:
    """An alert or digest as it really went."""

    kind: str  # alert, digest
    created_at: datetime
    team: str
    what: str
    status: str  # sent, waiting, failed, not sent
    error: str | None
    interaction_id: int | None = None


def delivery(conn: sa.Connection, keys: list[str | None]) -> dict[str, tuple[str, str | None]]:
    ob = t.outbox.c
    wanted = [k for k in keys if k]
    if not wanted:
        return {}
    return {
        str(r.idempotency_key): (str(r.status), r.last_error)
        for r in conn.execute(
            sa.select(ob.idempotency_key, ob.status, ob.last_error).where(
                ob.idempotency_key.in_(wanted)
            )
        ).all()
    }


def _status(key: str | None, found: dict[str, tuple[str, str | None]]) -> tuple[str, str | None]:
    if key is None:
        return "not sent", "the team has no email address (teams: email)"
    status, error = found.get(key, ("pending", None))
    if status == "sent":
        return "sent", None
    if status == "failed":
        return "failed", error or "failed"
    return "waiting", error  # queued, or being retried after a passing error


def recent_notices(
    conn: sa.Connection, limit: int = 50, label: Callable[[str], str] = lambda policy: policy
) -> list[Notice]:
    """The latest alerts and digests, newest first; `label` names a policy for staff."""
    a, d, i = tp.staff_alerts.c, tp.staff_digests.c, t.interactions.c
    alerts = conn.execute(
        sa.select(
            a.created_at, a.team, a.state, a.policy, a.outbox_key, a.interaction_id, i.reference
        )
        .select_from(tp.staff_alerts.join(t.interactions, a.interaction_id == i.id))
        .order_by(a.created_at.desc(), a.id.desc())
        .limit(limit)
    ).all()
    digests = conn.execute(
        sa.select(d.created_at, d.team, d.day, d.due_soon, d.breached, d.outbox_key)
        .where(sa.or_(d.due_soon > 0, d.breached > 0))
        .order_by(d.created_at.desc(), d.id.desc())
        .limit(limit)
    ).all()
    found = delivery(conn, [r.outbox_key for r in alerts] + [r.outbox_key for r in digests])
    notices = [
        Notice(
            "alert",
            r.created_at,
            str(r.team),
            f"{r.reference}: {label(str(r.policy))}, {STATE_WORDS.get(str(r.state), r.state)}",
            *_status(r.outbox_key, found),
            interaction_id=int(r.interaction_id),
        )
        for r in alerts
    ]
    notices += [
        Notice(
            "digest",
            r.created_at,
            str(r.team),
            f"Digest for {r.day}: {r.breached} missed, {r.due_soon} due soon",
            *_status(r.outbox_key, found),
        )
        for r in digests
    ]
    notices.sort(key=lambda n: n.created_at, reverse=True)
    return notices[:limit]


def failed_notices(conn: sa.Connection, since: datetime) -> list[Notice]:
    """Notifications since `since` that did not go (the dashboard's banner)."""
    return [
        n
        for n in recent_notices(conn, 200)
        if n.status in ("failed", "not sent") and n.created_at >= since
    ]


def summary(
    conn: sa.Connection, clocks: ClockService, settings: Settings, now: datetime
) -> dict[str, int]:
    items = needing_attention(conn, clocks, now, settings.sla.due_soon_fraction)
    return {
        "due_soon": sum(1 for a in items if a.state == DUE_SOON),
        "breached": sum(1 for a in items if a.state == BREACHED),
    }


class AlertsWorker:
    """Alerts and digests inside `doorstep serve`, every `alerts.every_minutes`. The claims
    in the database, not this loop, keep a notification to once."""

    def __init__(self, app: Any) -> None:
        self.alerts = StaffAlerts(app.settings, app.engine, app.clocks, app.now)
        self.poll_seconds = app.settings.alerts.every_minutes * 60
        self._stop = asyncio.Event()

    def run_once(self) -> tuple[int, int]:
        return self.alerts.send_alerts(), self.alerts.send_digests()

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:
                log.exception("staff alerts pass failed; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.poll_seconds)

    def stop(self) -> None:
        self._stop.set()


def build_worker(app: Any) -> AlertsWorker | None:
    return AlertsWorker(app) if app.settings.alerts.enabled else None
