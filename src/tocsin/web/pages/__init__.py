"""Server-rendered pages (Jinja2, enhanced by static/js/tocsin.js): one module per page
family."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.web.deps import LoginRequiredError


def install(app: FastAPI) -> None:
    """Add the page routes and the HTML rendering of errors."""
    from tocsin.web.i18n import set_locale
    from tocsin.web.i18n.service_errors import service_message
    from tocsin.web.pages import (
        admin,
        alerts,
        auth,
        completeness,
        drills,
        exports,
        incidents,
        monitoring,
        public,
        queue,
        raising,
        records,
        reserves,
        response_admin,
        risks,
        situation,
        users,
    )
    from tocsin.web.templating import render, request_locale

    async def login_required(request: Request, _exc: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    async def html_error(request: Request, status: int, detail: str | None) -> Response:
        set_locale(request_locale(request))  # a service's refusal in the reader's language
        detail = service_message(detail)
        return render(request, "error.html", {"status": status, "detail": detail}, status=status)

    app.add_exception_handler(LoginRequiredError, login_required)
    app.state.html_error = html_error
    # raising before alerts: /alerts/new before /alerts/{alert_id}.
    for module in (
        auth,
        public,
        situation,
        monitoring,
        raising,
        alerts,
        queue,
        completeness,
        incidents,
        reserves,
        risks,
        drills,
        admin,
        response_admin,
        users,
        records,
        exports,
    ):
        app.include_router(module.router)
