"""JSON API: the response -- bodies, contingency plans (and the plan in force for a
jurisdiction and hazard), incidents with their timeline, and tasks (docs/response.md).

Access follows the alerts: an incident is read by whoever reads its jurisdiction and run
(level, status, tasks, comments) by whoever holds ``respond`` there, which a grant on a
state gives on every district below it. Objects outside the read scope answer 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.errors import UserError
from tocsin.response import bodies, incidents, notice, plans, reports, tasks, views
from tocsin.response.models import INCIDENT_STATUSES
from tocsin.web.api.common import (
    MAX_ID,
    ApiInput,
    ItemId,
    Moment,
    Page,
    PageParams,
    jurisdiction_by_code,
    page_params,
    paginate,
    readable_subtree,
)
from tocsin.web.deps import ApiScope, Db, writer
from tocsin.web.shared.alerts import alert_in_scope
from tocsin.web.shared.response import (
    IncidentOut,
    IncidentSummaryOut,
    Roman,
    act,
    administered,
    incident_detail,
    incident_in_scope,
    load_file,
    upload_name,
)

router = APIRouter(tags=["response"])

AlertId = Annotated[int, Field(ge=1, le=MAX_ID)]


class BodyOut(BaseModel):
    jurisdiction: str
    code: str
    name: str
    name_zh: str
    members: list[str]


class PlanSummaryOut(BaseModel):
    id: int
    jurisdiction: str
    hazard: str
    version: int
    title: str
    title_zh: str
    owner_body: str
    review_date: str
    review_overdue: bool
    first_report_after: str = Field(description="e.g. 2h")


class PlanOut(PlanSummaryOut):
    in_force_for: str
    inherited_from: str | None = Field(description="null: the jurisdiction's own plan")
    levels: dict[str, dict[str, Any]] = Field(description="I..IV: activation, bodies, tasks")


class IncidentIn(ApiInput):
    title: str = Field(min_length=1, max_length=500)
    jurisdiction: str = Field(min_length=1, max_length=64)
    hazard: str = Field(min_length=1, max_length=64, description="indicator, domain or event kind")
    alerts: list[AlertId] = Field(default_factory=list, max_length=100)
    level: Roman | None = Field(default=None, description="null: as the plan's criteria say")
    description: str = Field(default="", max_length=8000)
    occurred_at: Moment | None = None
    first_figures: str = Field(default="", max_length=4000)
    commander: str | None = Field(default=None, max_length=100)
    exercise: bool = False


class LevelIn(ApiInput):
    level: Roman
    reason: str = Field(min_length=1, max_length=4000)


class Comment(ApiInput):
    comment: str = Field(default="", max_length=4000)


class CommentIn(ApiInput):
    text: str = Field(min_length=1, max_length=8000)


class ReviewActionIn(ApiInput):
    action: str = Field(min_length=1, max_length=2000)
    owner: str = Field(min_length=1, max_length=300)


class ReviewIn(ApiInput):
    worked: str = Field(min_length=1, max_length=8000)
    did_not_work: str = Field(min_length=1, max_length=8000)
    actions: list[ReviewActionIn] = Field(default_factory=list, max_length=100)


class AlertsIn(ApiInput):
    alerts: list[AlertId] = Field(min_length=1, max_length=100)


class AssignIn(ApiInput):
    commander: str | None = Field(default=None, min_length=1, max_length=100)
    lead_body: str | None = Field(default=None, min_length=1, max_length=64)


class TaskIn(ApiInput):
    title: str = Field(min_length=1, max_length=500)
    body: str = Field(default="", max_length=8000)
    due_at: Moment | None = None
    assignee_body: str | None = Field(default=None, min_length=1, max_length=64)
    assignee_user: str | None = Field(default=None, min_length=1, max_length=100)


class TaskChangeIn(ApiInput):
    status: Literal["open", "in_progress", "done"] | None = None
    assignee_body: str | None = Field(default=None, min_length=1, max_length=64)
    assignee_user: str | None = Field(default=None, min_length=1, max_length=100)


class NotApplicableIn(ApiInput):
    reason: str = Field(min_length=1, max_length=4000)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    """A time without an offset is taken as UTC."""
    return moment.replace(tzinfo=dt.UTC) if moment and moment.tzinfo is None else moment


# -- bodies and plans


@router.get("/bodies", response_model=list[BodyOut], summary="Bodies of a subtree")
def list_bodies(
    scope: ApiScope,
    db: Db,
    jurisdiction: Annotated[str | None, Query(description="this subtree")] = None,
) -> list[BodyOut]:
    found = bodies.get_all(db, within=readable_subtree(db, scope, jurisdiction))
    members = bodies.members_of(db, [b.id for b, _ in found])
    return [
        BodyOut(
            jurisdiction=code, code=b.code, name=b.name, name_zh=b.name_zh, members=members[b.id]
        )
        for b, code in found
    ]


@router.get("/plans", response_model=list[PlanSummaryOut], summary="Plans (newest versions)")
def list_plans(
    scope: ApiScope,
    db: Db,
    jurisdiction: Annotated[str | None, Query(description="this subtree")] = None,
    hazard: str | None = None,
) -> list[PlanSummaryOut]:
    today = dt.date.today()
    found = plans.get_all(db, within=readable_subtree(db, scope, jurisdiction), hazard=hazard)
    return [PlanSummaryOut(**views.plan_summary(p, code, today)) for p, code in found]


@router.get(
    "/plans/in-force",
    response_model=PlanOut,
    summary="The plan in force for a jurisdiction and hazard, and where it comes from",
)
def plan_in_force(
    scope: ApiScope,
    db: Db,
    jurisdiction: Annotated[str, Query(min_length=1, max_length=64)],
    hazard: Annotated[str, Query(min_length=1, max_length=64)],
) -> PlanOut:
    where = jurisdiction_by_code(db, jurisdiction, scope.ids(Capability.READ))
    found = plans.in_force(db, where.code, hazard)
    return PlanOut(**views.plan_view(found, where.code, dt.date.today()))


# -- loading plans and bodies (the files of `tocsin plans load` and `tocsin bodies load`)

_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
_TEXT = {"schema": {"type": "string"}}


class PlanLoadedOut(BaseModel):
    jurisdiction: str
    hazard: str
    version: int
    created: bool = Field(description="false: the plan was unchanged (no new version)")


class BodiesLoadedOut(BaseModel):
    created: int
    updated: int
    unchanged: int


def _file_body(kinds: dict[str, str]) -> dict[str, Any]:
    """The OpenAPI request body of a file sent as the body, by media type."""
    return {"requestBody": {"required": True, "content": {kind: _TEXT for kind in kinds}}}


_PLAN_KINDS = dict.fromkeys(_YAML_TYPES, ".yaml")
_BODY_KINDS = {**_PLAN_KINDS, "text/csv": ".csv"}
_LOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    415: {"description": "the body is not one of the media types listed"},
    422: {"description": "the file's problems, each with FILE:LINE:FIELD, in `errors`"},
}
_FILE_NAME = Query(
    min_length=1,
    max_length=200,
    description="the file's name in the problems' locations (default: plans.yaml, "
    "bodies.yaml or bodies.csv by the media type); its ending must fit the media type",
)


async def _load_body(
    request: Request,
    scope: Scope,
    kinds: dict[str, str],
    default: str,
    file_name: str | None,
    loader: Any,
) -> Any:
    """Load the request body as a file with ``loader``, as the administration pages do
    (:func:`tocsin.web.shared.response.load_file`); 422 with every problem located."""
    from starlette.concurrency import run_in_threadpool

    from tocsin.web.problems import problem

    administered(scope)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    suffix = kinds.get(kind)
    if suffix is None:
        return problem(
            415,
            f"send the file as the body with Content-Type {' or '.join(sorted(set(kinds)))}; "
            f"got {kind or 'none'!r}",
            instance=request.url.path,
        )
    content = await request.body()
    try:
        name = upload_name(
            file_name or default + suffix, (suffix, ".yml") if suffix == ".yaml" else (suffix,)
        )
        return await run_in_threadpool(load_file, request, scope, name, content, loader)
    except UserError as exc:
        return problem(422, str(exc), instance=request.url.path, errors=_located(str(exc)))


def _located(text: str) -> list[dict[str, str]]:
    """The problems of a loader's message, one a line (``FILE:LINE:FIELD: reason``), without
    its heading (``FILE: 2 problems in the data:``)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        lines = lines[1:]
    return [
        {"location": where, "message": what}
        for where, _, what in (line.partition(": ") for line in lines)
    ]


