"""What the appointment texts say, and how they go (APPT, AFTER-JOB).

Every word comes from a template in actions/templates/ (`appointment_*.txt.j2`, rendered
for SMS by the composer); the resident is greeted through bot.domain.greeting ("Smith,
Jane" is Jane). A text goes through the outbox in the same transaction as the change it
reports, under an idempotency key naming that change, so it is sent exactly once; by
email instead when the number opted out and we have an address.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from actions.appointments import store
from actions.appointments.model import Appointment, Context, slot_window
from actions.wording import date_in_words
from bot.domain.greeting import greeting_name
from bot.domain.model import Channel, OutboundMessage
from bot.settings import Settings
from bot.storage.repository import UnitOfWork, idempotency_key
from channels.sms import gsm
from channels.sms.conversation import enqueue_text
from channels.sms.optout import is_opted_out

if TYPE_CHECKING:
    from bot.conversation.engine import Reply


def _time_words(moment: time) -> str:
    if moment == time(12, 0):
        return "midday"
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour}{suffix}" if moment.minute == 0 else f"{hour}:{moment.minute:02d}{suffix}"


def slot_in_words(settings: Settings, slot_date: date, slot: str, today: date) -> str:
    """'Tuesday 1 December, in the morning (8am to 1pm)'."""
    start, end = slot_window(settings, slot)
    span = f"{_time_words(start)} to {_time_words(end)}"
    day = date_in_words(slot_date, today=today)
    if slot == "am":
        return f"{day}, in the morning ({span})"
    if slot == "pm":
        return f"{day}, in the afternoon ({span})"
    return f"{day}, between {_time_words(start)} and {_time_words(end)}"


def text_values(ctx: Context, appt: Appointment, now: datetime, **extra: object) -> dict[str, Any]:
    today = now.astimezone(ctx.zone).date()
    return {
        "first_name": greeting_name(appt.resident_name),
        "job_ref": appt.job_ref,
        "trade": appt.trade.lower(),
        "address": appt.address,
        "when": slot_in_words(ctx.settings, appt.slot_date, appt.slot, today),
        **extra,
    }


def is_urgent(ctx: Context, appt: Appointment, now: datetime) -> bool:
    """A change to a visit due before quiet hours end would arrive too late if held."""
    from channels.sms.quiet import quiet_until

    until = quiet_until(now, ctx.settings.sms)
    return until is not None and appt.slot_start <= until + timedelta(hours=2)


def send_text(
    uow: UnitOfWork,
    ctx: Context,
    appt: Appointment,
    template: str,
    key: str,
    now: datetime,
    *,
    kind: str,
    urgent: bool = False,
    reply: bool = False,
    clock: str | None = None,
    interaction_id: int | None = None,
    **extra: object,
) -> None:
    """One appointment text, through the outbox; by email instead when the number opted out
    and we have an address (the resident still needs to know: APPT)."""
    body = ctx.composer.render(template, channel="sms", **text_values(ctx, appt, now, **extra))
    subject = f"Your {appt.trade.lower()} appointment ({appt.job_ref})"
    meta = {"job_ref": appt.job_ref, "subject": subject}
    if clock:
        meta["clock"] = clock
    target = interaction_id if interaction_id is not None else appt.interaction_id
    if is_opted_out(uow, appt.phone, now):
        if appt.email and ctx.settings.sms.fallback_to_email:
            uow.enqueue(
                OutboundMessage(
                    channel=Channel.EMAIL,
                    recipient=appt.email,
                    body=gsm.normalise(body),
                    subject=subject,
                    sender=ctx.settings.email.from_address,
                    idempotency_key=idempotency_key(key, "email"),
                    interaction_id=target,
                    kind=kind,
                    meta=meta,
                )
            )
        uow.add_event(
            target,
            "appointment_text_not_sent",
            {
                "job_ref": appt.job_ref,
                "kind": kind,
                "reason": "number opted out of texts",
                "emailed": bool(appt.email),
            },
        )
        return
    enqueue_text(
        uow,
        ctx.settings,
        OutboundMessage(
            channel=Channel.SMS,
            recipient=appt.phone,
            body=body,
            idempotency_key=key,
            sender=ctx.settings.sms.from_number,
            interaction_id=target,
            kind=kind,
            meta=meta,
        ),
        now,
        urgent=urgent,
        reply=reply,
    )
    store.update(uow.conn, appt.id, last_texted_at=now)


def reply_to_resident(
    uow: UnitOfWork,
    ctx: Context,
    appt: Appointment,
    template: str,
    key: str,
    now: datetime,
    *,
    kind: str,
    interaction_id: int | None,
    acknowledges: bool,
    **extra: object,
) -> list[Reply]:
    """The answer to the resident's own text, as the `Reply` the turn's caller sends
    through the outbox (bot.conversation.turns, one path with the SMS rules); by email
    instead when the number opted out and we have an address (APPT), else none."""
    from bot.conversation.engine import Redirect, Reply

    body = ctx.composer.render(template, channel="sms", **text_values(ctx, appt, now, **extra))
    subject = f"Your {appt.trade.lower()} appointment ({appt.job_ref})"
    meta = {"job_ref": appt.job_ref, "subject": subject}
    target = interaction_id if interaction_id is not None else appt.interaction_id
    if is_opted_out(uow, appt.phone, now):
        uow.add_event(
            target,
            "appointment_text_not_sent",
            {
                "job_ref": appt.job_ref,
                "kind": kind,
                "reason": "number opted out of texts",
                "emailed": bool(appt.email),
            },
        )
        if not (appt.email and ctx.settings.sms.fallback_to_email):
            return []
        by_email = Redirect(
            Channel.EMAIL, appt.email, subject=subject, sender=ctx.settings.email.from_address
        )
        return [
            Reply(
                gsm.normalise(body), kind=kind, template=template, acknowledges=acknowledges,
                key=idempotency_key(key, "email"), meta=meta, redirect=by_email,
            )
        ]  # fmt: skip
    store.update(uow.conn, appt.id, last_texted_at=now)
    return [
        Reply(body, kind=kind, template=template, acknowledges=acknowledges, key=key, meta=meta)
    ]
