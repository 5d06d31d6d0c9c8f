"""The appointments API for the repairs system (APPT).

    POST  /api/appointments                      schedule (texts the resident)
    PUT   /api/appointments/{job_ref}            change any fields (PATCH is the same);
                                                 a new date or slot texts the resident
    POST  /api/appointments/{job_ref}/cancel     we cancel: {"reason": "..."} optional
    POST  /api/appointments/{job_ref}/complete   the job is done: asks "were you happy?"
    GET   /api/appointments/{job_ref}            the appointment and its texts

Authenticated with `Authorization: Bearer <token>`, a token of the `appointments` scope
(`doorstep token add`; bot/web/api_auth.py). Bad input is a 422 whose
`detail` lists each field and what is wrong with it, in plain words. The routes are thin:
they check the token and the body, then call `actions.appointments.AppointmentService`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from actions.appointments import (
    Appointment,
    AppointmentConflict,
    AppointmentError,
    AppointmentNotFound,
    AppointmentService,
    InvalidAppointment,
)
from bot.bootstrap import App
from bot.web.api_auth import require

P = ParamSpec("P")
R = TypeVar("R")


def _problem(exc: AppointmentError) -> HTTPException:
    if isinstance(exc, InvalidAppointment):
        return HTTPException(
            status_code=422,
            detail=[{"loc": ["body", f], "msg": m, "type": "value_error"} for f, m in exc.errors],
        )
    if isinstance(exc, AppointmentNotFound):
        return HTTPException(status_code=404, detail=str(exc))
    if isinstance(exc, AppointmentConflict):
        return HTTPException(status_code=409, detail=str(exc))
    return HTTPException(status_code=422, detail=str(exc))


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(
            status_code=422,
            detail=[{"loc": ["body"], "msg": "the body must be JSON", "type": "json_invalid"}],
        ) from None
    if not isinstance(body, dict):
        raise HTTPException(
            status_code=422,
            detail=[{"loc": ["body"], "msg": "the body must be a JSON object", "type": "type"}],
        )
    return body


def build_router(app: App) -> APIRouter:
    service = AppointmentService.from_app(app)
    router = APIRouter(
        prefix="/api/appointments",
        tags=["appointments"],
        dependencies=[Depends(require("appointments"))],
    )

    def view(appt: Appointment) -> dict[str, Any]:
        out = appt.as_dict()
        out["texts"] = service.texts(appt)
        return out

    async def call(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = await asyncio.to_thread(func, *args, **kwargs)
        except AppointmentError as exc:
            raise _problem(exc) from exc
        app.outbox.wake()  # a text was probably written: send it now, not at the next poll
        return result

    @router.post("", status_code=201)
    async def schedule(request: Request) -> JSONResponse:
        body = await _json_object(request)
        appt, created = await call(service.schedule, body)
        content = await asyncio.to_thread(view, appt)
        return JSONResponse(content, status_code=201 if created else 200)

    async def _update(job_ref: str, request: Request) -> dict[str, Any]:
        body = await _json_object(request)
        appt = await call(service.update, job_ref, body)
        return await asyncio.to_thread(view, appt)

    @router.put("/{job_ref}")
    async def put(job_ref: str, request: Request) -> dict[str, Any]:
        return await _update(job_ref, request)

    @router.patch("/{job_ref}")
    async def patch(job_ref: str, request: Request) -> dict[str, Any]:
        return await _update(job_ref, request)

    @router.post("/{job_ref}/cancel")
    async def cancel(job_ref: str, request: Request) -> dict[str, Any]:
        raw = await request.body()
        reason = None
        if raw.strip():
            body = await _json_object(request)
            unknown = sorted(set(body) - {"reason"})
            if unknown:
                raise HTTPException(
                    status_code=422,
                    detail=[
                        {
                            "loc": ["body", k],
                            "msg": "unknown field; accepted: reason",
                            "type": "extra",
                        }
                        for k in unknown
                    ],
                )
            reason = body.get("reason")
            if reason is not None and not isinstance(reason, str):
                raise HTTPException(
                    status_code=422,
                    detail=[{"loc": ["body", "reason"], "msg": "must be text", "type": "type"}],
                )
        appt = await call(service.cancel, job_ref, reason)
        return await asyncio.to_thread(view, appt)

    @router.post("/{job_ref}/complete")
    async def complete(job_ref: str) -> dict[str, Any]:
        appt = await call(service.complete, job_ref)
        return await asyncio.to_thread(view, appt)

    @router.get("/{job_ref}")
    async def get(job_ref: str) -> dict[str, Any]:
        appt = await call(service.get, job_ref)
        return await asyncio.to_thread(view, appt)

    return router
