"""Subject access requests and erasure (UK GDPR Articles 15 and 17).

`export` gathers everything Doorstep holds about a person found by email address or phone
number: their contact record and every identity it has (so a chat or a social id of the
same resident comes too), every case, every message they sent and we sent, the deadlines,
what happened, chat transcripts, appointments, and messages not filed on a case
(suppressed, quarantined) from the same address. It opens a case for the request and
starts its `sar` clock (one month, extendable by two: PRIVACY).

The export is a draft for a person to check before it is sent: other people's data (a
neighbour named in an ASB report, a staff member's note) may need to be redacted first.

`erase` anonymises a person's closed cases and forgets their identities where no open case
still needs them; an open case is kept (the law does not require erasing what is needed
to deal with it) and named in the result. Every erasure is recorded, with counts and the
reason, never the person's data.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import sqlalchemy as sa

from bot.privacy.anonymise import Anonymised, anonymise_interactions
from bot.service.clocks import ClockService
from bot.settings import Settings
from bot.storage import tables as t
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import UnitOfWork

_PHONE_CHARS = re.compile(r"[\s()-]")


class SubjectNotFound(LookupError):
    """Nothing is held about that address or number."""


def normalise_phone(phone: str) -> str:
    """UK numbers as stored (E.164): 07700 900123 -> +447700900123."""
    digits = _PHONE_CHARS.sub("", phone.strip())
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits.startswith("0") and len(digits) == 11:
        digits = "+44" + digits[1:]
    return digits


@dataclass(frozen=True, slots=True)
class Subject:
    """Who the request is about: the addresses given and every contact they lead to."""

    email: str | None
    phone: str | None
    contact_ids: tuple[int, ...]
    addresses: tuple[str, ...]  # every address and number of those contacts, and the given


def find_subject(conn: sa.Connection, *, email: str | None, phone: str | None) -> Subject:
    given: list[tuple[str, str]] = []
    if email:
        given.append(("email", email.strip().lower()))
    if phone:
        given.append(("phone", normalise_phone(phone)))
    if not given:
        raise ValueError("give an email address or a phone number")
    ci = t.contact_identities.c
    contact_ids = sorted(
        {
            int(c)
            for kind, value in given
            for c in conn.execute(
                sa.select(ci.contact_id).where(ci.kind == kind, ci.value == value)
            ).scalars()
        }
    )
    addresses = {value for _, value in given}
    if contact_ids:
        addresses |= {
            str(v)
            for v in conn.execute(
                sa.select(ci.value).where(ci.contact_id.in_(contact_ids))
            ).scalars()
        }
    return Subject(
        email=given[0][1] if email else None,
        phone=normalise_phone(phone) if phone else None,
        contact_ids=tuple(contact_ids),
        addresses=tuple(sorted(addresses)),
    )


def _rows(conn: sa.Connection, query: sa.Select[Any]) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(query).all()]


def gather(conn: sa.Connection, subject: Subject) -> dict[str, Any]:
    """Everything held about the subject, as plain data (JSON-ready after `_jsonable`)."""
    c, ci, i = t.contacts.c, t.contact_identities.c, t.interactions.c
    ib, ob, ev, ck = t.inbound_messages.c, t.outbox.c, t.events.c, t.clocks.c
    ids = list(subject.contact_ids)
    contacts = []
    for row in _rows(conn, sa.select(c.id, c.name, c.needs, c.created_at).where(c.id.in_(ids))):
        row["identities"] = _rows(
            conn, sa.select(ci.kind, ci.value).where(ci.contact_id == row["id"])
        )
        contacts.append(row)
    cases = []
    case_ids: list[int] = []
    for row in _rows(
        conn,
        sa.select(
            i.id, i.reference, i.channel, i.topic, i.urgency, i.team, i.status, i.subject,
            i.address, i.complaint_stage, i.outcome, i.created_at, i.updated_at,
        ).where(i.contact_id.in_(ids)).order_by(i.created_at, i.id),
    ):  # fmt: skip
        case_id = row.pop("id")
        case_ids.append(case_id)
        row["messages_from_you"] = _rows(
            conn,
            sa.select(
                ib.received_at, ib.stored_at, ib.channel, ib.sender, ib.subject, ib.body
            ).where(ib.interaction_id == case_id).order_by(ib.id),
        )  # fmt: skip
        row["messages_to_you"] = _rows(
            conn,
            sa.select(
                ob.created_at, ob.sent_at, ob.channel, ob.recipient, ob.subject, ob.body,
                ob.status,
            ).where(ob.interaction_id == case_id).order_by(ob.id),
        )  # fmt: skip
        row["deadlines"] = _rows(
            conn,
            sa.select(
                ck.policy, ck.promise, ck.started_at, ck.due_at, ck.stopped_at, ck.outcome
            ).where(ck.interaction_id == case_id).order_by(ck.id),
        )  # fmt: skip
        row["what_happened"] = _rows(
            conn,
            sa.select(ev.created_at, ev.kind, ev.detail)
            .where(ev.interaction_id == case_id)
            .order_by(ev.id),
        )
        cases.append(row)
    addresses = list(subject.addresses)
    not_filed = _rows(
        conn,
        sa.select(
            ib.received_at, ib.stored_at, ib.channel, ib.sender, ib.subject, ib.body, ib.status
        )
        .where(ib.sender.in_(addresses), ib.interaction_id.is_(None))
        .order_by(ib.id),
    )
    return {
        "contacts": contacts,
        "cases": cases,
        "chats": _chats(conn, case_ids, addresses),
        "messages_not_filed_on_a_case": not_filed,
        "appointments": _appointments(conn, ids, addresses),
        "automatic_replies_held": _rows(
            conn,
            sa.select(
                t.address_holds.c.channel,
                t.address_holds.c.address,
                t.address_holds.c.reason,
                t.address_holds.c.until,
                t.address_holds.c.created_at,
            ).where(t.address_holds.c.address.in_(addresses)),
        ),
    }


def _chats(conn: sa.Connection, case_ids: list[int], addresses: list[str]) -> list[Any]:
    from bot.storage.tables_webchat import webchat_messages, webchat_sessions

    s, m = webchat_sessions.c, webchat_messages.c
    chats = []
    for session in _rows(
        conn,
        sa.select(s.id, s.reference, s.created_at, s.last_seen_at)
        .where(sa.or_(s.interaction_id.in_(case_ids), s.id.in_(addresses)))
        .order_by(s.created_at),
    ):
        session["lines"] = _rows(
            conn,
            sa.select(m.seq, m.role, m.body, m.created_at)
            .where(m.session_id == session.pop("id"))
            .order_by(m.seq),
        )
        chats.append(session)
    return chats


def _appointments(conn: sa.Connection, contact_ids: list[int], addresses: list[str]) -> list[Any]:
    try:
        from bot.storage.tables_sms import appointments
    except ImportError:  # pragma: no cover
        return []
    a = appointments.c
    return _rows(
        conn,
        sa.select(
            a.job_ref, a.resident_name, a.phone, a.email, a.address, a.trade, a.slot_date,
            a.slot, a.status, a.cancel_reason, a.satisfaction, a.created_at,
        ).where(sa.or_(a.contact_id.in_(contact_ids), a.phone.in_(addresses))),
    )  # fmt: skip


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@dataclass(frozen=True, slots=True)
class Export:
    reference: str  # the request's own case
    due_at: datetime
    json_path: Path
    html_path: Path
    counts: dict[str, int] = field(default_factory=dict)


def export(
    engine: sa.Engine,
    settings: Settings,
    clocks: ClockService,
    *,
    email: str | None,
    phone: str | None,
    out_dir: Path,
    now: datetime,
    received_at: datetime | None = None,
) -> Export:
    """Write everything held about the person (sar.json and sar.html in `out_dir`, readable
    by this user only), open a case for the request and start its `sar` clock."""
    received = received_at or now
    with UnitOfWork(engine, lambda: now) as uow:
        subject = find_subject(uow.conn, email=email, phone=phone)
        if not subject.contact_ids and not _any_message(uow.conn, subject.addresses):
            raise SubjectNotFound("nothing is held about that address or number")
        data = gather(uow.conn, subject)
        kind, value = ("email", subject.email) if subject.email else ("phone", subject.phone)
        assert value is not None
        contact_id = subject.contact_ids[0] if subject.contact_ids else uow.contact_for(kind, value)
        team = settings.privacy.sar_team or settings.default_team
        case = uow.create_interaction(
            prefix=settings.organisation.reference_prefix,
            contact_id=contact_id,
            channel="email" if kind == "email" else "sms",
            topic="general",
            urgency="routine",
            intent="subject_access_request",
            team=team,
            owner=None,
            subject="Subject access request",
            address=value,
            classification=None,
            now=now,
        )
        interactions = SqlInteractions(uow)
        request = interactions.get(case.id)
        (clock,) = request.make_promises(
            clocks, ("sar",), by="assistant", reason="subject access request", at=now,
            since=received,
        )  # fmt: skip
        interactions.save(request)
        counts = {
            "contacts": len(data["contacts"]),
            "cases": len(data["cases"]),
            "chats": len(data["chats"]),
            "messages_not_filed_on_a_case": len(data["messages_not_filed_on_a_case"]),
            "appointments": len(data["appointments"]),
        }
        # The record of the request: counts, never the person's data.
        uow.add_event(case.id, "sar_exported", {"counts": counts})
        due_at = _due(clock, clocks, received)
        document = {
            "request": {
                "reference": case.reference,
                "email": subject.email,
                "phone": subject.phone,
                "received_at": received,
                "exported_at": now,
                "answer_due_by": due_at,
                "organisation": settings.organisation.name,
            },
            **data,
        }
        json_path, html_path = _write(out_dir, document, settings)
        uow.commit()
    return Export(case.reference, due_at, json_path, html_path, counts)


def _due(clock: Any, clocks: ClockService, received: datetime) -> datetime:
    due = getattr(clock, "due_at", None)
    return due if isinstance(due, datetime) else clocks.deadline("sar", received)


def _any_message(conn: sa.Connection, addresses: Iterable[str]) -> bool:
    ib = t.inbound_messages.c
    found = conn.execute(sa.select(ib.id).where(ib.sender.in_(list(addresses))).limit(1)).first()
    return found is not None


def _private_file(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def _write(out_dir: Path, document: dict[str, Any], settings: Settings) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = _jsonable(document)
    json_path, html_path = out_dir / "sar.json", out_dir / "sar.html"
    _private_file(json_path, json.dumps(data, indent=2, ensure_ascii=False))
    _private_file(html_path, _HTML.render(d=data, org=settings.organisation))
    return json_path, html_path


def erase(
    engine: sa.Engine,
    *,
    email: str | None,
    phone: str | None,
    reason: str,
    now: datetime,
    dry_run: bool = False,
) -> tuple[list[str], list[str], Anonymised]:
    """Anonymise the person's closed cases. Returns (erased references, kept open ones,
    counts). Recorded as an event with the reason and counts."""
    if not reason.strip():
        raise ValueError("give the reason for the erasure (it is recorded)")
    i = t.interactions.c
    with UnitOfWork(engine, lambda: now) as uow:
        subject = find_subject(uow.conn, email=email, phone=phone)
        if not subject.contact_ids:
            raise SubjectNotFound("nothing is held about that address or number")
        rows = uow.conn.execute(
            sa.select(i.id, i.reference, i.status).where(i.contact_id.in_(subject.contact_ids))
        ).all()
        closed = [r for r in rows if r.status == "closed"]
        kept = [str(r.reference) for r in rows if r.status not in ("closed", "anonymised")]
        erased = [str(r.reference) for r in closed]
        if dry_run:
            return erased, kept, Anonymised(interactions=len(closed))
        done = anonymise_interactions(uow.conn, [int(r.id) for r in closed], now)
        uow.add_event(
            None,
            "erasure",
            {
                "reason": reason.strip()[:500],
                "cases": len(erased),
                "kept_open": len(kept),
                "messages": done.inbound + done.outbound,
            },
        )
        uow.commit()
    return erased, kept, done


# The readable copy; autoescaped: everything in it was written by someone else.
_HTML = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).with_name("templates"))),
    autoescape=True,
    undefined=jinja2.ChainableUndefined,
).get_template("sar.html.j2")
