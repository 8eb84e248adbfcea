"""Pages: incidents -- the list, an incident (level, tasks, timeline, the actions of its
status machine, the after-action review), and opening one from an alert's page
(docs/response.md). The routes call the helpers they share with the JSON API
(:mod:`tocsin.web.shared`) and the response services."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability
from tocsin.accounts.service import actor_names
from tocsin.alerting.severity import Level
from tocsin.catalogs import N_
from tocsin.errors import UserError
from tocsin.monitoring import queries as monitoring_queries
from tocsin.monitoring.models import Indicator, Jurisdiction
from tocsin.response import incidents, plans, reports, tasks, views
from tocsin.response.models import INCIDENT_STATUSES, TASK_STATUSES, Incident
from tocsin.response.places import tree
from tocsin.risk import queries as risk_queries
from tocsin.store.sql import page_rows
from tocsin.web.deps import Db, PageScope, check_csrf, writer
from tocsin.web.i18n.names import hazard_name
from tocsin.web.shared import reserves as supplies
from tocsin.web.shared.alerts import alert_in_scope
from tocsin.web.shared.common import MAX_ID, ItemId, jurisdiction_by_code, readable_subtree
from tocsin.web.shared.response import (
    act,
    incident_detail,
    incident_in_scope,
    plan_body_names,
    task_reasons,
    timeline_lines,
)
from tocsin.web.templating import render, request_locale

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50

#: Statuses and kinds of timeline event as the pages show them (``_(value)``), marked
#: for the catalogs.
LABELS = (
    N_("reported"),
    N_("verified"),
    N_("response_active"),
    N_("stood_down"),
    N_("closed"),
    N_("open"),
    N_("in_progress"),
    N_("done"),
    N_("not_applicable"),
    N_("opened"),
    N_("status"),
    N_("level"),
    N_("plan_activated"),
    N_("no_plan"),
    N_("tasks_closed"),
    N_("task"),
    N_("task_added"),
    N_("alert_linked"),
    N_("comment"),
    N_("commander"),
    N_("lead_body"),
    N_("review"),
    N_("report"),
    N_("notified"),
    N_("report_overdue"),
    N_("task_overdue"),
    N_("cap_notice"),
    N_("supply_requested"),
    N_("supply_approved"),
    N_("supply_refused"),
    N_("supply_cancelled"),
    N_("supply_dispatched"),
    N_("supply_received"),
    N_("requested"),
    N_("approved"),
    N_("dispatched"),
    N_("received"),
    N_("refused"),
    N_("cancelled"),
)
Text = Annotated[str, Form(max_length=4000)]
Csrf = Annotated[str, Form()]


def _back(incident_id: int) -> RedirectResponse:
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.get("/incidents")
def incidents_page(
    request: Request,
    scope: PageScope,
    db: Db,
    status: str | None = None,
    j: str | None = None,
    page: Annotated[int, Query(ge=0, le=MAX_ID // PAGE_SIZE)] = 0,
) -> Response:
    status = status if status in INCIDENT_STATUSES else None
    query = incidents.query(
        within=readable_subtree(db, scope, j or None), status=status, active=status is None
    )
    rows = page_rows(db, query, limit=PAGE_SIZE + 1, offset=page * PAGE_SIZE)
    shown = [incident for incident, _ in rows[:PAGE_SIZE]]
    now = dt.datetime.now(dt.UTC)
    # The roll-up of the page's incidents: open and overdue tasks, the next report, needs.
    followed = {r.incident.id: r for r in reports.rollup_rows(db, rows[:PAGE_SIZE], now)}
    return render(
        request,
        "incidents.html",
        {
            "rows": rows[:PAGE_SIZE],
            "followed": followed,
            **_names_of(db, shown),
            "more": len(rows) > PAGE_SIZE,
            "page": page,
            "status": status,
            "statuses": INCIDENT_STATUSES,
            "j": j or "",
        },
    )


def _names_of(db: Session, shown: list[Incident]) -> dict[str, Any]:
    """What the incident templates need to name hazards and places instead of codes."""
    ids = {incident.jurisdiction_id for incident in shown}
    return {
        "indicator_names": monitoring_queries.indicator_names(db, {i.hazard for i in shown}),
        "places": monitoring_queries.jurisdiction_names(db, ids, ids),
    }


@router.get("/incidents/{incident_id}")
def incident_page(request: Request, incident_id: ItemId, scope: PageScope, db: Db) -> Response:
    detail = incident_detail(db, scope, incident_id)
    incident = incident_in_scope(db, scope, incident_id, Capability.READ)
    sent = reports.for_incident(db, incident_id)
    due = reports.next_due(db, incident)
    names = _names_of(db, [incident])
    locale = request_locale(request)

    def hazard(code: str) -> str:
        return hazard_name(code, names["indicator_names"], locale)

    people = [f"user:{detail.commander}"] if detail.commander else []
    people += [f"user:{t.assignee_user}" for t in detail.tasks if t.assignee_user]
    now = dt.datetime.now(dt.UTC)
    return render(
        request,
        "incident.html",
        {
            "i": detail,
            "timeline": timeline_lines(detail, locale, hazard),
            "task_reasons": task_reasons(detail, locale, hazard),
            **names,
            "actors": actor_names(
                db, [e.actor for e in detail.timeline] + [r.submitted_by for r in sent] + people
            ),
            "reports": views.reports_view(incident_id, sent, due, now),
            # Due times are ISO 8601 in UTC, compared as text with this one.
            "now_iso": now.isoformat(),
            "may_respond": scope.allows(Capability.RESPOND, incident.jurisdiction_id),
            "moves": incidents.TRANSITIONS[detail.status],
            "levels": [lv.roman for lv in Level],
            "task_statuses": TASK_STATUSES,
            "assessments": risk_queries.assessments(
                db, scope.ids(Capability.READ), incident_id=incident_id
            ),
            **supplies.page_context(db, scope, incident_id, incident.jurisdiction_id),
        },
    )


@router.get("/plans/in-force")
def plan_in_force_page(
    request: Request,
    scope: PageScope,
    db: Db,
    jurisdiction: Annotated[str, Query(min_length=1, max_length=64)],
    hazard: Annotated[str, Query(min_length=1, max_length=64)],
) -> Response:
    """The plan in force for a jurisdiction and hazard, for whoever reads the
    jurisdiction: its four levels and where it is inherited from (none: says so)."""
    where = jurisdiction_by_code(db, jurisdiction, scope.ids(Capability.READ))
    found = plans.in_force_by_id(db, where.id, hazard)
    directory = tree(db)
    source = directory.by_code.get(found.source) if found and found.inherited else None
    zh = request_locale(request) == "zh_CN"
    return render(
        request,
        "plan_in_force.html",
        {
            "place": where,
            "hazard": hazard,
            "indicator_names": monitoring_queries.indicator_names(db, {hazard}),
            "plan": views.plan_summary(found.plan, found.source, dt.date.today())
            if found
            else None,
            "levels": views.plan_levels(found.plan) if found else {},
            "inherited_from": (source.name_zh if zh else source.name) if source else None,
            # Each code of the plan names the body that acts for this jurisdiction.
            "body_names": plan_body_names(db, directory, found.plan, where.id, zh) if found else {},
        },
    )


@router.post("/incidents")
def open_incident(
    request: Request,
    scope: PageScope,
    csrf_token: Csrf = "",
    alert: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
    title: Annotated[str, Form(max_length=500)] = "",
    jurisdiction: Annotated[str, Form(max_length=64)] = "",
    hazard: Annotated[str, Form(max_length=64)] = "",
    level: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Open an incident, from an alert (the button on the alert's page) or by hand."""
    check_csrf(request, csrf_token)
    with writer(request) as db:
        if alert is not None:
            found = alert_in_scope(db, scope, alert, Capability.READ)
            place = db.get(Jurisdiction, found.jurisdiction_id)
            indicator = db.get(Indicator, found.indicator_id) if found.indicator_id else None
            jurisdiction = jurisdiction or (place.code if place else "")
            hazard = hazard or (indicator.code if indicator else "")
        if not jurisdiction:
            raise UserError("say where: the incident's jurisdiction")
        where = jurisdiction_by_code(db, jurisdiction, scope.ids(Capability.READ))
        scope.require(Capability.RESPOND, where.id, f"jurisdiction {where.code}")
        incident = incidents.open_incident(
            db,
            title=title,
            jurisdiction=jurisdiction,
            hazard=hazard or None,
            alerts=[alert] if alert else [],
            level=level or None,
            by=scope.principal.actor,
            now=dt.datetime.now(dt.UTC),
        )
        incident_id = incident.id
    return _back(incident_id)


