"""Pages: sign in, sign out, language switch."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.accounts import service
from tocsin.web import i18n
from tocsin.web.deps import (
    SESSION_COOKIE,
    Db,
    check_csrf,
    client_address,
    resolve_principal,
    session_lifetime,
    settings_of,
    writer,
)
from tocsin.web.templating import LOCALE_COOKIE, render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a local path may follow a login (no open redirect: OWASP)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    check_csrf(request, csrf_token)
    settings = settings_of(request)
    try:
        with writer(request) as db:
            user = service.login(
                db,
                username,
                password,
                client=client_address(request),
                max_failures=settings.login_max_failures,
                window=dt.timedelta(seconds=settings.login_window_seconds),
            )
            token = service.start_session(db, user, session_lifetime(request))
    except (service.LoginFailedError, service.LoginThrottledError) as exc:
        status = 429 if isinstance(exc, service.LoginThrottledError) else 401
        context = {"next": safe_next(next), "error": str(exc), "username": username}
        return render(request, "login.html", context, status=status)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_idle_seconds,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )
    return response


@router.post("/logout")
def logout(request: Request, db: Db, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf_token)
    raw = request.cookies.get(SESSION_COOKIE)
    principal = resolve_principal(request, db)
    if raw and principal:
        with writer(request) as wdb:
            service.end_session(wdb, raw, actor=principal.actor)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/language")
def switch_language(
    request: Request,
    db: Db,
    locale: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Switch the language: stored on the user when signed in, in a cookie otherwise."""
    check_csrf(request, csrf_token)
    if locale not in i18n.LOCALES:
        locale = i18n.DEFAULT_LOCALE
    principal = resolve_principal(request, db)
    if principal is not None:
        with writer(request) as wdb:
            user = service.get_user(wdb, principal.username)
            service.update_user(wdb, user, actor=principal.actor, locale=locale)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        LOCALE_COOKIE,
        locale,
        httponly=True,
        secure=settings_of(request).secure_cookies,
        samesite="lax",
    )
    return response
