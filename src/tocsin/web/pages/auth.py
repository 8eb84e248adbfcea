"""Pages: sign in, sign out, language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.accounts import login as sign_in
from tocsin.accounts import service
from tocsin.accounts.throttle import LoginThrottledError
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
from tocsin.web.templating import LOCALE_COOKIE, render, request_locale

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
        _, token = sign_in.login(
            request.app.state.engine,
            username,
            password,
            client=client_address(request),
            policy=settings.throttle_policy(),
            lifetime=session_lifetime(request),
        )
    except (sign_in.LoginFailedError, LoginThrottledError) as exc:
        i18n.set_locale(request_locale(request))
        context = {"next": safe_next(next), "error": login_refusal(exc), "username": username}
        if isinstance(exc, LoginThrottledError):
            response = render(request, "login.html", context, status=429)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        return render(request, "login.html", context, status=401)
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


def login_refusal(exc: Exception) -> str:
    """Why a password was refused, in the current language."""
    _ = i18n.gettext
    if isinstance(exc, LoginThrottledError):
        return _(
            "Too many failed sign-ins in a row for this user or from this address: "
            "wait %(seconds)d seconds, then try again."
        ) % {"seconds": exc.retry_after}
    return _("Wrong user name or password.")


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
