"""The pipeline's side of a probe: tell one from a resident's message, and set its case
apart (MONITOR). The case goes through the whole pipeline first (classified, routed, clocks
started, acknowledged through the outbox), so what is measured is what a resident gets;
then it is closed at once, every clock withdrawn, and named in `probe_cases`: the queue
shows open cases only, and the figures leave out the cases named there."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.domain.interaction import Settlement
from bot.domain.model import InboundMessage
from bot.probe.marker import recognise
from bot.settings import Settings
from bot.storage import tables_probe as tp
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import StoredInbound, UnitOfWork
from sla.clock import WITHDRAWN

# The nonce is claimed once: a replayed marker (a probe's text sent again) is a resident's
# message after all, and stays in the queue.
_CLAIM = sa.text(
    "INSERT INTO probe_cases (interaction_id, nonce, channel, marked_at) "
    "VALUES (:interaction_id, :nonce, :channel, :marked_at) "
    "ON CONFLICT DO NOTHING RETURNING interaction_id"
).bindparams(sa.bindparam("marked_at", type_=tp.probe_cases.c.marked_at.type))


def set_apart_if_probe(
    uow: UnitOfWork,
    settings: Settings,
    item: StoredInbound,
    msg: InboundMessage,
    interaction_id: int | None,
    now: datetime,
) -> bool:
    """Close the new case `interaction_id` when `msg` is one of our probes; True if so."""
    if not settings.probe.secret or interaction_id is None:
        return False
    marker = recognise(
        settings.probe.secret,
        msg.channel.value,
        raw=item.raw,
        body=msg.body,
        now=now,
        max_age=timedelta(minutes=settings.probe.marker_max_age_minutes),
    )
    if marker is None:
        return False
    claimed = uow.conn.execute(
        _CLAIM,
        {
            "interaction_id": interaction_id,
            "nonce": marker.nonce,
            "channel": marker.channel,
            "marked_at": now,
        },
    ).first()
    if claimed is None:
        return False
    cases = SqlInteractions(uow)
    case = cases.get(interaction_id)
    why = "mystery-shopper probe: not a resident"
    case.close(
        outcome=WITHDRAWN,
        text="A mystery-shopper probe of this channel (docs/probe.md), set apart automatically.",
        settlements={c.policy: Settlement(WITHDRAWN, why) for c in case.open_clocks()},
        by="probe",
        at=now,
        told=False,
        automatic=True,
    )
    cases.save(case)
    return True