@router.post("/incidents/{incident_id}/level")
def set_level(
    request: Request,
    incident_id: ItemId,
    scope: PageScope,
    csrf_token: Csrf = "",
    level: Annotated[str, Form(max_length=8)] = "",
    reason: Text = "",
) -> Response:
    check_csrf(request, csrf_token)
    act(request, scope, incident_id, incidents.set_level, level, reason=reason)
    return _back(incident_id)


@router.post("/incidents/{incident_id}/move/{to}")
def move(
    request: Request,
    incident_id: ItemId,
    to: str,
    scope: PageScope,
    csrf_token: Csrf = "",
    comment: Text = "",
) -> Response:
    check_csrf(request, csrf_token)
    act(request, scope, incident_id, incidents.move, to, comment=comment)
    return _back(incident_id)


@router.post("/incidents/{incident_id}/comment")
def comment(
    request: Request, incident_id: ItemId, scope: PageScope, csrf_token: Csrf = "", text: Text = ""
) -> Response:
    check_csrf(request, csrf_token)
    act(request, scope, incident_id, incidents.comment, text)
    return _back(incident_id)


@router.post("/incidents/{incident_id}/close")
def close(
    request: Request,
    incident_id: ItemId,
    scope: PageScope,
    csrf_token: Csrf = "",
    worked: Text = "",
    did_not_work: Text = "",
    actions: Annotated[str, Form(max_length=16000)] = "",
) -> Response:
    """Close with the review; each line of ``actions`` is ``action; owner``."""
    check_csrf(request, csrf_token)
    listed = []
    for number, line in enumerate(actions.splitlines(), 1):
        if line.strip():
            action, _, owner = line.rpartition(";")
            if not action.strip() or not owner.strip():
                raise UserError(f"actions, line {number}: write 'action; owner'")
            listed.append({"action": action.strip(), "owner": owner.strip()})
    review = {"worked": worked, "did_not_work": did_not_work, "actions": listed}
    act(request, scope, incident_id, incidents.close, review)
    return _back(incident_id)