@router.post(
    "/plans",
    response_model=list[PlanLoadedOut],
    summary="Load contingency plans (a YAML file as the body, as `tocsin plans load`)",
    openapi_extra=_file_body(_PLAN_KINDS),
    responses=_LOAD_RESPONSES,
)
async def load_plans(
    request: Request, scope: ApiScope, name: Annotated[str | None, _FILE_NAME] = None
) -> Any:
    """All or nothing: a changed plan becomes a new version, an unchanged one stays; every
    plan must be of a jurisdiction the caller administers (docs/response.md)."""
    done = await _load_body(request, scope, _PLAN_KINDS, "plans", name, plans.load)
    if not isinstance(done, list):
        return done
    return [PlanLoadedOut(**vars(item)) for item in done]


@router.post(
    "/bodies",
    response_model=BodiesLoadedOut,
    summary="Load bodies (a YAML or CSV file as the body, as `tocsin bodies load`)",
    openapi_extra=_file_body(_BODY_KINDS),
    responses=_LOAD_RESPONSES,
)
async def load_bodies(
    request: Request, scope: ApiScope, name: Annotated[str | None, _FILE_NAME] = None
) -> Any:
    """All or nothing: bodies created or updated (code, jurisdiction, names, members);
    every body must be of a jurisdiction the caller administers (docs/response.md)."""
    done = await _load_body(request, scope, _BODY_KINDS, "bodies", name, bodies.load)
    if not hasattr(done, "created"):
        return done
    return BodiesLoadedOut(created=done.created, updated=done.updated, unchanged=done.unchanged)


