"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error the JSON API returns is a problem object with the members RFC 9457 section
3.1 defines: ``type`` (``about:blank`` when the status code says it all), ``title`` (the
status phrase), ``status``, ``detail`` (what is wrong, where and what is expected, in the
words of :class:`tocsin.errors.UserError`) and ``instance`` (the request path).
Validation errors add an ``errors`` extension member listing each field (section 3.2).

HTML pages get the same information rendered as a page (see ``pages``); the handlers
here choose by the request path.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match

from tocsin.detect.errors import DetectError
from tocsin.errors import ConflictError, NotFoundError, UserError
from tocsin.periods import PeriodError
from tocsin.text import TextError

PROBLEM_JSON = "application/problem+json"

#: Exceptions that describe a mistake of the caller, not a bug.
USER_ERRORS: tuple[type[Exception], ...] = (UserError, DetectError, PeriodError)


class ProblemResponse(JSONResponse):
    """A JSON response with the ``application/problem+json`` media type."""

    media_type = PROBLEM_JSON


def problem(
    status: int,
    detail: str | None = None,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> ProblemResponse:
    """A problem details response for ``status`` (RFC 9457 section 3)."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return ProblemResponse(body, status_code=status, headers=headers)


def status_of(exc: Exception) -> int:
    """The HTTP status of a user error: 404 not found, 409 conflict, 422 a text with a
    character XML forbids, else 400."""
    from tocsin.accounts.access import ForbiddenError
    from tocsin.accounts.login import LoginFailedError
    from tocsin.accounts.throttle import LoginThrottledError

    if isinstance(exc, TextError):
        return 422
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ForbiddenError):
        return 403
    if isinstance(exc, LoginFailedError):
        return 401
    if isinstance(exc, LoginThrottledError):
        return 429
    if isinstance(exc, ConflictError):
        return 409
    return getattr(exc, "http_status", 400)


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return not path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


async def _render(request: Request, status: int, detail: str | None, **ext: Any) -> Response:
    renderer = getattr(request.app.state, "html_error", None)
    if renderer is not None and _wants_html(request):
        return await renderer(request, status, detail)
    headers = ext.pop("headers", None)
    if status == 401 and not headers:
        headers = {"WWW-Authenticate": 'Bearer realm="tocsin"'}
    return problem(status, detail, instance=request.url.path, headers=headers, **ext)


#: Methods probed for the ``Allow`` header of a 405.
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """The methods some route answers at the request's path (Starlette names only the
    first route's in ``Allow``, while FastAPI makes one route per method)."""
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]


def _text_error_page(request: Request, exc: TextError) -> str:
    """A :class:`TextError` in the language of the page's reader."""
    from tocsin.web import i18n
    from tocsin.web.templating import request_locale

    i18n.set_locale(request_locale(request))
    return i18n.gettext(
        "%(field)s: the character U+%(code)s at position %(position)d is not allowed "
        "(control characters other than tab and line breaks cannot appear in alerts or "
        "CAP messages); remove it."
    ) % {"field": exc.field, "code": f"{ord(exc.char):04X}", "position": exc.position + 1}


def install(app: FastAPI) -> None:
    """Register the problem details handlers on ``app``."""

    async def user_error(request: Request, exc: Exception) -> Response:
        report = getattr(exc, "report", None)
        if report is not None and hasattr(report, "model_dump"):
            return problem(422, str(exc), instance=request.url.path, report=report.model_dump())
        if isinstance(exc, TextError):
            errors = [{"field": exc.field, "message": exc.reason}]
            detail = _text_error_page(request, exc) if _wants_html(request) else str(exc)
            return await _render(request, status_of(exc), detail, errors=errors)
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        field = getattr(exc, "field", None)
        extensions = {"errors": [{"field": field, "message": str(exc)}]} if field else {}
        return await _render(request, status_of(exc), str(exc), headers=headers, **extensions)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        headers = exc.headers
        if exc.status_code == 405:  # RFC 9110 15.5.6: every method of the resource
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return await _render(request, exc.status_code, exc.detail, headers=headers)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "message": err.get("msg", ""),
            }
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return await _render(request, 422, detail, errors=errors)

    for cls in USER_ERRORS:
        app.add_exception_handler(cls, user_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
