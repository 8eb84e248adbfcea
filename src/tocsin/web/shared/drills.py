"""What the drills' API and pages share: the views of a drill and its report, and the
changes made with the caller's rights (docs/risk.md, Drills).

Roles on subtrees as everywhere: reading a drill needs ``read`` on its jurisdiction;
scheduling, cancelling and completing one need ``respond`` there. A drill outside the
read scope answers 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.alerting.severity import Level
from tocsin.risk import drills, queries
from tocsin.risk.models import Drill
from tocsin.web.deps import writer
from tocsin.web.shared.common import in_scope, jurisdiction_by_code, readable_subtree


class DrillIn(BaseModel):
    jurisdiction: str = Field(max_length=64, description="the jurisdiction exercised")
    hazard: str = Field(
        max_length=64, description="an indicator, an indicator domain or a kind of event"
    )
    title: str = Field(max_length=300, description="what is exercised")
    at: dt.datetime = Field(description="when the worker injects it (with a time zone)")
    mode: Literal["alert", "incident"] = Field(
        default="alert", description="inject an exercise alert or an exercise incident"
    )
    level: str = Field(default="III", max_length=8, description="the alert's level, I .. IV")
    ack_minutes: int = Field(default=30, ge=1, le=10080, description="target to acknowledge")
    declare_minutes: int = Field(
        default=60, ge=1, le=10080, description="target to declare a response level"
    )


class CompleteIn(BaseModel):
    lessons: str = Field(default="", max_length=8000, description="what the drill taught")


class DrillOut(BaseModel):
    id: int
    jurisdiction: str
    hazard: str
    title: str
    mode: str = Field(description="alert | incident")
    level: str
    status: str = Field(description="scheduled | injected | completed | cancelled")
    scheduled_at: dt.datetime
    ack_minutes: int
    declare_minutes: int
    alert_id: int | None
    incident_id: int | None
    injected_at: dt.datetime | None
    completed_at: dt.datetime | None
    lessons: str
    created_by: str


class StepOut(BaseModel):
    step: str = Field(
        description="injected | acknowledged | incident_opened | declared | task | report "
        "| completed"
    )
    label: str = Field(description="a task's title, a report's number")
    due_at: dt.datetime | None = Field(description="null: no target")
    done_at: dt.datetime | None
    due_minutes: float | None = Field(description="minutes from the injection to the due time")
    done_minutes: float | None = Field(description="minutes from the injection to the step")
    outcome: str = Field(description="on_time | late | overdue | pending | done | not_applicable")
    href: str | None


class DrillReportOut(DrillOut):
    steps: list[StepOut]
    on_time: int
    late: int
    overdue: int


def drill_out(drill: Drill, jurisdiction: str) -> DrillOut:
    return DrillOut(
        **{name: getattr(drill, name) for name in DrillOut.model_fields if hasattr(drill, name)}
        | {"jurisdiction": jurisdiction, "level": Level(drill.level).roman}
    )


def drill_list(
    db: Session, scope: Scope, jurisdiction: str | None, status: str | None = None
) -> list[queries.DrillRow]:
    return queries.drills(db, readable_subtree(db, scope, jurisdiction), status=status)


def drill_in_scope(db: Session, scope: Scope, drill_id: int, capability: Capability) -> Drill:
    return in_scope(db, scope, Drill, drill_id, capability, f"drill {drill_id}")


def drill_report(db: Session, scope: Scope, drill_id: int) -> DrillReportOut:
    drill_in_scope(db, scope, drill_id, Capability.READ)
    found = drills.report(db, drill_id, now=dt.datetime.now(dt.UTC))
    return DrillReportOut(
        **drill_out(found.drill, found.jurisdiction).model_dump()
        | {"incident_id": found.incident_id},
        steps=[StepOut.model_validate(s, from_attributes=True) for s in found.steps],
        on_time=found.count("on_time"),
        late=found.count("late"),
        overdue=found.count("overdue"),
    )


def schedule_as(request: Request, scope: Scope, given: DrillIn) -> int:
    with writer(request) as wdb:
        where = jurisdiction_by_code(wdb, given.jurisdiction, scope.ids(Capability.READ))
        scope.require(Capability.RESPOND, where.id, f"jurisdiction {where.code}")
        drill = drills.schedule(
            wdb,
            **given.model_dump(),
            by=scope.principal.actor,
            now=dt.datetime.now(dt.UTC),
        )
        return drill.id


def cancel_as(request: Request, scope: Scope, drill_id: int) -> None:
    with writer(request) as wdb:
        drill_in_scope(wdb, scope, drill_id, Capability.RESPOND)
        drills.cancel(wdb, drill_id, by=scope.principal.actor, now=dt.datetime.now(dt.UTC))


def complete_as(request: Request, scope: Scope, drill_id: int, given: CompleteIn) -> None:
    with writer(request) as wdb:
        drill_in_scope(wdb, scope, drill_id, Capability.RESPOND)
        drills.complete(
            wdb,
            drill_id,
            lessons=given.lessons,
            by=scope.principal.actor,
            now=dt.datetime.now(dt.UTC),
        )
