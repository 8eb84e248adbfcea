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

from tocsin.detect.errors import DetectError
from tocsin.errors import ConflictError, NotFoundError, UserError
from tocsin.periods import PeriodError

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
    """The HTTP status of a user error: 404 not found, 409 conflict, else 400."""
    from tocsin.accounts.access import ForbiddenError
    from tocsin.accounts.login import LoginFailedError
    from tocsin.accounts.throttle import LoginThrottledError

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


def install(app: FastAPI) -> None:
    """Register the problem details handlers on ``app``."""

    async def user_error(request: Request, exc: Exception) -> Response:
        report = getattr(exc, "report", None)
        if report is not None and hasattr(report, "model_dump"):
            return problem(422, str(exc), instance=request.url.path, report=report.model_dump())
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        field = getattr(exc, "field", None)
        extensions = {"errors": [{"field": field, "message": str(exc)}]} if field else {}
        return await _render(request, status_of(exc), str(exc), headers=headers, **extensions)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return await _render(request, exc.status_code, exc.detail, headers=exc.headers)

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
