"""Page: raise an alert by hand (the service of ``tocsin alerts raise`` and of
``POST /api/v1/alerts``: :func:`tocsin.alerting.lifecycle.raise_alert`), for users whose
roles allow ``respond`` somewhere, in the jurisdictions where they do.

A refusal shows on the form, with what was typed kept (as the other forms, issue 11
defect 6).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from tocsin.accounts.access import Capability, ForbiddenError, Scope
from tocsin.accounts.queries import jurisdictions_named
from tocsin.alerting import lifecycle
from tocsin.alerting.severity import Level
from tocsin.errors import UserError
from tocsin.web import i18n
from tocsin.web.deps import Db, PageScope, check_csrf, writer
from tocsin.web.templating import render, request_locale

router = APIRouter(include_in_schema=False)


class RaiseForm(BaseModel):
    """The fields of the form (as typed; checked by the service)."""

    jurisdiction: str = ""
    level: str = ""
    headline: str = ""
    headline_zh: str = ""
    description: str = ""
    public: str = ""
    csrf_token: str = ""


def _form(
    request: Request,
    db: Db,
    scope: Scope,
    form: RaiseForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    allowed = scope.ids(Capability.RESPOND)
    if not allowed:
        i18n.set_locale(request_locale(request))
        raise ForbiddenError(
            i18n.gettext(
                "Your roles do not allow raising alerts anywhere; ask an administrator for "
                "the duty officer role on your jurisdiction."
            )
        )
    return render(
        request,
        "raise.html",
        {
            "places": jurisdictions_named(db, allowed),
            "form": form or RaiseForm(public="1"),
            "error": error,
            "Level": Level,
        },
        status=status,
    )


@router.get("/alerts/new")
def raise_form(request: Request, scope: PageScope, db: Db) -> Response:
    return _form(request, db, scope)


@router.post("/alerts/new")
def raise_alert(
    request: Request, scope: PageScope, db: Db, form: Annotated[RaiseForm, Form()]
) -> Response:
    check_csrf(request, form.csrf_token)
    i18n.set_locale(request_locale(request))
    places = {j.code: j for j in jurisdictions_named(db, scope.ids(Capability.RESPOND))}
    where = places.get(form.jurisdiction.strip())
    if where is None:
        message = i18n.gettext("Choose a jurisdiction of the list: those where you may respond.")
        return _form(request, db, scope, form, message, status=422)
    if not form.headline.strip():
        message = i18n.gettext("Write a headline: what the hazard is, in a few words.")
        return _form(request, db, scope, form, message, status=422)
    try:
        with writer(request) as wdb:
            alert = lifecycle.raise_alert(
                wdb,
                jurisdiction=where.code,
                level=form.level,
                headline=form.headline,
                headline_zh=form.headline_zh,
                description=form.description,
                public=bool(form.public),
                by=scope.principal.actor,
                now=dt.datetime.now(dt.UTC),
            )
            alert_id = alert.id
    except UserError as exc:
        return _form(request, db, scope, form, str(exc), status=422)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