# -- incidents


@router.get("/incidents", response_model=Page[IncidentSummaryOut], summary="Incidents, filtered")
def list_incidents(
    scope: ApiScope,
    db: Db,
    params: Annotated[PageParams, Depends(page_params)],
    status: Annotated[str | None, Query(description=" | ".join(INCIDENT_STATUSES))] = None,
    active: Annotated[bool | None, Query(description="only incidents not closed")] = None,
    jurisdiction: Annotated[str | None, Query(description="this subtree")] = None,
) -> Page[IncidentSummaryOut]:
    query = incidents.query(
        within=readable_subtree(db, scope, jurisdiction), status=status, active=bool(active)
    )
    rows, total = paginate(db, query, params)
    items = [IncidentSummaryOut(**views.incident_summary(i, code)) for i, code in rows]
    return Page(items=items, total=total, **params.model_dump())


@router.post("/incidents", response_model=IncidentOut, status_code=201, summary="Open an incident")
def open_incident(body: IncidentIn, request: Request, scope: ApiScope, db: Db) -> IncidentOut:
    with writer(request) as wdb:
        where = jurisdiction_by_code(wdb, body.jurisdiction, scope.ids(Capability.READ))
        scope.require(Capability.RESPOND, where.id, f"jurisdiction {where.code}")
        for alert_id in body.alerts:
            alert_in_scope(wdb, scope, alert_id, Capability.READ)
        incident = incidents.open_incident(
            wdb,
            title=body.title,
            jurisdiction=where.code,
            hazard=body.hazard,
            alerts=body.alerts,
            level=body.level,
            description=body.description,
            occurred_at=_aware(body.occurred_at),
            first_figures=body.first_figures,
            commander=body.commander,
            exercise=body.exercise,
            by=scope.principal.actor,
            now=_now(),
        )
        incident_id = incident.id
    return incident_detail(db, scope, incident_id)


@router.get(
    "/incidents/{incident_id}", response_model=IncidentOut, summary="An incident and its timeline"
)
def get_incident(incident_id: ItemId, scope: ApiScope, db: Db) -> IncidentOut:
    return incident_detail(db, scope, incident_id)


