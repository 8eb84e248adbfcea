"""What response objects look like outside tocsin: the one JSON shape that the command
line (``--json``) and the JSON API (``/api/v1/incidents``, ``/api/v1/plans``) both give."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tocsin.alerting.models import CapMessageRow
from tocsin.alerting.settings import get_alerting_settings
from tocsin.alerting.severity import Level
from tocsin.response.incidents import IncidentDetail
from tocsin.response.models import (
    ContingencyPlan,
    Incident,
    IncidentEvent,
    IncidentTask,
    SituationReport,
)
from tocsin.response.plans import PlanInForce, level_of, review_overdue
from tocsin.response.reports import RollupRow
from tocsin.response.schemas import format_minutes


def _time(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def level_name(level: int | None) -> str | None:
    return Level(level).roman if level else None


def incident_summary(incident: Incident, jurisdiction: str) -> dict[str, Any]:
    return {
        "id": incident.id,
        "title": incident.title,
        "title_zh": incident.title_zh,
        "hazard": incident.hazard,
        "jurisdiction": jurisdiction,
        "level": level_name(incident.level),
        "colour": Level(incident.level).colour.value if incident.level else None,
        "status": incident.status,
        "exercise": incident.exercise,
        "opened_at": _time(incident.opened_at),
        "opened_by": incident.opened_by,
        "updated_at": _time(incident.updated_at),
        "closed_at": _time(incident.closed_at),
    }


def task_view(
    task: IncidentTask, body_codes: dict[int, str], usernames: dict[int, str]
) -> dict[str, Any]:
    return {
        "id": task.id,
        "title": task.title,
        "title_zh": task.title_zh,
        "body": task.body,
        "body_zh": task.body_zh,
        "plan_level": level_name(task.plan_level),
        "assignee_body": body_codes.get(task.assignee_body_id) if task.assignee_body_id else None,
        "assignee_user_id": task.assignee_user_id,
        "assignee_user": usernames.get(task.assignee_user_id) if task.assignee_user_id else None,
        "due_at": _time(task.due_at),
        "status": task.status,
        "reason": task.reason,
        "done_at": _time(task.done_at),
    }


def event_view(event: IncidentEvent) -> dict[str, Any]:
    return {
        "at": _time(event.at),
        "actor": event.actor,
        "kind": event.kind,
        "text": event.text,
        "data": event.data,
        "message": event.message,
        "params": event.params,
    }


def plan_summary(plan: ContingencyPlan, jurisdiction: str, today: dt.date) -> dict[str, Any]:
    return {
        "id": plan.id,
        "jurisdiction": jurisdiction,
        "hazard": plan.hazard,
        "version": plan.version,
        "title": plan.title,
        "title_zh": plan.title_zh,
        "owner_body": plan.owner_body,
        "review_date": plan.review_date.isoformat(),
        "review_overdue": review_overdue(plan, today),
        "first_report_after": format_minutes(plan.first_report_minutes),
    }


def plan_levels(plan: ContingencyPlan) -> dict[str, dict[str, Any]]:
    """What a plan version says for each response level I-IV."""
    levels = {}
    for level in Level:
        checklist = level_of(plan, int(level))
        levels[level.roman] = {
            "alert_level": level_name(checklist.activation.alert_level),
            "criteria": checklist.activation.criteria,
            "criteria_zh": checklist.activation.criteria_zh,
            "lead_body": checklist.lead_body,
            "participating_bodies": checklist.participating_bodies,
            "notify": checklist.notify,
            "report_interval": format_minutes(checklist.report_interval),
            "tasks": [
                {"title": t.title, "title_zh": t.title_zh, "body": t.body,
                 "body_zh": t.body_zh, "due": format_minutes(t.due),
                 "assignee": t.assignee or checklist.lead_body}
                for t in checklist.tasks
            ],
        }  # fmt: skip
    return levels


def plan_view(found: PlanInForce, jurisdiction: str, today: dt.date) -> dict[str, Any]:
    """The plan in force for ``jurisdiction``, where it comes from, and its levels."""
    return {
        **plan_summary(found.plan, found.source, today),
        "in_force_for": jurisdiction,
        "inherited_from": found.source if found.inherited else None,
        "levels": plan_levels(found.plan),
    }


def incident_view(detail: IncidentDetail) -> dict[str, Any]:
    incident = detail.incident
    return {
        **incident_summary(incident, detail.jurisdiction),
        "description": incident.description,
        "occurred_at": _time(incident.occurred_at),
        "first_figures": incident.first_figures,
        "lead_body": detail.lead_body,
        "commander": detail.commander,
        "plan": (
            {"id": detail.plan.plan.id, "version": detail.plan.plan.version,
             "title": detail.plan.plan.title, "title_zh": detail.plan.plan.title_zh,
             "source": detail.plan.source,
             "source_name": (detail.plan_source_names or (detail.plan.source,) * 2)[0],
             "source_name_zh": (detail.plan_source_names or (detail.plan.source,) * 2)[1],
             "inherited": detail.plan.inherited}
            if detail.plan else None
        ),
        "bodies": {
            code: {"name": name, "name_zh": name_zh}
            for code, (name, name_zh) in sorted(detail.body_names.items())
        },
        "alerts": [
            {
                "id": a.id,
                "level": level_name(a.level),
                "status": a.status,
                "headline": a.headline,
                "headline_zh": a.headline_zh,
            }
            for a in detail.alerts
        ],
        "tasks": [task_view(t, detail.body_codes, detail.usernames) for t in detail.tasks],
        "timeline": [event_view(e) for e in detail.events],
        "review": incident.review,
    }  # fmt: skip


def report_view(report: SituationReport) -> dict[str, Any]:
    return {
        "number": report.number,
        "due_at": _time(report.due_at),
        "submitted_at": _time(report.submitted_at),
        "submitted_by": report.submitted_by,
        "late": report.submitted_at > report.due_at,
        "level": level_name(report.level),
        "situation": report.situation,
        "actions": report.actions,
        "needs": report.needs,
        "figures": report.figures,
    }


def reports_view(
    incident_id: int, sent: list[SituationReport], due: dt.datetime | None, now: dt.datetime
) -> dict[str, Any]:
    """An incident's reports and its next deadline (the JSON export of its reports)."""
    return {
        "incident": incident_id,
        "next_due": _time(due),
        "overdue": due is not None and due < now,
        "reports": [report_view(r) for r in sent],
    }


def rollup_view(row: RollupRow) -> dict[str, Any]:
    return {
        **incident_summary(row.incident, row.jurisdiction),
        "open_tasks": row.open_tasks,
        "overdue_tasks": row.overdue_tasks,
        "next_report_due": _time(row.next_report_due),
        "report_overdue": row.report_overdue,
        "needs": row.last_needs,
    }


def notice_view(row: CapMessageRow) -> dict[str, Any]:
    """An incident's CAP notice: identifier, type, status and where the message is."""
    settings = get_alerting_settings()
    return {
        "identifier": row.identifier,
        "sender": row.sender,
        "sent": row.sent.isoformat(),
        "msg_type": row.msg_type,
        "status": row.status,
        "url": settings.cap_url(row.sender, row.identifier),
    }
