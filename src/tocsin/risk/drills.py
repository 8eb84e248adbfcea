"""Drills: an exercise scheduled for a jurisdiction, injected by the worker at its time,
run through alerting, escalation, tasks and reports exactly as a real event, and
measured against the plan.

A drill is ``scheduled`` for a time; the worker's round (:func:`inject_due`, called by
:class:`tocsin.worker.Worker`) injects it when its time has come (``injected``), in one
of two modes:

``alert``
    an alert raised by hand with ``exercise`` set (:func:`tocsin.alerting.lifecycle.raise_alert`):
    it escalates and notifies the duty contacts as any alert, its headline begins with
    "Exercise:", its CAP messages have status ``Exercise``; the duty officer acknowledges
    it and opens an incident from it, which is an exercise too.
``incident``
    an incident opened with ``exercise`` set and no level yet: the officers declare its
    level, which activates the plan (tasks, notifications, reports) as for a real one.

An exercise counts in no real figure: not in the situation page's counts, the alert
gauges, the public page or the Atom feed (status ``Exercise``), nor in the scorecards'
acknowledgement and report figures; the scorecards count drills held instead
(:mod:`tocsin.risk.scorecards`). Once the exercise is over an officer marks the drill
``completed`` with its lessons; a drill not yet injected may be ``cancelled``.

:func:`report` measures each step from the injection against the plan: the
acknowledgement and the level declared against the drill's targets, each task against
its due time (the plan's offset), the first situation report against its deadline.
Every change is in the audit chain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.alerting import lifecycle
from tocsin.alerting.models import Alert
from tocsin.alerting.settings import AlertingSettings
from tocsin.alerting.severity import Level, parse_level
from tocsin.audit.log import record
from tocsin.errors import ConflictError, NotFoundError, UserError
from tocsin.monitoring.models import Indicator, Jurisdiction
from tocsin.response import incidents, plans, reports, tasks
from tocsin.response.models import Incident, IncidentAlert, IncidentEvent
from tocsin.response.places import tree
from tocsin.risk.models import DRILL_MODES, Drill
from tocsin.text import check_texts

#: Who injects a drill.
INJECTOR = "tocsin"
#: Statuses of a drill that was held.
HELD = ("injected", "completed")


def get(session: Session, drill_id: int, *, for_update: bool = False) -> Drill:
    found = session.get(Drill, drill_id, with_for_update=for_update)
    if found is None:
        raise NotFoundError(f"drill {drill_id} does not exist")
    return found


def _audit(session: Session, drill: Drill, action: str, *, by: str, now: dt.datetime, **after):  # type: ignore[no-untyped-def]
    record(
        session,
        action=f"drill.{action}",
        object_type="drill",
        object_id=str(drill.id),
        after={"status": drill.status, **after},
        actor=by,
        at=now,
    )


def schedule(
    session: Session,
    *,
    jurisdiction: str,
    hazard: str,
    title: str,
    at: dt.datetime,
    mode: str = "alert",
    level: str | int = "III",
    ack_minutes: int = 30,
    declare_minutes: int = 60,
    by: str,
    now: dt.datetime,
) -> Drill:
    """Schedule an exercise of ``jurisdiction`` about ``hazard`` at ``at`` (a time in
    the past is injected at the worker's next round)."""
    check_texts({"title": title, "by": by})
    if not title.strip():
        raise UserError("a drill needs a title (what is exercised)")
    if at.tzinfo is None:
        raise UserError("the drill's time needs a time zone (e.g. 2026-12-08T09:00:00Z)")
    if mode not in DRILL_MODES:
        raise UserError(f"mode: expected {' or '.join(DRILL_MODES)}, not {mode!r}")
    try:
        number = int(parse_level(level))
    except ValueError as exc:
        raise UserError(f"level: {exc}") from None
    if ack_minutes < 1 or declare_minutes < 1:
        raise UserError("the targets (minutes to acknowledge, to declare) must be at least 1")
    place = tree(session).place_by_code(jurisdiction)
    if hazard not in plans.known_hazards(session):
        raise NotFoundError(
            f"no hazard {hazard!r}: expected an indicator, an indicator domain or a kind of event"
        )
    drill = Drill(
        jurisdiction_id=place.id,
        hazard=hazard,
        title=title.strip(),
        mode=mode,
        level=number,
        scheduled_at=at,
        status="scheduled",
        ack_minutes=ack_minutes,
        declare_minutes=declare_minutes,
        lessons="",
        created_at=now,
        created_by=by,
    )
    session.add(drill)
    session.flush()
    _audit(
        session,
        drill,
        "schedule",
        by=by,
        now=now,
        jurisdiction=jurisdiction,
        hazard=hazard,
        title=drill.title,
        mode=mode,
        level=Level(number).roman,
        scheduled_at=at.isoformat(),
        ack_minutes=ack_minutes,
        declare_minutes=declare_minutes,
    )
    return drill


def cancel(session: Session, drill_id: int, *, by: str, now: dt.datetime) -> Drill:
    """Cancel a drill that has not been injected yet."""
    drill = get(session, drill_id, for_update=True)
    if drill.status != "scheduled":
        raise ConflictError(
            f"drill {drill.id} is {drill.status}; only a scheduled drill can be cancelled"
        )
    drill.status = "cancelled"
    _audit(session, drill, "cancel", by=by, now=now)
    return drill


def inject(
    session: Session,
    drill: Drill,
    *,
    now: dt.datetime,
    settings: AlertingSettings | None = None,
) -> Drill:
    """Inject a scheduled drill now: its exercise alert or exercise incident."""
    if drill.status != "scheduled":
        raise ConflictError(f"drill {drill.id} is {drill.status}; it was injected already")
    code = tree(session).places[drill.jurisdiction_id].code
    if drill.mode == "alert":
        alert = lifecycle.raise_alert(
            session,
            jurisdiction=code,
            level=drill.level,
            headline=f"Exercise: {drill.title}",
            headline_zh=f"演练：{drill.title}",
            description=f"Drill {drill.id}: an exercise, not a real emergency.",
            indicator=session.scalar(select(Indicator.code).where(Indicator.code == drill.hazard)),
            exercise=True,
            by=INJECTOR,
            now=now,
            settings=settings,
        )
        drill.alert_id = alert.id
    else:
        incident = incidents.open_incident(
            session,
            title=f"Exercise: {drill.title}",
            jurisdiction=code,
            hazard=drill.hazard,
            description=f"Drill {drill.id}: an exercise, not a real emergency.",
            exercise=True,
            by=INJECTOR,
            now=now,
            settings=settings,
        )
        drill.incident_id = incident.id
    drill.status = "injected"
    drill.injected_at = now
    _audit(
        session,
        drill,
        "inject",
        by=INJECTOR,
        now=now,
        alert=drill.alert_id,
        incident=drill.incident_id,
    )
    return drill


def inject_due(
    session: Session, *, now: dt.datetime, settings: AlertingSettings | None = None
) -> int:
    """Inject every scheduled drill whose time has come (``tocsin worker`` calls it every
    round; several workers never inject one drill twice: the rows are locked, and those
    another worker holds are skipped). Returns how many."""
    due = session.scalars(
        select(Drill)
        .where(Drill.status == "scheduled", Drill.scheduled_at <= now)
        .order_by(Drill.scheduled_at, Drill.id)
        .with_for_update(skip_locked=True)
    ).all()
    for drill in due:
        inject(session, drill, now=now, settings=settings)
    return len(due)


def incident_of(session: Session, drill: Drill) -> Incident | None:
    """The drill's incident: the one it injected, or the first opened from its alert."""
    if drill.incident_id is not None:
        return session.get(Incident, drill.incident_id)
    if drill.alert_id is None:
        return None
    return session.scalar(
        select(Incident)
        .join(IncidentAlert, IncidentAlert.incident_id == Incident.id)
        .where(IncidentAlert.alert_id == drill.alert_id)
        .order_by(Incident.id)
        .limit(1)
    )


def complete(
    session: Session, drill_id: int, *, lessons: str = "", by: str, now: dt.datetime
) -> Drill:
    """Mark an injected drill as completed, with what it taught."""
    check_texts({"lessons": lessons})
    drill = get(session, drill_id, for_update=True)
    if drill.status != "injected":
        raise ConflictError(
            f"drill {drill.id} is {drill.status}; only an injected drill can be completed"
        )
    found = incident_of(session, drill)
    if found is not None:
        drill.incident_id = found.id
    drill.status = "completed"
    drill.completed_at = now
    drill.lessons = lessons.strip()
    _audit(session, drill, "complete", by=by, now=now, lessons=drill.lessons)
    return drill


def held(
    session: Session, ids: Collection[int], start: dt.datetime, end: dt.datetime
) -> list[Drill]:
    """The drills of the jurisdictions ``ids`` injected between ``start`` and ``end``."""
    return list(
        session.scalars(
            select(Drill)
            .where(
                Drill.jurisdiction_id.in_(sorted(ids)),
                Drill.status.in_(HELD),
                Drill.injected_at >= start,
                Drill.injected_at < end,
            )
            .order_by(Drill.injected_at, Drill.id)
        )
    )


# -- the report


@dataclass(frozen=True)
class Step:
    """One step of a drill measured: when it was due (None: no target), when it
    happened (None: not yet), and how that compares."""

    step: str  # injected, acknowledged, incident_opened, declared, task, report, completed
    label: str
    due_at: dt.datetime | None
    done_at: dt.datetime | None
    #: Minutes from the injection to the due time and to the step.
    due_minutes: float | None
    done_minutes: float | None
    #: on_time, late, overdue (not done, due time passed), pending, done (no target),
    #: not_applicable (a task closed as not applicable)
    outcome: str
    href: str | None = None


@dataclass
class DrillReport:
    drill: Drill
    jurisdiction: str
    alert_id: int | None
    incident_id: int | None
    steps: list[Step] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for s in self.steps if s.outcome == outcome)