@router.post(
    "/incidents/{incident_id}/level",
    response_model=IncidentOut,
    summary="Declare or change the response level (activates the plan in force)",
)
def set_level(
    incident_id: ItemId, body: LevelIn, request: Request, scope: ApiScope, db: Db
) -> IncidentOut:
    act(request, scope, incident_id, incidents.set_level, body.level, reason=body.reason)
    return incident_detail(db, scope, incident_id)


def _move_route(path: str, to: str, summary: str) -> None:
    def route(
        incident_id: ItemId, body: Comment, request: Request, scope: ApiScope, db: Db
    ) -> IncidentOut:
        act(request, scope, incident_id, incidents.move, to, comment=body.comment)
        return incident_detail(db, scope, incident_id)

    route.__name__ = f"{path.replace('-', '_')}_incident"
    router.post(f"/incidents/{{incident_id}}/{path}", response_model=IncidentOut, summary=summary)(
        route
    )


_move_route("verify", "verified", "Confirm a reported incident")
_move_route("stand-down", "stood_down", "End the response")


@router.post(
    "/incidents/{incident_id}/close",
    response_model=IncidentOut,
    summary="Close a stood-down incident with its after-action review",
)
def close_incident(
    incident_id: ItemId, body: ReviewIn, request: Request, scope: ApiScope, db: Db
) -> IncidentOut:
    act(request, scope, incident_id, incidents.close, body.model_dump())
    return incident_detail(db, scope, incident_id)


@router.post("/incidents/{incident_id}/comments", response_model=IncidentOut, summary="Comment")
def comment_incident(
    incident_id: ItemId, body: CommentIn, request: Request, scope: ApiScope, db: Db
) -> IncidentOut:
    act(request, scope, incident_id, incidents.comment, body.text)
    return incident_detail(db, scope, incident_id)


@router.post("/incidents/{incident_id}/alerts", response_model=IncidentOut, summary="Link alerts")
def link_alerts(
    incident_id: ItemId, body: AlertsIn, request: Request, scope: ApiScope, db: Db
) -> IncidentOut:
    with writer(request) as wdb:
        for alert_id in body.alerts:
            alert_in_scope(wdb, scope, alert_id, Capability.READ)
    act(request, scope, incident_id, incidents.link_alerts, body.alerts)
    return incident_detail(db, scope, incident_id)


@router.post(
    "/incidents/{incident_id}/assign",
    response_model=IncidentOut,
    summary="Name the commander and/or the lead body",
)
def assign_incident(
    incident_id: ItemId, body: AssignIn, request: Request, scope: ApiScope, db: Db
) -> IncidentOut:
    act(
        request,
        scope,
        incident_id,
        incidents.assign,
        commander=body.commander,
        lead_body=body.lead_body,
    )
    return incident_detail(db, scope, incident_id)


# -- tasks


@router.post(
    "/incidents/{incident_id}/tasks",
    response_model=IncidentOut,
    status_code=201,
    summary="Add a task by hand",
)
def add_task(
    incident_id: ItemId, body: TaskIn, request: Request, scope: ApiScope, db: Db
) -> IncidentOut:
    act(
        request,
        scope,
        incident_id,
        tasks.add,
        title=body.title,
        body=body.body,
        due_at=_aware(body.due_at),
        assignee_body=body.assignee_body,
        assignee_user=body.assignee_user,
    )
    return incident_detail(db, scope, incident_id)


def _task_action(request: Request, scope: Scope, task_id: int, **change: Any) -> int:
    with writer(request) as wdb:
        task = tasks.get(wdb, task_id)
        incident_in_scope(wdb, scope, task.incident_id, Capability.RESPOND)
        tasks.update(wdb, task_id, by=scope.principal.actor, now=_now(), **change)
        return task.incident_id


@router.patch("/tasks/{task_id}", response_model=IncidentOut, summary="Update a task")
def update_task(
    task_id: ItemId, body: TaskChangeIn, request: Request, scope: ApiScope, db: Db
) -> IncidentOut:
    incident_id = _task_action(
        request,
        scope,
        task_id,
        status=body.status,
        assignee_body=body.assignee_body,
        assignee_user=body.assignee_user,
    )
    return incident_detail(db, scope, incident_id)


