"""What the administration pages share: the redirect back to ``/admin`` with a message,
and ``gettext`` in the request's language."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from tocsin.web import i18n
from tocsin.web.templating import request_locale


def done(message: str) -> Response:
    """Back to the administration page, showing ``message``."""
    from urllib.parse import quote

    return RedirectResponse(f"/admin?message={quote(message)}", status_code=303)


def translator(request: Request) -> Callable[[str], str]:
    """``gettext`` in the request's language."""
    i18n.set_locale(request_locale(request))
    return i18n.gettext
