"""Pages: drills -- the drills of a subtree with the form that schedules one, and one
drill's report, printable (docs/risk.md, Drills). The routes call the services and
:mod:`tocsin.web.shared.drills`, which the JSON API shares."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from tocsin.accounts.access import Capability, ForbiddenError
from tocsin.accounts.queries import jurisdictions_named
from tocsin.alerting.severity import Level
from tocsin.catalogs import N_
from tocsin.errors import UserError
from tocsin.monitoring import queries as monitoring_queries
from tocsin.response import plans
from tocsin.risk.models import DRILL_MODES, DRILL_STATUSES
from tocsin.web import i18n
from tocsin.web.deps import Db, PageScope, check_csrf
from tocsin.web.i18n.service_errors import service_message
from tocsin.web.shared.common import ItemId
from tocsin.web.shared.drills import (
    CompleteIn,
    DrillIn,
    cancel_as,
    complete_as,
    drill_in_scope,
    drill_list,
    drill_report,
    schedule_as,
)
from tocsin.web.templating import render, request_locale

router = APIRouter(include_in_schema=False)

#: The words of a drill's statuses, modes, steps and outcomes on the pages.
WORDS = (
    N_("scheduled"),
    N_("injected"),
    N_("completed"),
    N_("cancelled"),
    N_("alert"),
    N_("incident"),
)
#: What each outcome of a step is called.
OUTCOMES = {
    "on_time": N_("on time"),
    "late": N_("later than planned"),
    "overdue": N_("overdue"),
    "pending": N_("not yet due"),
    "done": N_("done"),
    "not_applicable": N_("not_applicable"),
}
#: What each step of a drill's report is called.
STEPS = {
    "injected": N_("Injected"),
    "acknowledged": N_("Alert acknowledged"),
    "incident_opened": N_("Incident opened"),
    "declared": N_("Response level declared"),
    "task": N_("Task"),
    "report": N_("Situation report"),
    "completed": N_("Drill completed"),
}
#: The form's fields, as a refusal names them.
FIELDS = {
    "jurisdiction": N_("Jurisdiction"),
    "hazard": N_("Hazard"),
    "title": N_("Title"),
    "at": N_("Time (UTC)"),
    "mode": N_("Inject"),
    "level": N_("Level"),
    "ack_minutes": N_("Target to acknowledge (minutes)"),
    "declare_minutes": N_("Target to declare (minutes)"),
}
Csrf = Annotated[str, Form()]
Short = Annotated[str, Form(max_length=300)]


def _fields(request: Request, scope, db, form: dict[str, str], error: str | None):  # type: ignore[no-untyped-def]
    status = request.query_params.get("status")
    status = status if status in DRILL_STATUSES else None
    j = request.query_params.get("j") or None
    rows = drill_list(db, scope, j, status)
    hazards = sorted(plans.known_hazards(db))
    return {
        "rows": rows,
        "status": status,
        "statuses": DRILL_STATUSES,
        "j": j or "",
        "places": jurisdictions_named(db, scope.ids(Capability.RESPOND)),
        "hazards": hazards,
        "indicator_names": monitoring_queries.indicator_names(
            db, {*hazards, *(r.drill.hazard for r in rows)}
        ),
        "modes": DRILL_MODES,
        "Level": Level,
        "form": form,
        "error": error,
    }


@router.get("/drills")
def drills_page(request: Request, scope: PageScope, db: Db) -> Response:
    """The drills of ``?j=CODE``'s subtree (default: all the user reads), newest first,
    and the form that schedules one where the user may respond."""
    return render(request, "drills.html", _fields(request, scope, db, {}, None))


@router.post("/drills")
def schedule(
    request: Request,
    scope: PageScope,
    db: Db,
    csrf_token: Csrf = "",
    jurisdiction: Short = "",
    hazard: Short = "",
    title: Short = "",
    at: Short = "",
    mode: Short = "alert",
    level: Short = "III",
    ack_minutes: Short = "30",
    declare_minutes: Short = "60",
) -> Response:
    """Schedule a drill; ``at`` is a UTC time (the form's ``datetime-local``)."""
    check_csrf(request, csrf_token)
    form = {
        "jurisdiction": jurisdiction,
        "hazard": hazard,
        "title": title,
        "at": at,
        "mode": mode,
        "level": level,
        "ack_minutes": ack_minutes,
        "declare_minutes": declare_minutes,
    }
    i18n.set_locale(request_locale(request))
    try:
        when = dt.datetime.fromisoformat(at) if at else None
    except ValueError:
        when = None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)  # the form's time is UTC
    error = None
    try:
        given = DrillIn.model_validate({**form, "at": when})
        drill_id = schedule_as(request, scope, given)
    except ValidationError as exc:
        error = "; ".join(
            f"{i18n.gettext(FIELDS.get(str(e['loc'][0]), str(e['loc'][0])))}: {e['msg']}"
            for e in exc.errors()
        )
    except ForbiddenError:
        raise
    except UserError as exc:
        error = service_message(str(exc))
    if error is not None:
        return render(request, "drills.html", _fields(request, scope, db, form, error), status=422)
    return RedirectResponse(f"/drills/{drill_id}", status_code=303)


@router.get("/drills/{drill_id}")
def drill_page(request: Request, drill_id: ItemId, scope: PageScope, db: Db) -> Response:
    """A drill and its report, measured against the plan; printable."""
    report = drill_report(db, scope, drill_id)
    drill = drill_in_scope(db, scope, drill_id, Capability.READ)
    return render(
        request,
        "drill.html",
        {
            "d": report,
            "indicator_names": monitoring_queries.indicator_names(db, {drill.hazard}),
            "steps": STEPS,
            "outcomes": OUTCOMES,
            "may_respond": scope.allows(Capability.RESPOND, drill.jurisdiction_id),
        },
    )


@router.post("/drills/{drill_id}/cancel")
def cancel(request: Request, drill_id: ItemId, scope: PageScope, csrf_token: Csrf = "") -> Response:
    check_csrf(request, csrf_token)
    cancel_as(request, scope, drill_id)
    return RedirectResponse(f"/drills/{drill_id}", status_code=303)


@router.post("/drills/{drill_id}/complete")
def complete(
    request: Request,
    drill_id: ItemId,
    scope: PageScope,
    csrf_token: Csrf = "",
    lessons: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    complete_as(request, scope, drill_id, CompleteIn(lessons=lessons))
    return RedirectResponse(f"/drills/{drill_id}", status_code=303)
