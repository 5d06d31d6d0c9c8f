"""The resident's language, changed by staff on the case page (ACCESS; Welsh Language
Standards: the preference recorded is used for every later message). A POST with the CSRF
token like every form; audit logged, and an event on the case says who changed it to what."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse

from actions.languages import LANGUAGE_NAMES, STAFF, language_name
from actions.replies import ActionError
from bot.service import language
from bot.storage.repository import UnitOfWork
from bot.web.dashboard.deps import Dashboard, FormUser, RowId


def build(ctx: Dashboard) -> APIRouter:
    router = APIRouter()

    @router.post("/interactions/{interaction_id}/language")
    async def set_language(
        interaction_id: RowId,
        user: FormUser,
        code: Annotated[str, Form(alias="language")] = "",
    ) -> RedirectResponse:
        chosen = code.strip().lower()

        def do(uow: UnitOfWork) -> str:
            if chosen not in LANGUAGE_NAMES:
                raise ActionError("Choose a language from the list.")
            contact_id = language.interaction_contact(uow.conn, interaction_id)
            if contact_id is None:
                raise ActionError("That interaction does not exist.")
            before = language.contact_language(uow.conn, contact_id)
            if not language.set_language(uow.conn, contact_id, chosen, STAFF):
                return f"The language was already {language_name(chosen)}."
            uow.add_event(
                interaction_id,
                language.EVENT,
                {"language": chosen, "was": before.language, "by": STAFF, "actor": user.email},
            )
            return f"Language set to {language_name(chosen)}. Later messages use it."

        return await ctx.act(user, interaction_id, do, audit_as="language_changed")

    return router


def page_values(conn: sa.Connection, contact_id: int) -> dict[str, object]:
    """What the case page's language form shows (`_language.html`)."""
    stored = language.contact_language(conn, contact_id)
    return {
        "language": stored,
        "language_label": language_name(stored.language),
        # English and Welsh first, then the others by name.
        "language_choices": sorted(
            LANGUAGE_NAMES.items(), key=lambda kv: (kv[0] not in ("en", "cy"), kv[1])
        ),
    }
