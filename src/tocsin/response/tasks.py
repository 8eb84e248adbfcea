"""Tasks: the work of an incident -- made from the plan's checklist when a response level
is activated, or added by hand -- with an assignee (a body or a user), a due time and a
status: open, in progress, done, or not applicable (with the reason).

Every change is on the incident's timeline and in the audit chain
(:func:`tocsin.response.timeline.log`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.accounts.models import User
from tocsin.alerting.directory import Directory
from tocsin.alerting.severity import Level
from tocsin.errors import ConflictError, NotFoundError, UserError
from tocsin.monitoring.models import Jurisdiction
from tocsin.response import bodies, timeline
from tocsin.response.models import TASK_STATUSES, Incident, IncidentTask, ResponseBody
from tocsin.response.plans import PlanInForce
from tocsin.response.timeline import Said, said

#: Statuses of work still to do.
OPEN_STATUSES = ("open", "in_progress")


def get(session: Session, task_id: int) -> IncidentTask:
    task = session.get(IncidentTask, task_id)
    if task is None:
        raise NotFoundError(f"task {task_id} does not exist")
    return task


def for_incident(session: Session, incident_id: int) -> list[IncidentTask]:
    """An incident's tasks in the order they were made."""
    return list(
        session.scalars(
            select(IncidentTask)
            .where(IncidentTask.incident_id == incident_id)
            .order_by(IncidentTask.id)
        )
    )


def _state(task: IncidentTask) -> dict[str, Any]:
    return {
        "task": task.id,
        "title": task.title,
        "status": task.status,
        "reason": task.reason,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "assignee_body_id": task.assignee_body_id,
        "assignee_user_id": task.assignee_user_id,
    }


def activate_checklist(
    session: Session,
    incident: Incident,
    plan: PlanInForce,
    level: int,
    *,
    directory: Directory,
    by: str,
    now: dt.datetime,
) -> tuple[list[IncidentTask], list[IncidentTask]]:
    """The tasks of level ``level``'s checklist: created (due ``now`` + the item's due
    offset) for items the incident does not have yet, reopened for items closed as not
    applicable when the level was lowered. Returns (created, reopened)."""
    checklist = plan.level(level)
    existing = {
        t.item: t
        for t in for_incident(session, incident.id)
        if t.plan_level == level and t.item is not None
    }
    created, reopened = [], []
    for number, item in enumerate(checklist.tasks):
        due = now + dt.timedelta(minutes=item.due)
        task = existing.get(number)
        if task is not None:
            if task.status == "not_applicable":
                task.status, task.reason, task.due_at, task.updated_at = "open", "", due, now
                reopened.append(task)
            continue
        body = bodies.resolve(
            session, directory, incident.jurisdiction_id, item.assignee or checklist.lead_body
        )
        task = IncidentTask(
            incident_id=incident.id,
            plan_level=level,
            item=number,
            title=item.title,
            body=item.body,
            title_zh=item.title_zh,
            body_zh=item.body_zh,
            assignee_body_id=body.id if body else None,
            due_at=due,
            status="open",
            reason="",
            created_at=now,
            updated_at=now,
        )
        session.add(task)
        created.append(task)
    session.flush()
    return created, reopened


def close_not_applicable(
    session: Session,
    incident: Incident,
    tasks: Iterable[IncidentTask],
    reason: str | Said,
    *,
    by: str,
    now: dt.datetime,
) -> list[IncidentTask]:
    """Close the open ones of ``tasks`` as not applicable, with ``reason`` (a person's
    words or what tocsin says); done work is kept as it is."""
    closed = []
    written = timeline.english(reason) if isinstance(reason, Said) else reason
    for task in tasks:
        if task.status in OPEN_STATUSES:
            task.status, task.reason, task.updated_at = "not_applicable", written, now
            closed.append(task)
    if closed:
        timeline.log(
            session,
            incident,
            "tasks_closed",
            said("tasks.closed", reason=reason),
            by=by,
            now=now,
            data={"tasks": [t.id for t in closed]},
        )
    return closed


def _open_incident(session: Session, task: IncidentTask) -> Incident:
    incident = session.get(Incident, task.incident_id, with_for_update=True)
    assert incident is not None
    if incident.status == "closed":
        raise ConflictError(f"incident {incident.id} is closed; its tasks can no longer change")
    return incident


