"""Errors on staff pages as pages: a browser asking for /staff/... gets HTML in the
dashboard's layout with a sentence saying what happened and a way back, not raw JSON such
as {"detail": "Not in your queues."}. Other clients (scripts, the live fragment's fetch
without text/html) keep FastAPI's JSON. Redirects raised as exceptions (sign in first) pass
through untouched."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from bot.settings import Organisation
from bot.web.dashboard.deps import STATE_KEY, Dashboard, build_templates

TITLES = {
    400: "Something was wrong with that request",
    401: "Please sign in",
    403: "You cannot open this",
    404: "Page not found",
    405: "That cannot be done here",
    429: "Please wait",
}
DEFAULT_MESSAGES = {
    403: "It is not in your queues. Ask a team lead if you need it.",
    404: "There is nothing at this address. It may have been moved or mistyped.",
}

_templates = build_templates()


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return (path == "/staff" or path.startswith("/staff/")) and "text/html" in request.headers.get(
        "accept", ""
    )


def staff_error_handler(
    organisation: Organisation,
) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code < 400 or not _wants_html(request):
            return await http_exception_handler(request, exc)
        return await _page(request, exc, organisation)

    return handler


async def _page(request: Request, exc: HTTPException, org: Organisation) -> Response:
    ctx = getattr(request.state, STATE_KEY, None)
    user = None
    if isinstance(ctx, Dashboard):  # unset for a path no route matched
        user = await run_in_threadpool(ctx.user_for, request)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail else None
    if exc.status_code == 404 and detail in (None, "Not Found"):
        detail = None
    message = detail or DEFAULT_MESSAGES.get(exc.status_code, "That did not work.")
    if exc.status_code == 403 and detail == "Not in your queues.":
        message = DEFAULT_MESSAGES[403]
    response = _templates.TemplateResponse(
        request,
        "error.html",
        {
            "user": user,
            "csrf": ctx.csrf_for(request) if user is not None and ctx is not None else "",
            "org": org,
            "title": TITLES.get(exc.status_code, "Something went wrong"),
            "message": message,
        },
        status_code=exc.status_code,
    )
    for key, value in (exc.headers or {}).items():
        response.headers.setdefault(key, value)
    return response
