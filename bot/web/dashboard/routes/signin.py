"""Sign-in and sign-out, and the dashboard's static files (the only routes without a user)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.web.dashboard import auth
from bot.web.dashboard.deps import (
    HERE,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Dashboard,
    FormUser,
    redirect,
    safe_next,
    wall_now,
)

STATIC = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
}


def build(ctx: Dashboard) -> APIRouter:
    router = APIRouter()
    settings = ctx.settings

    @router.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(status_code=404)
        return Response(
            (HERE / "static" / name).read_bytes(),
            media_type=STATIC[name],
            headers={"Cache-Control": "max-age=300"},
        )

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/staff/") -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        response = ctx.page(
            request,
            "login.html",
            None,
            next=safe_next(next),
            login_csrf=auth.sign(ctx.secret, "login", nonce),
        )
        response.set_cookie(
            LOGIN_COOKIE,
            nonce,
            max_age=3600,
            httponly=True,
            samesite="strict",
            secure=settings.dashboard.cookie_secure,
            path="/staff",
        )
        return response

    @router.post("/login", response_model=None)
    def login(
        request: Request,
        email: Annotated[str, Form()],
        password: Annotated[str, Form()],
        csrf: Annotated[str, Form()],
        next: Annotated[str, Form()] = "/staff/",
    ) -> Response:
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not nonce or not auth.check(ctx.secret, "login", nonce, csrf):
            raise HTTPException(status_code=403, detail="The form has expired. Reload the page.")
        email = email.strip().lower()

        def again(message: str, status: int) -> HTMLResponse:
            return ctx.page(
                request,
                "login.html",
                None,
                status_code=status,
                error=message,
                email=email,
                next=safe_next(next),
                login_csrf=csrf,
            )

        if ctx.throttle.blocked(email):
            return again("Too many failed attempts. Wait 15 minutes and try again.", 429)
        with ctx.engine.begin() as conn:
            user = auth.authenticate(conn, email, password, wall_now())
            if user is None:
                ctx.throttle.fail(email)
                return again("The email address or password is not right.", 401)
            token = auth.start_session(
                conn, user.id, hours=settings.dashboard.session_hours, now=wall_now()
            )
        ctx.throttle.clear(email)
        response = redirect(safe_next(next))
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=settings.dashboard.session_hours * 3600,
            httponly=True,
            samesite="lax",
            secure=settings.dashboard.cookie_secure,
            path="/",  # the JSON API reads it too (read scope); see bot/web/api_auth.py
        )
        response.delete_cookie(LOGIN_COOKIE, path="/staff")
        return response

    @router.post("/logout")
    def logout(request: Request, user: FormUser) -> RedirectResponse:
        token = request.cookies.get(SESSION_COOKIE, "")
        with ctx.engine.begin() as conn:
            auth.end_session(conn, token)
        response = redirect("/staff/login")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return router
