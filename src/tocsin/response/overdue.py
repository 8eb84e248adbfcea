"""Overdue work escalates like an unacknowledged alert.

A task past its due time, and an incident's next situation report past its deadline,
climb the hierarchy through the escalation policy of alerts
(:func:`tocsin.alerting.escalation.plan_steps`, a jurisdiction's own policy or the one it
inherits, by default: at once, then one level up every 30 minutes):

- an overdue **task** starts at the jurisdiction of its body (the body acting for the
  incident's jurisdiction; without a body, the incident's jurisdiction), then up;
- an overdue **report** starts at the *parent* of the incident's jurisdiction -- the
  jurisdiction the report is owed to -- then up (at the root: the root).

A step whose jurisdiction has nobody on duty moves the next one to now, as for alerts.
Each step notifies the duty contacts through the outbox
(:func:`tocsin.response.notices.queue`) and is one event on the incident's timeline (and
in the audit chain). Escalation stops when the task is done or not applicable, when the
report is submitted (the next deadline starts a new round), or when the incident stands
down.

The timers are durable: the deadline being escalated, the next step and when it falls
due are columns of the task (``escalation_*``) and of the incident
(``report_escalation_*``), written in the transaction that queues the step's
notifications, whose idempotency keys name the deadline and the step. A worker killed
and restarted, or a second worker, therefore neither skips nor repeats a step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tocsin.alerting.batch import SYSTEM_ACTOR, settings_or_default
from tocsin.alerting.directory import Directory
from tocsin.alerting.escalation import plan_steps
from tocsin.alerting.settings import AlertingSettings
from tocsin.response import notices, reports, timeline
from tocsin.response.models import Incident, IncidentTask, ResponseBody
from tocsin.response.tasks import OPEN_STATUSES
from tocsin.response.timeline import said


@dataclass(frozen=True)
class Step:
    index: int
    jurisdiction_id: int


def _escalate(
    row: Incident | IncidentTask,
    timer: str,
    directory: Directory,
    deadline: dt.datetime,
    origin: int,
    now: dt.datetime,
) -> list[Step]:
    """The steps due at ``now`` of the durable timer ``timer`` of ``row`` (its columns
    ``<timer>_due``, ``_step`` and ``_at``: the deadline escalated, the next step and when
    it falls due, None after the last) on the chain above ``origin``; a new ``deadline``
    starts a new round. The columns move on to the next step."""
    due, step, at = (getattr(row, f"{timer}_{part}") for part in ("due", "step", "at"))
    if due != deadline:
        due, step, at = deadline, 0, deadline
    if at is None or at > now:
        found = []
    else:
        chain = directory.chain(origin)
        policy = directory.policy(origin)
        offset = policy.due_at(deadline, step)
        assert offset is not None
        # The round's start as stored: a step with nobody on duty moved it earlier.
        started = at - (offset - deadline)
        steps, started = plan_steps(
            policy,
            started,
            step,
            now,
            len(chain),
            reachable=lambda position: bool(directory.contacts(chain[position])),
        )
        step += len(steps)
        at = policy.due_at(started, step)
        found = [Step(d.index, chain[d.target]) for d in steps]
    for part, value in (("due", due), ("step", step), ("at", at)):
        setattr(row, f"{timer}_{part}", value)
    return found


def _stamp(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _notify_steps(
    session: Session,
    incident: Incident,
    steps: list[Step],
    *,
    directory: Directory,
    reason: str,
    key: str,
    kind: str,
    message: str,
    what: dict[str, str],
    now: dt.datetime,
    settings: AlertingSettings,
    due: dt.datetime,
    **facts: object,
) -> int:
    """Notify each of ``steps`` and log it on the timeline as ``message`` (of
    :data:`tocsin.response.timeline.MESSAGES`, with ``what`` it names besides the step;
    ``due``: the deadline escalated, exact in the event's data, to the minute in its
    text)."""
    facts["due"] = due
    queued = 0
    for step in steps:
        place = directory.places[step.jurisdiction_id]
        contacts = directory.contacts(step.jurisdiction_id)
        count = notices.queue(
            session,
            contacts,
            facts=notices.facts_of(incident, directory, **facts),
            reason=reason,
            key=f"{key}/step-{step.index}",
            now=now,
            settings=settings,
            step=step.index,
        )
        queued += count
        said_of = {
            "due": f"{due:%Y-%m-%d %H:%M}",
            "step": step.index,
            "place": place.name,
            "place_zh": place.name_zh,
            "contacts": [c.name for c in contacts],
            **what,
        }
        timeline.log(
            session,
            incident,
            kind,
            said(message if contacts else f"{message}_nobody", **said_of),
            by=SYSTEM_ACTOR,
            now=now,
            data={
                "step": step.index,
                "jurisdiction": place.code,
                "contacts": [c.id for c in contacts],
                "notifications": count,
                "due": due.isoformat(),
                **{k: v for k, v in facts.items() if k == "task_id"},
            },
        )
    return queued


def _reports(
    session: Session,
    directory: Directory,
    *,
    now: dt.datetime,
    settings: AlertingSettings,
    limit: int,
) -> int:
    queued = 0
    found = session.scalars(
        select(Incident)
        .where(Incident.status.in_(reports.REPORTING))
        .order_by(Incident.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for incident in found:
        deadline = reports.next_due(session, incident)
        if deadline is None or deadline > now:
            continue
        chain = directory.chain(incident.jurisdiction_id)
        origin = chain[1] if len(chain) > 1 else chain[0]  # the report is owed upward
        steps = _escalate(incident, "report_escalation", directory, deadline, origin, now)
        queued += _notify_steps(
            session,
            incident,
            steps,
            directory=directory,
            reason="report-overdue",
            key=f"report-due-{_stamp(deadline)}",
            kind="report_overdue",
            message="report.overdue",
            what={},
            now=now,
            settings=settings,
            due=deadline,
        )
    return queued


def _tasks(
    session: Session,
    directory: Directory,
    *,
    now: dt.datetime,
    settings: AlertingSettings,
    limit: int,
) -> int:
    queued = 0
    found = session.execute(
        select(IncidentTask, Incident)
        .join(Incident, Incident.id == IncidentTask.incident_id)
        .where(
            IncidentTask.status.in_(OPEN_STATUSES),
            IncidentTask.due_at <= now,
            Incident.status.in_(reports.REPORTING),
            or_(
                IncidentTask.escalation_due.is_(None),
                IncidentTask.escalation_due != IncidentTask.due_at,
                IncidentTask.escalation_at <= now,
            ),
        )
        .order_by(IncidentTask.id)
        .limit(limit)
        .with_for_update(of=IncidentTask, skip_locked=True)
    ).all()
    bodies = {
        b.id: b.jurisdiction_id
        for b in session.scalars(
            select(ResponseBody).where(
                ResponseBody.id.in_({t.assignee_body_id for t, _ in found if t.assignee_body_id})
            )
        )
    }
    for task, incident in found:
        assert task.due_at is not None
        origin = bodies.get(task.assignee_body_id or 0, incident.jurisdiction_id)
        steps = _escalate(task, "escalation", directory, task.due_at, origin, now)
        queued += _notify_steps(
            session,
            incident,
            steps,
            directory=directory,
            reason="task-overdue",
            key=f"task-{task.id}/due-{_stamp(task.due_at)}",
            kind="task_overdue",
            message="task.overdue",
            what={"task": task.title, "task_zh": task.title_zh},
            now=now,
            settings=settings,
            task_id=task.id,
            task=task.title,
            due=task.due_at,
        )
    return queued


def escalate_overdue(
    session: Session,
    *,
    now: dt.datetime,
    settings: AlertingSettings | None = None,
    limit: int = 500,
) -> int:
    """Run the escalation steps of overdue reports and tasks that have fallen due;
    return the notifications queued (``tocsin worker`` calls it every round)."""
    settings = settings_or_default(settings)
    directory = Directory(
        session, default_wait=dt.timedelta(minutes=settings.escalation_wait_minutes)
    )
    queued = _reports(session, directory, now=now, settings=settings, limit=limit)
    queued += _tasks(session, directory, now=now, settings=settings, limit=limit)
    session.flush()
    return queued
