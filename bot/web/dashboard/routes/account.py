"""The signed-in person's own account: change the password, set up (or, where not required,
turn off) the TOTP second factor. After an admin's reset this is the only page the temporary
password opens (deps.current_user)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.web.dashboard import audit, auth, totp
from bot.web.dashboard.deps import (
    SESSION_COOKIE,
    CurrentUser,
    Dashboard,
    FormUser,
    wall_now,
)
from bot.web.dashboard.routes.signin import client_of, enrol_checked, enrol_page


def build(ctx: Dashboard) -> APIRouter:
    router = APIRouter()

    @router.get("/account", response_class=HTMLResponse)
    def account(request: Request, user: CurrentUser) -> HTMLResponse:
        return ctx.page(
            request,
            "account.html",
            user,
            totp_required=ctx.totp_required(user),
            min_chars=auth.MIN_PASSWORD_CHARS,
        )

    @router.post("/account/password")
    async def change_password(
        request: Request,
        user: FormUser,
        current: Annotated[str, Form()] = "",
        new: Annotated[str, Form()] = "",
        again: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        if new != again:
            return ctx.flash_redirect(
                "/staff/account", "The new passwords do not match.", error=True
            )

        def work() -> None:
            now = wall_now()
            with ctx.engine.begin() as conn:
                auth.change_password(
                    conn,
                    user.id,
                    current=current,
                    new=new,
                    now=now,
                    keep_session=request.cookies.get(SESSION_COOKIE),
                )
                audit.record(
                    conn,
                    actor=user.email,
                    user_id=user.id,
                    action="password_changed",
                    now=now,
                    client=client_of(request),
                )

        try:
            await run_in_threadpool(work)
        except auth.UserError as exc:
            return ctx.flash_redirect("/staff/account", str(exc), error=True)
        message = "Password changed. You are signed out everywhere else."
        if user.must_change_password:
            return ctx.flash_redirect("/staff/", message)
        return ctx.flash_redirect("/staff/account", message)

    @router.get("/account/totp", response_model=None)
    def totp_form(request: Request, user: CurrentUser) -> Response:
        if user.totp_enabled:
            return ctx.flash_redirect("/staff/account", "Two-step sign-in is already on.")
        return enrol_page(
            ctx,
            request,
            user,
            action="/staff/account/totp",
            csrf_value=ctx.csrf_for(request),
            next="/staff/account",
            signed_in_user=user,
        )

    @router.post("/account/totp", response_model=None)
    def totp_enrol(
        request: Request,
        user: FormUser,
        secret: Annotated[str, Form()],
        secret_sig: Annotated[str, Form()],
        code: Annotated[str, Form()] = "",
    ) -> Response:
        done = enrol_checked(ctx, request, user, secret, secret_sig, code)
        if not done:
            return enrol_page(
                ctx,
                request,
                user,
                action="/staff/account/totp",
                csrf_value=ctx.csrf_for(request),
                next="/staff/account",
                secret=secret,
                error="That code is not right. Try the newest code your app shows.",
                status=401,
                signed_in_user=user,
            )
        return ctx.flash_redirect("/staff/account", "Two-step sign-in is on.")

    @router.post("/account/totp/off")
    def totp_off(request: Request, user: FormUser) -> RedirectResponse:
        if ctx.totp_required(user):
            return ctx.flash_redirect(
                "/staff/account", "Two-step sign-in is required for your account.", error=True
            )
        with ctx.engine.begin() as conn:
            totp.disable(conn, user.id)
            audit.record(
                conn,
                actor=user.email,
                user_id=user.id,
                action="totp_disabled",
                now=wall_now(),
                client=client_of(request),
            )
        return ctx.flash_redirect("/staff/account", "Two-step sign-in is off.")

    return router