BodyCode = Annotated[str, Form(max_length=64)]
Username = Annotated[str, Form(max_length=100)]


def _change_task(
    request: Request, scope: PageScope, incident_id: int, task_id: int, **change: Any
) -> None:
    """Change task ``task_id`` of an incident the caller may respond to (the API's
    :func:`tasks.update`)."""

    def change_it(db: Session, _incident_id: int, **done: Any) -> None:
        if tasks.get(db, task_id).incident_id != incident_id:
            raise UserError(f"task {task_id} is not a task of incident {incident_id}")
        tasks.update(db, task_id, **done)

    act(request, scope, incident_id, change_it, **change)


def _due(text: str) -> dt.datetime | None:
    """A due time typed in UTC (``2026-12-07T18:00``, what a date-time field sends)."""
    if not text.strip():
        return None
    try:
        due = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"due: {text!r} is not a date and time; write it as 2026-12-07T18:00 (UTC)"
        ) from None
    return due if due.tzinfo else due.replace(tzinfo=dt.UTC)


@router.post("/incidents/{incident_id}/tasks")
def add_task(
    request: Request,
    incident_id: ItemId,
    scope: PageScope,
    csrf_token: Csrf = "",
    title: Annotated[str, Form(max_length=500)] = "",
    body: Annotated[str, Form(max_length=8000)] = "",
    due_at: Annotated[str, Form(max_length=32)] = "",
    assignee_body: BodyCode = "",
    assignee_user: Username = "",
) -> Response:
    """Add a task by hand, to a body or a user (by code, by user name) or to nobody yet."""
    check_csrf(request, csrf_token)
    act(
        request,
        scope,
        incident_id,
        tasks.add,
        title=title.strip(),
        body=body,
        due_at=_due(due_at),
        assignee_body=assignee_body.strip() or None,
        assignee_user=assignee_user.strip() or None,
    )
    return _back(incident_id)


@router.post("/incidents/{incident_id}/tasks/{task_id}/assign")
def assign_task(
    request: Request,
    incident_id: ItemId,
    task_id: ItemId,
    scope: PageScope,
    csrf_token: Csrf = "",
    assignee_body: BodyCode = "",
    assignee_user: Username = "",
) -> Response:
    """Give a task to another body or user: the form holds both, an empty field clears."""
    check_csrf(request, csrf_token)
    _change_task(
        request,
        scope,
        incident_id,
        task_id,
        assignee_body=assignee_body.strip(),
        assignee_user=assignee_user.strip(),
    )
    return _back(incident_id)


@router.post("/incidents/{incident_id}/tasks/{task_id}")
def task_status(
    request: Request,
    incident_id: ItemId,
    task_id: ItemId,
    scope: PageScope,
    csrf_token: Csrf = "",
    status: Annotated[str, Form(max_length=32)] = "",
    reason: Text = "",
) -> Response:
    check_csrf(request, csrf_token)
    _change_task(request, scope, incident_id, task_id, status=status, reason=reason)
    return _back(incident_id)


@router.post("/incidents/{incident_id}/reports")
def submit_report(
    request: Request,
    incident_id: ItemId,
    scope: PageScope,
    csrf_token: Csrf = "",
    situation: Annotated[str, Form(max_length=16000)] = "",
    actions: Annotated[str, Form(max_length=16000)] = "",
    needs: Annotated[str, Form(max_length=16000)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    act(
        request,
        scope,
        incident_id,
        reports.submit,
        situation=situation,
        actions=actions,
        needs=needs,
    )
    return _back(incident_id)