def update(
    session: Session,
    task_id: int,
    *,
    status: str | None = None,
    reason: str = "",
    assignee_user: str | None = None,
    assignee_body: str | None = None,
    by: str,
    now: dt.datetime,
) -> IncidentTask:
    """Change a task's status (``not_applicable`` needs a reason) or assignee."""
    task = get(session, task_id)
    incident = _open_incident(session, task)
    before = _state(task)
    if status is not None:
        if status not in TASK_STATUSES:
            raise UserError(f"unknown task status {status!r}; expected {', '.join(TASK_STATUSES)}")
        if status == "not_applicable" and not reason:
            raise UserError(f"task {task_id}: say why it is not applicable (a reason)")
        task.status = status
        task.reason = reason if status == "not_applicable" else ""
        task.done_at = now if status == "done" else None
    if assignee_user is not None:
        task.assignee_user_id = (
            bodies.active_user_id(session, assignee_user) if assignee_user else None
        )
    if assignee_body is not None:
        found = (
            bodies.get(session, _code_of(session, incident), assignee_body)
            if assignee_body
            else None
        )
        task.assignee_body_id = found.id if found else None
    after = _state(task)
    if after == before:
        return task
    task.updated_at = now
    session.flush()
    named = {"task": task.title, "task_zh": task.title_zh}
    # A new status and a new assignee are two lines of the timeline, each saying its own.
    if any(before[key] != after[key] for key in after if key not in ASSIGNEE_KEYS):
        text = (
            said("task.changed_reason", **named, task_status=task.status, reason=task.reason)
            if task.reason
            else said("task.changed", **named, task_status=task.status)
        )
        timeline.log(session, incident, "task", text, by=by, now=now, data=after, before=before)
    if any(before[key] != after[key] for key in ASSIGNEE_KEYS):
        to = said("task.assigned", **named, **_assignee(session, task))
        timeline.log(session, incident, "task", to, by=by, now=now, data=after, before=before)
    return task


#: The fields of a task's state that say who it is assigned to.
ASSIGNEE_KEYS = ("assignee_body_id", "assignee_user_id")


def _assignee(session: Session, task: IncidentTask) -> dict[str, str | None]:
    """The ``assignee`` parameters of a task's message: the body's names (English,
    Chinese) and the user's display name; None when nobody is assigned."""
    body = session.get(ResponseBody, task.assignee_body_id) if task.assignee_body_id else None
    user = session.get(User, task.assignee_user_id) if task.assignee_user_id else None
    person = [user.display_name or user.username] if user else []
    english = [body.name] if body else []
    chinese = [body.name_zh or body.name] if body else []
    if not english + person:
        return {"assignee": None}
    return {"assignee": ", ".join(english + person), "assignee_zh": "、".join(chinese + person)}


def _code_of(session: Session, incident: Incident) -> str:
    code = session.scalar(
        select(Jurisdiction.code).where(Jurisdiction.id == incident.jurisdiction_id)
    )
    assert code is not None
    return code


def add(
    session: Session,
    incident_id: int,
    *,
    title: str,
    body: str = "",
    due_at: dt.datetime | None = None,
    assignee_body: str | None = None,
    assignee_user: str | None = None,
    by: str,
    now: dt.datetime,
) -> IncidentTask:
    """A task added by hand to an incident."""
    incident = session.get(Incident, incident_id, with_for_update=True)
    if incident is None:
        raise NotFoundError(f"incident {incident_id} does not exist")
    if incident.status == "closed":
        raise ConflictError(f"incident {incident_id} is closed; it takes no new tasks")
    if not title:
        raise UserError("a task needs a title")
    if due_at is not None and due_at.tzinfo is None:
        raise UserError("a due time needs a time zone (e.g. 2026-12-07T18:00:00Z)")
    task = IncidentTask(
        incident_id=incident.id,
        title=title,
        body=body,
        due_at=due_at,
        status="open",
        reason="",
        created_at=now,
        updated_at=now,
    )
    if assignee_body:
        task.assignee_body_id = bodies.get(session, _code_of(session, incident), assignee_body).id
    if assignee_user:
        task.assignee_user_id = bodies.active_user_id(session, assignee_user)
    session.add(task)
    session.flush()
    timeline.log(session, incident, "task_added", task.title, by=by, now=now, data=_state(task))
    return task


def level_name(level: int | None) -> str:
    return Level(level).roman if level else "-"
