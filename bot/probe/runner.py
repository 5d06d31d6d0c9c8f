"""One probe run: a marked enquiry on each channel, the acknowledgement timed and checked,
the result recorded in `probes` (MONITOR). Used by `doorstep probe` and the schedule."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.probe import checks
from bot.probe.marker import sign
from bot.probe.shoppers import Answer, ProbeSendError, Shopper
from bot.settings import Settings
from bot.storage import tables as t
from bot.storage import tables_probe as tp

log = logging.getLogger(__name__)

PASSED, SLOW, FAILED, RUNNING = "passed", "slow", "failed", "running"
ACK_KINDS = ("acknowledgement", "ooo")


@dataclass(frozen=True, slots=True)
class ProbeResult:
    channel: str
    status: str
    seconds: float | None
    reason: str | None
    reference: str | None

    def line(self) -> str:
        took = f"{self.seconds:.1f} s" if self.seconds is not None else "no answer"
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.channel}: {self.status}, {took}{why}"


class ProbeRunner:
    def __init__(
        self,
        settings: Settings,
        engine: sa.Engine,
        shoppers: Mapping[str, Shopper],
        *,
        now: Callable[[], datetime],
        poll_seconds: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not settings.probe.secret:
            raise ProbeSendError("probe.secret is not set (DOORSTEP_PROBE__SECRET)")
        self.settings = settings
        self.secret = settings.probe.secret
        self.engine = engine
        self.shoppers = dict(shoppers)
        self.now = now
        self.poll_seconds = poll_seconds
        self.sleep = sleep

    async def run(self, channels: list[str] | None = None) -> list[ProbeResult]:
        """Probe the channels (all configured ones by default) at the same time."""
        chosen = [c for c in (channels or list(self.shoppers)) if c in self.shoppers]
        return list(await asyncio.gather(*(self.run_one(c) for c in chosen)))

    async def run_one(self, channel: str) -> ProbeResult:
        shopper = self.shoppers[channel]
        probe = self.settings.probe
        started = self.now()
        token, marker = sign(self.secret, channel, started)
        probe_id = await asyncio.to_thread(self._start, channel, marker.nonce, started)
        answer: Answer | None = None
        reason: str | None = None
        try:
            sent = await shopper.send(token, started, probe.wait_seconds)
            answer = sent.answer
            if answer is None and getattr(shopper, "reads_mailbox", False) and sent.message_id:
                answer, reason = await self._wait_in_mailbox(shopper, sent.message_id, started)
            elif answer is None and channel != "webchat":
                answer, reason = await self._wait_for_ack(marker.nonce, started)
        except ProbeSendError as exc:
            reason = f"could not send: {exc}"
        except Exception as exc:  # a probe must record its failure, whatever it was
            log.warning("probe of %s failed", channel, exc_info=True)
            reason = f"could not send: {type(exc).__name__}"
        case = await asyncio.to_thread(self._case, marker.nonce)
        reference = case[1] if case else (answer.reference if answer else None)
        if answer is None and reason is None:
            reason = self._silence(case)
        seconds = (answer.at - started).total_seconds() if answer is not None else None
        if answer is not None:
            found = checks.problems(answer.text, self.settings, reference, around=answer.around)
            if found:
                status, reason = FAILED, "; ".join(found)
            elif seconds is not None and seconds > probe.slow_seconds:
                status = SLOW
                reason = f"answered in {seconds:.0f} s, over {probe.slow_seconds:.0f} s"
            else:
                status = PASSED
        else:
            status = FAILED
        result = ProbeResult(channel, status, seconds, reason, reference)
        await asyncio.to_thread(self._finish, probe_id, result, answer.at if answer else None, case)
        log.info("probe %s", result.line())
        return result

    def _silence(self, case: tuple[int, str] | None) -> str:
        wait = self.settings.probe.wait_seconds
        within = f"within {wait:.0f} seconds" if wait < 120 else f"within {wait / 60:.0f} minutes"
        if case is None:
            return f"no acknowledgement {within}: the message never reached Doorstep"
        return f"no acknowledgement {within}"

    async def _wait_for_ack(
        self, nonce: str, started: datetime
    ) -> tuple[Answer | None, str | None]:
        """The acknowledgement Doorstep sent for the probe's case (the outbox row, once the
        provider took it), or why there is none."""
        deadline = started + timedelta(seconds=self.settings.probe.wait_seconds)
        while True:
            found = await asyncio.to_thread(self._ack, nonce)
            if found is not None:
                return found
            if self.now() >= deadline:
                return None, None
            await self.sleep(self.poll_seconds)

    async def _wait_in_mailbox(
        self, shopper: Any, message_id: str, started: datetime
    ) -> tuple[Answer | None, str | None]:
        """The whole round trip: the acknowledgement as it reached the probe's mailbox."""
        deadline = started + timedelta(seconds=self.settings.probe.wait_seconds)
        while True:
            try:
                found = await asyncio.to_thread(shopper.find_answer, message_id)
            except ProbeSendError as exc:
                return None, f"could not read the probe's mailbox: {exc}"
            if found is not None:
                return dataclasses.replace(found, at=self.now()), None
            if self.now() >= deadline:
                return None, None
            await self.sleep(self.poll_seconds)

    def _ack(self, nonce: str) -> tuple[Answer | None, str | None] | None:
        pc, ob = tp.probe_cases.c, t.outbox.c
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(ob.status, ob.sent_at, ob.body, ob.last_error, t.interactions.c.reference)
                .select_from(
                    t.outbox.join(tp.probe_cases, pc.interaction_id == ob.interaction_id).join(
                        t.interactions, t.interactions.c.id == ob.interaction_id
                    )
                )
                .where(pc.nonce == nonce, ob.kind.in_(ACK_KINDS))
                .order_by(ob.id)
                .limit(1)
            ).first()
        if row is None:
            return None
        if row.status == "sent" and row.sent_at is not None:
            return Answer(str(row.body or ""), row.sent_at, row.reference), None
        if row.status == "failed":
            return None, f"the acknowledgement failed to send: {row.last_error or 'failed'}"
        return None  # still waiting in the outbox

    def _case(self, nonce: str) -> tuple[int, str] | None:
        pc, i = tp.probe_cases.c, t.interactions.c
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(i.id, i.reference)
                .select_from(tp.probe_cases.join(t.interactions, pc.interaction_id == i.id))
                .where(pc.nonce == nonce)
            ).first()
        return (int(row.id), str(row.reference)) if row is not None else None

    def _start(self, channel: str, nonce: str, at: datetime) -> int:
        with self.engine.begin() as conn:
            return int(
                conn.execute(
                    tp.probes.insert()
                    .values(channel=channel, nonce=nonce, started_at=at, status=RUNNING)
                    .returning(tp.probes.c.id)
                ).scalar_one()
            )

    def _finish(
        self,
        probe_id: int,
        result: ProbeResult,
        answered_at: datetime | None,
        case: tuple[int, str] | None,
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                tp.probes.update()
                .where(tp.probes.c.id == probe_id)
                .values(
                    status=result.status,
                    reason=result.reason[:2000] if result.reason else None,
                    seconds=result.seconds,
                    answered_at=answered_at,
                    reference=result.reference,
                    interaction_id=case[0] if case else None,
                )
            )
