"""Situation reports upward, and the roll-up of a subtree's response.

The jurisdiction of an incident reports on the plan's schedule: the first report is due
``first_report_after`` the opening (2 hours without a plan), each next one the report
interval of the current response level after the previous deadline (daily without a
plan). The schedule runs while the incident is not stood down or closed. A report holds
the situation, the actions taken, what is needed, and the figures of the linked alerts
at the time (observed and expected counts, level), and is on the timeline and in the
audit chain.

:func:`rollup` gives a jurisdiction the active incidents of its subtree with what is
overdue: tasks past their due time and the next report when its deadline has passed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin.alerting.models import Alert
from tocsin.alerting.severity import Level
from tocsin.errors import ConflictError, UserError
from tocsin.response import incidents, plans, tasks, timeline
from tocsin.response.models import Incident, IncidentAlert, SituationReport
from tocsin.response.timeline import said
from tocsin.text import check_texts

#: Without a plan: the first report 2 hours after opening, then one a day.
DEFAULT_FIRST = dt.timedelta(hours=2)
DEFAULT_INTERVAL = dt.timedelta(days=1)
#: Statuses in which reports are due.
REPORTING = ("reported", "verified", "response_active")


def for_incident(session: Session, incident_id: int) -> list[SituationReport]:
    """An incident's reports, oldest first."""
    return list(
        session.scalars(
            select(SituationReport)
            .where(SituationReport.incident_id == incident_id)
            .order_by(SituationReport.number)
        )
    )


def _schedule(session: Session, incident: Incident) -> tuple[dt.timedelta, dt.timedelta]:
    """(first report after opening, interval at the current level) of the plan in force."""
    found = plans.in_force_by_id(session, incident.jurisdiction_id, incident.hazard)
    if found is None:
        return DEFAULT_FIRST, DEFAULT_INTERVAL
    first = dt.timedelta(minutes=found.plan.first_report_minutes)
    if incident.level is None:
        return first, DEFAULT_INTERVAL
    return first, dt.timedelta(minutes=found.level(incident.level).report_interval)


def next_due(session: Session, incident: Incident) -> dt.datetime | None:
    """When the incident's next report is due (None: no report is due any more)."""
    if incident.status not in REPORTING:
        return None
    first, interval = _schedule(session, incident)
    last = session.scalar(
        select(func.max(SituationReport.due_at)).where(SituationReport.incident_id == incident.id)
    )
    return incident.opened_at + first if last is None else last + interval


def _figures(session: Session, incident_id: int) -> list[dict[str, Any]]:
    """The linked alerts' latest figures."""
    rows = session.scalars(
        select(Alert)
        .join(IncidentAlert, IncidentAlert.alert_id == Alert.id)
        .where(IncidentAlert.incident_id == incident_id)
        .order_by(Alert.id)
    )
    return [
        {
            "alert": a.id,
            "headline": a.headline,
            "headline_zh": a.headline_zh,
            "level": Level(a.level).roman,
            "status": a.status,
            "observed": a.observed,
            "expected": a.expected,
        }
        for a in rows
    ]


def submit(
    session: Session,
    incident_id: int,
    *,
    situation: str,
    actions: str = "",
    needs: str = "",
    by: str,
    now: dt.datetime,
) -> SituationReport:
    """Submit the incident's next report (it answers the deadline then due)."""
    check_texts({"situation": situation, "actions": actions, "needs": needs})
    if not situation:
        raise UserError("a situation report needs the situation")
    incident = incidents.get(session, incident_id, for_update=True)
    due = next_due(session, incident)
    if due is None:
        raise ConflictError(
            f"incident {incident.id} is {incident.status}; reports are due while it is "
            "reported, verified or its response is active"
        )
    number = len(for_incident(session, incident.id)) + 1
    report = SituationReport(
        incident_id=incident.id,
        number=number,
        due_at=due,
        submitted_at=now,
        submitted_by=by,
        level=incident.level,
        situation=situation,
        actions=actions,
        needs=needs,
        figures=_figures(session, incident.id),
    )
    session.add(report)
    session.flush()
    late = now > due
    timeline.log(
        session,
        incident,
        "report",
        said("report.submitted_late" if late else "report.submitted", number=number),
        by=by,
        now=now,
        data={
            "report": report.id,
            "number": number,
            "due_at": due.isoformat(),
            "late": late,
        },
    )
    return report


@dataclass(frozen=True)
class RollupRow:
    """An active incident of a subtree and what is overdue there."""

    incident: Incident
    jurisdiction: str
    overdue_tasks: int
    open_tasks: int
    next_report_due: dt.datetime | None
    report_overdue: bool
    last_needs: str


def rollup(session: Session, within: Iterable[int], now: dt.datetime) -> list[RollupRow]:
    """Every active incident of ``within`` (jurisdiction ids), most serious first."""
    return rollup_rows(session, incidents.get_all(session, within=set(within), active=True), now)


def rollup_rows(
    session: Session, found: Iterable[tuple[Incident, str]], now: dt.datetime
) -> list[RollupRow]:
    """What is open and overdue of each incident of ``found`` (incident, jurisdiction
    code): the roll-up's rows, also what the list of incidents shows of each."""
    rows = []
    for incident, code in found:
        work = [
            t for t in tasks.for_incident(session, incident.id) if t.status in tasks.OPEN_STATUSES
        ]
        due = next_due(session, incident)
        sent = for_incident(session, incident.id)
        rows.append(
            RollupRow(
                incident=incident,
                jurisdiction=code,
                open_tasks=len(work),
                overdue_tasks=sum(1 for t in work if t.due_at is not None and t.due_at < now),
                next_report_due=due,
                report_overdue=due is not None and due < now,
                last_needs=sent[-1].needs if sent else "",
            )
        )
    return rows