def _minutes(start: dt.datetime, moment: dt.datetime | None) -> float | None:
    return None if moment is None else round((moment - start).total_seconds() / 60, 1)


def _step(
    step: str,
    label: str,
    start: dt.datetime,
    due: dt.datetime | None,
    done: dt.datetime | None,
    now: dt.datetime,
    href: str | None = None,
) -> Step:
    if done is not None:
        outcome = "done" if due is None else ("on_time" if done <= due else "late")
    else:
        outcome = "overdue" if due is not None and due < now else "pending"
    return Step(step, label, due, done, _minutes(start, due), _minutes(start, done), outcome, href)


def report(session: Session, drill_id: int, *, now: dt.datetime) -> DrillReport:
    """The drill's steps measured against the plan (see the module's docstring)."""
    drill = get(session, drill_id)
    place: Jurisdiction = tree(session).places[drill.jurisdiction_id]
    found = incident_of(session, drill)
    result = DrillReport(drill, place.code, drill.alert_id, found.id if found else None)
    start = drill.injected_at
    if start is None:
        return result
    steps = result.steps
    # The injection is the clock's start (the worker's round after the scheduled time).
    steps.append(
        Step("injected", "", drill.scheduled_at, start, _minutes(start, drill.scheduled_at),
             0.0, "done")
    )  # fmt: skip
    if drill.mode == "alert" and drill.alert_id is not None:
        alert = session.get(Alert, drill.alert_id)
        acknowledged = alert.acknowledged_at if alert is not None else None
        due = start + dt.timedelta(minutes=drill.ack_minutes)
        href = f"/alerts/{drill.alert_id}"
        steps.append(_step("acknowledged", "", start, due, acknowledged, now, href))
        opened = found.opened_at if found is not None else None
        href = f"/incidents/{found.id}" if found is not None else None
        steps.append(_step("incident_opened", "", start, None, opened, now, href))
    declared = None
    if found is not None:
        declared = session.scalar(
            select(IncidentEvent.at)
            .where(IncidentEvent.incident_id == found.id, IncidentEvent.kind == "level")
            .order_by(IncidentEvent.id)
            .limit(1)
        )
    due = start + dt.timedelta(minutes=drill.declare_minutes)
    href = f"/incidents/{found.id}" if found is not None else None
    steps.append(_step("declared", "", start, due, declared, now, href))
    if found is None:
        return result
    for task in tasks.for_incident(session, found.id):
        href = f"/incidents/{found.id}#task-{task.id}"
        if task.status == "not_applicable":
            steps.append(
                Step(
                    "task", task.title, task.due_at, None, _minutes(start, task.due_at), None,
                    "not_applicable", href,
                )
            )  # fmt: skip
            continue
        done = task.done_at if task.status == "done" else None
        steps.append(_step("task", task.title, start, task.due_at, done, now, href))
    submitted = reports.for_incident(session, found.id)
    if submitted:
        first = submitted[0]
        due, done = first.due_at, first.submitted_at
    else:
        due, done = reports.next_due(session, found), None
    steps.append(_step("report", "1", start, due, done, now, f"/incidents/{found.id}"))
    if drill.completed_at is not None:
        steps.append(_step("completed", "", start, None, drill.completed_at, now))
    return result
