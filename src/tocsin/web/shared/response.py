"""Incidents as the JSON API and the pages show them, and the caller's actions on one."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.response import incidents, views
from tocsin.response.models import Incident
from tocsin.web.deps import writer
from tocsin.web.shared.common import in_scope

Roman = Literal["I", "II", "III", "IV"]


class IncidentSummaryOut(BaseModel):
    id: int
    title: str
    hazard: str
    jurisdiction: str
    level: Roman | None
    colour: str | None
    status: str
    exercise: bool
    opened_at: str
    opened_by: str
    updated_at: str
    closed_at: str | None


class TaskOut(BaseModel):
    id: int
    title: str
    body: str
    plan_level: Roman | None = Field(description="the checklist it comes from; null: by hand")
    assignee_body: str | None
    assignee_user_id: int | None
    due_at: str | None
    status: str
    reason: str
    done_at: str | None


class EventOut(BaseModel):
    at: str
    actor: str
    kind: str
    text: str
    data: dict[str, Any] | None


class IncidentOut(IncidentSummaryOut):
    description: str
    occurred_at: str | None
    first_figures: str
    lead_body: str | None
    commander: str | None
    plan: dict[str, Any] | None
    alerts: list[dict[str, Any]]
    tasks: list[TaskOut]
    timeline: list[EventOut]
    review: dict[str, Any] | None


def incident_in_scope(
    db: Session, scope: Scope, incident_id: int, capability: Capability
) -> Incident:
    """The incident if the caller holds ``capability`` on its jurisdiction (404 outside
    the read scope, 403 when readable but not allowed)."""
    return in_scope(db, scope, Incident, incident_id, capability, f"incident {incident_id}")


def incident_detail(db: Session, scope: Scope, incident_id: int) -> IncidentOut:
    incident_in_scope(db, scope, incident_id, Capability.READ)
    return IncidentOut(**views.incident_view(incidents.detail(db, incident_id)))


def act(
    request: Request, scope: Scope, incident_id: int, action: Any, *args: Any, **kwargs: Any
) -> None:
    """Run a service ``action`` on an incident the caller may respond to."""
    with writer(request) as wdb:
        incident_in_scope(wdb, scope, incident_id, Capability.RESPOND)
        action(
            wdb, incident_id, *args, by=scope.principal.actor, now=dt.datetime.now(dt.UTC), **kwargs
        )
