"""Jinja2 templates with gettext (Babel catalogs) and the per-request locale.

The locale of a page is, in order: the signed-in user's choice, the ``tocsin_locale``
cookie (set by the language switch before signing in), the ``Accept-Language`` header.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from tocsin.web import i18n
from tocsin.web.deps import CSRF_COOKIE, csrf_expected, settings_of
from tocsin.web.i18n.names import hazard_name, method_name
from tocsin.web.i18n.reasons import row_reason

#: The web package: templates/ and static/ live beside this module.
WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"

LOCALE_COOKIE = "tocsin_locale"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
    autoescape=jinja2.select_autoescape(["html", "xml"]),
    extensions=["jinja2.ext.i18n"],
    auto_reload=False,
)
_env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
templates = Jinja2Templates(env=_env)


def request_locale(request: Request) -> str:
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.locale in i18n.LOCALES:
        return principal.locale
    cookie = request.cookies.get(LOCALE_COOKIE)
    if cookie in i18n.LOCALES:
        return cookie
    return i18n.negotiate(request.headers.get("accept-language"))


def age(since: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """A short human age such as ``3 d 4 h`` (units are international symbols)."""
    if since is None:
        return ""
    seconds = int(((now or dt.datetime.now(dt.UTC)) - since).total_seconds())
    days, rest = divmod(max(seconds, 0), 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {rest // 60} min"
    return f"{rest // 60} min"


def bound(value: float | None) -> str:
    """An upper bound, or "no bound" (translated) where the method has none: never
    ``-inf`` (EARS C3 when every value alarms) or an empty cell."""
    if value is None or not math.isfinite(value):
        return i18n.gettext("no bound")
    # one decimal; three significant digits below 1 (a price index of 0.0878)
    return f"{value:.1f}" if abs(value) >= 1 or value == 0 else f"{value:.3g}"


def figure(value: float | None, decimals: int = 1) -> str:
    """An expected value or a bound for people: ``decimals`` decimals, three significant
    digits below 1 (a price index of 0.0878), "—" where there is none."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{decimals}f}" if abs(value) >= 1 or value == 0 else f"{value:.3g}"


def probability(value: float | None) -> str:
    """A tail probability in two significant digits (``0.00012``, ``1.7e-05``)."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.2g}"


def once_in(value: float | None) -> str:
    """``1 / value`` periods, rounded to two significant digits (``59,000``); empty when
    the probability is 0, unknown, or 1 in more than a billion."""
    if value is None or not math.isfinite(value) or value <= 0 or value < 1e-9:
        return ""
    return f"{float(f'{1.0 / value:.2g}'):,.0f}"


_env.filters["age"] = age
_env.filters["bound"] = bound
_env.filters["figure"] = figure
_env.filters["probability"] = probability
_env.filters["once_in"] = once_in
_env.filters["method_name"] = method_name
_env.globals["hazard_name"] = hazard_name
_env.filters["row_reason"] = row_reason


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render template ``name`` in the request's locale, with the CSRF token at hand."""
    import secrets

    locale = request_locale(request)
    i18n.set_locale(locale)
    new_nonce = None
    if not request.cookies.get(CSRF_COOKIE):
        new_nonce = secrets.token_urlsafe(24)
        request.state.csrf_nonce = new_nonce
    base = {
        "request": request,
        "locale": locale,
        "locales": i18n.LOCALES,
        "csrf_token": csrf_expected(request),
        "principal": getattr(request.state, "principal", None),
    }
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
    if new_nonce:
        response.set_cookie(
            CSRF_COOKIE,
            new_nonce,
            httponly=True,
            secure=settings_of(request).secure_cookies,
            samesite="strict",
        )
    return response
