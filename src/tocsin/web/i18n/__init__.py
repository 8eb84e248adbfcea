"""Translations of the web application (gettext catalogs read with Babel).

The catalogs are the ``.po`` files beside this module (``<locale>/LC_MESSAGES/
messages.po``); they are compiled in memory when first used, so a fresh
``pip install -e .`` needs no build step. Strings are extracted with
``pybabel extract -F babel.cfg -o src/tocsin/web/i18n/messages.pot src/tocsin/web`` and
merged with ``pybabel update``.

The locale of the current request lives in a context variable, so the Jinja2
environment (shared by all requests) translates each request in its own language.
"""

from __future__ import annotations

import contextvars

from tocsin.catalogs import DEFAULT_LOCALE, LOCALES, translations

__all__ = ["DEFAULT_LOCALE", "LOCALES", "gettext", "negotiate", "ngettext", "translations"]

_current: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=DEFAULT_LOCALE)


def negotiate(accept_language: str | None) -> str:
    """The best of :data:`LOCALES` for an ``Accept-Language`` header (RFC 9110 12.5.4)."""
    if not accept_language:
        return DEFAULT_LOCALE
    ranked: list[tuple[float, str]] = []
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((quality, tag.strip().lower()))
    for _, tag in sorted(ranked, key=lambda r: -r[0]):
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


def set_locale(locale: str) -> contextvars.Token[str]:
    """Make ``locale`` the current one (for this request's context)."""
    return _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def current_locale() -> str:
    """The locale of the current request."""
    return _current.get()


def gettext(message: str) -> str:
    """``message`` in the current locale."""
    return translations(_current.get()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural of a message in the current locale."""
    return translations(_current.get()).ungettext(singular, plural, n)


_ = gettext
