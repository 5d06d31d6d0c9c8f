"""Sign-in (password, then the TOTP second factor or its enrolment), sign-out, and the
dashboard's static files: the only routes a stranger reaches.

    POST /staff/login          password right: a session, or (second factor on or required)
                               a 5-minute signed "password done" cookie and the next step
    GET/POST /staff/login/code     the six-digit code from the app
    GET/POST /staff/login/enrol    required but not set up yet: QR code and secret, shown once

Every attempt first asks the throttle (progressive delay by address, client and both; see
throttle.py); a wrong password or code counts. The sign-in form carries its own CSRF token
(a random cookie and its HMAC), as there is no session yet.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.web.dashboard import audit, auth, totp
from bot.web.dashboard.auth import StaffUser
from bot.web.dashboard.deps import (
    HERE,
    LOGIN_COOKIE,
    MFA_COOKIE,
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
MFA_SECONDS = 300


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def wait_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def enrol_page(
    ctx: Dashboard,
    request: Request,
    user: StaffUser,
    *,
    action: str,
    csrf_value: str,
    next: str,
    secret: str | None = None,
    error: str | None = None,
    status: int = 200,
    signed_in_user: StaffUser | None = None,
) -> HTMLResponse:
    secret = secret or totp.new_secret()
    uri = totp.provisioning_uri(secret, email=user.email, issuer=ctx.settings.organisation.name)
    return ctx.page(
        request,
        "enrol.html",
        signed_in_user,
        status_code=status,
        error=error,
        action=action,
        form_csrf=csrf_value,
        next=safe_next(next),
        secret=secret,
        secret_groups=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        secret_sig=auth.sign(ctx.secret, f"enrol:{user.id}", secret),
        qr=totp.qr_data_uri(uri),
    )


def enrol_checked(
    ctx: Dashboard, request: Request, user: StaffUser, secret: str, secret_sig: str, code: str
) -> bool:
    """Two-step sign-in set up with the secret we showed (signed for this user) and a right
    code from the app; recorded in the audit log. Shared by first sign-in and "Your account"."""
    if not auth.check(ctx.secret, f"enrol:{user.id}", secret, secret_sig):
        raise HTTPException(status_code=403, detail="The form has expired. Reload the page.")
    now = wall_now()
    with ctx.engine.begin() as conn:
        done = totp.enrol(conn, user.id, secret, code, now)
        if done:
            audit.record(
                conn,
                actor=user.email,
                user_id=user.id,
                action="totp_enrolled",
                now=now,
                client=client_of(request),
            )
    return done


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

    # ---- helpers -------------------------------------------------------------------------

    def check_login_csrf(request: Request, csrf: str) -> None:
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not nonce or not auth.check(ctx.secret, "login", nonce, csrf):
            raise HTTPException(status_code=403, detail="The form has expired. Reload the page.")

    def pending_cookie(user_id: int) -> str:
        value = f"{user_id}.{int(time.time()) + MFA_SECONDS}"
        return f"{value}.{auth.sign(ctx.secret, 'mfa', value)}"

    def pending_user(request: Request) -> StaffUser | None:
        """The user whose password was right in the last few minutes (this browser)."""
        value, _, sig = request.cookies.get(MFA_COOKIE, "").rpartition(".")
        if not value or not auth.check(ctx.secret, "mfa", value, sig):
            return None
        user_id, _, expires = value.partition(".")
        if not expires.isdigit() or int(expires) < time.time() or not user_id.isdigit():
            return None
        with ctx.engine.connect() as conn:
            user = auth.get_user(conn, int(user_id))
        return user if user is not None and user.active else None

    def signed_in(request: Request, user: StaffUser, next: str, now: datetime) -> Response:
        with ctx.engine.begin() as conn:
            token = auth.start_session(
                conn, user.id, hours=settings.dashboard.session_hours, now=now
            )
            audit.record(
                conn,
                actor=user.email,
                user_id=user.id,
                action="signed_in",
                now=now,
                client=client_of(request),
            )
        response = redirect("/staff/account" if user.must_change_password else safe_next(next))
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=settings.dashboard.session_hours * 3600,
            httponly=True,
            samesite="lax",
            secure=ctx.cookie_secure,
            path="/",  # the JSON API reads it too (read scope); see bot/web/api_auth.py
        )
        response.delete_cookie(LOGIN_COOKIE, path="/staff")
        response.delete_cookie(MFA_COOKIE, path="/staff")
        return response

    # ---- step 1: the password ------------------------------------------------------------

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
            secure=ctx.cookie_secure,
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
        check_login_csrf(request, csrf)
        email = email.strip().lower()[:320]
        client = client_of(request)

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

        wait = ctx.throttle.wait_seconds(email, client)
        if wait:
            return again(f"Too many attempts. Wait {wait_words(wait)} and try again.", 429)
        now = wall_now()
        with ctx.engine.begin() as conn:
            user = auth.authenticate(conn, email, password, now)
            if user is None:
                audit.record(conn, actor=email, action="sign_in_failed", now=now, client=client)
        if user is None:
            ctx.throttle.fail(email, client)
            return again("The email address or password is not right.", 401)
        ctx.throttle.succeed(email, client)
        if user.totp_enabled or ctx.totp_required(user):
            step = "/staff/login/code" if user.totp_enabled else "/staff/login/enrol"
            response = redirect(f"{step}?{urlencode({'next': safe_next(next)})}")
            response.set_cookie(
                MFA_COOKIE,
                pending_cookie(user.id),
                max_age=MFA_SECONDS,
                httponly=True,
                samesite="strict",
                secure=ctx.cookie_secure,
                path="/staff",
            )
            return response
        return signed_in(request, user, next, now)

    # ---- step 2: the code from the app ---------------------------------------------------

    def restart() -> RedirectResponse:
        response = redirect("/staff/login")
        response.delete_cookie(MFA_COOKIE, path="/staff")
        return response

    @router.get("/login/code", response_model=None)
    def code_form(request: Request, next: str = "/staff/") -> Response:
        user = pending_user(request)
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if user is None or not user.totp_enabled or not nonce:
            return restart()
        return ctx.page(
            request,
            "login_code.html",
            None,
            next=safe_next(next),
            login_csrf=auth.sign(ctx.secret, "login", nonce),
        )

    @router.post("/login/code", response_model=None)
    def code(
        request: Request,
        code: Annotated[str, Form()],
        csrf: Annotated[str, Form()],
        next: Annotated[str, Form()] = "/staff/",
    ) -> Response:
        check_login_csrf(request, csrf)
        user = pending_user(request)
        if user is None or not user.totp_enabled:
            return restart()
        client = client_of(request)
        key = f"totp:{user.id}"

        def again(message: str, status: int) -> HTMLResponse:
            return ctx.page(
                request,
                "login_code.html",
                None,
                status_code=status,
                error=message,
                next=safe_next(next),
                login_csrf=csrf,
            )

        wait = ctx.throttle.wait_seconds(key, client)
        if wait:
            return again(f"Too many attempts. Wait {wait_words(wait)} and try again.", 429)
        now = wall_now()
        with ctx.engine.begin() as conn:
            right = totp.verify(conn, user.id, code, now)
        if not right:
            ctx.throttle.fail(key, client)
            return again(
                "That code is not right. Use the newest code your app shows (each works once).",
                401,
            )
        ctx.throttle.succeed(key, client)
        return signed_in(request, user, next, now)

    # ---- enrolment during sign-in (required, not set up yet) -----------------------------

    @router.get("/login/enrol", response_model=None)
    def enrol_form(request: Request, next: str = "/staff/") -> Response:
        user = pending_user(request)
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if user is None or user.totp_enabled or not nonce:
            return restart()
        csrf_value = auth.sign(ctx.secret, "login", nonce)
        return enrol_page(
            ctx, request, user, action="/staff/login/enrol", csrf_value=csrf_value, next=next
        )

    @router.post("/login/enrol", response_model=None)
    def enrol(
        request: Request,
        secret: Annotated[str, Form()],
        secret_sig: Annotated[str, Form()],
        code: Annotated[str, Form()],
        csrf: Annotated[str, Form()],
        next: Annotated[str, Form()] = "/staff/",
    ) -> Response:
        check_login_csrf(request, csrf)
        user = pending_user(request)
        if user is None or user.totp_enabled:
            return restart()
        done = enrol_checked(ctx, request, user, secret, secret_sig, code)
        if not done:
            return enrol_page(
                ctx,
                request,
                user,
                action="/staff/login/enrol",
                csrf_value=csrf,
                next=next,
                secret=secret,
                error="That code is not right. Try the newest code your app shows.",
                status=401,
            )
        return signed_in(request, user, next, wall_now())

    # ---- sign-out ------------------------------------------------------------------------

    @router.post("/logout")
    def logout(request: Request, user: FormUser) -> RedirectResponse:
        token = request.cookies.get(SESSION_COOKIE, "")
        now = wall_now()
        with ctx.engine.begin() as conn:
            auth.end_session(conn, token)
            audit.record(
                conn,
                actor=user.email,
                user_id=user.id,
                action="signed_out",
                now=now,
                client=client_of(request),
            )
        response = redirect("/staff/login")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return router
