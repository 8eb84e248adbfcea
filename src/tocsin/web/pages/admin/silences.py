"""Silences on the administration page: add one from now for some hours, within a
jurisdiction (or the whole territory) and matching Alertmanager matchers, or end one
early (the services of :mod:`tocsin.alerting.silences`, audited there)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from tocsin.alerting import silences
from tocsin.errors import UserError
from tocsin.web.deps import Db, PageScope, check_csrf, writer
from tocsin.web.i18n.service_errors import service_message
from tocsin.web.pages.admin.common import done, translator
from tocsin.web.pages.admin.overview import admin_context
from tocsin.web.problems import status_of
from tocsin.web.shared.administration import administered_place, require_silence
from tocsin.web.shared.common import ItemId
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)


@router.post("/admin/silences")
def add_silence(
    request: Request,
    scope: PageScope,
    db: Db,
    hours: Annotated[float, Form(gt=0, le=24 * 90)],
    jurisdiction: Annotated[str, Form()] = "",
    matchers: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Add a silence from now for ``hours``: within ``jurisdiction`` (blank: the whole
    territory, root administrators only) and matching ``matchers`` (one per line)."""
    check_csrf(request, csrf_token)
    _ = translator(request)
    now = dt.datetime.now(dt.UTC)
    try:
        with writer(request) as wdb:
            if jurisdiction.strip():
                where: str | None = administered_place(wdb, scope, jurisdiction.strip()).code
            elif scope.administers_everything():
                where = None
            else:
                raise UserError(
                    _(
                        "Name a jurisdiction: only an administrator of every "
                        "jurisdiction may silence the whole territory."
                    )
                )
            silences.add_silence(
                wdb,
                starts_at=now,
                ends_at=now + dt.timedelta(hours=hours),
                by=scope.principal.actor,
                jurisdiction=where,
                matchers=matchers.splitlines(),
                comment=comment,
            )
    except UserError as exc:
        # The form again, with the refusal on it and everything typed kept.
        context = admin_context(request, scope, db)
        context["silence_form"] = {
            "jurisdiction": jurisdiction,
            "hours": f"{hours:g}",
            "matchers": matchers,
            "comment": comment,
        }
        context["silence_error"] = service_message(str(exc))
        return render(request, "admin.html", context, status=status_of(exc))
    if where is None:
        return done(_("Silence of the whole territory added."))
    return done(_("Silence on %(jurisdiction)s added.") % {"jurisdiction": where})


@router.post("/admin/silences/{silence_id}/expire")
def expire_silence(
    request: Request,
    scope: PageScope,
    silence_id: ItemId,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    with writer(request) as db:
        require_silence(db, scope, silence_id)
        silences.expire_silence(
            db, silence_id, by=scope.principal.actor, now=dt.datetime.now(dt.UTC)
        )
    _ = translator(request)
    return done(_("Silence %(id)s ended.") % {"id": silence_id})