@router.post(
    "/tasks/{task_id}/not-applicable",
    response_model=IncidentOut,
    summary="Close a task as not applicable, with the reason",
)
def task_not_applicable(
    task_id: ItemId, body: NotApplicableIn, request: Request, scope: ApiScope, db: Db
) -> IncidentOut:
    incident_id = _task_action(request, scope, task_id, status="not_applicable", reason=body.reason)
    return incident_detail(db, scope, incident_id)


# -- situation reports and the roll-up


class ReportIn(ApiInput):
    situation: str = Field(min_length=1, max_length=16000)
    actions: str = Field(default="", max_length=16000)
    needs: str = Field(default="", max_length=16000)


class ReportOut(BaseModel):
    number: int
    due_at: str
    submitted_at: str
    submitted_by: str
    late: bool
    level: Roman | None
    situation: str
    actions: str
    needs: str
    figures: list[dict[str, Any]] = Field(description="the linked alerts' figures then")


class ReportsOut(BaseModel):
    incident: int
    next_due: str | None = Field(description="null: no report is due any more")
    overdue: bool
    reports: list[ReportOut]


class RollupOut(IncidentSummaryOut):
    open_tasks: int
    overdue_tasks: int
    next_report_due: str | None
    report_overdue: bool
    needs: str = Field(description="what the newest report asked for")


def _reports(db: Session, scope: Scope, incident_id: int) -> ReportsOut:
    incident = incident_in_scope(db, scope, incident_id, Capability.READ)
    due = reports.next_due(db, incident)
    sent = reports.for_incident(db, incident_id)
    return ReportsOut(**views.reports_view(incident_id, sent, due, _now()))


@router.get(
    "/incidents/{incident_id}/reports",
    response_model=ReportsOut,
    summary="An incident's situation reports and the next deadline (JSON export)",
)
def list_reports(incident_id: ItemId, scope: ApiScope, db: Db) -> ReportsOut:
    return _reports(db, scope, incident_id)


@router.post(
    "/incidents/{incident_id}/reports",
    response_model=ReportsOut,
    status_code=201,
    summary="Submit the next situation report",
)
def submit_report(
    incident_id: ItemId, body: ReportIn, request: Request, scope: ApiScope, db: Db
) -> ReportsOut:
    act(
        request,
        scope,
        incident_id,
        reports.submit,
        situation=body.situation,
        actions=body.actions,
        needs=body.needs,
    )
    return _reports(db, scope, incident_id)


@router.get(
    "/rollup",
    response_model=list[RollupOut],
    summary="Active incidents of a subtree and what is overdue",
)
def rollup(
    scope: ApiScope,
    db: Db,
    jurisdiction: Annotated[str | None, Query(description="this subtree")] = None,
) -> list[RollupOut]:
    rows = reports.rollup(db, readable_subtree(db, scope, jurisdiction), _now())
    return [RollupOut(**views.rollup_view(row)) for row in rows]


class NoticeOut(BaseModel):
    identifier: str
    sender: str
    sent: str
    msg_type: Literal["Alert", "Update", "Cancel"]
    status: Literal["Actual", "Exercise"] = Field(description="Exercise: a drill's, never public")
    url: str = Field(description="the CAP 1.2 message")


def _notices(db: Session, scope: Scope, incident_id: int) -> list[NoticeOut]:
    incident_in_scope(db, scope, incident_id, Capability.READ)
    return [NoticeOut(**views.notice_view(row)) for row in notice.messages(db, incident_id)]


@router.get(
    "/incidents/{incident_id}/notices",
    response_model=list[NoticeOut],
    summary="An incident's public notices (CAP 1.2 Alert, Update, Cancel), oldest first",
)
def list_notices(incident_id: ItemId, scope: ApiScope, db: Db) -> list[NoticeOut]:
    return _notices(db, scope, incident_id)


@router.post(
    "/incidents/{incident_id}/notices/withdraw",
    response_model=list[NoticeOut],
    summary="Withdraw a notice issued in error (a CAP Cancel)",
)
def withdraw_notice(
    incident_id: ItemId, request: Request, scope: ApiScope, db: Db
) -> list[NoticeOut]:
    act(request, scope, incident_id, notice.withdraw)
    return _notices(db, scope, incident_id)
