"""JSON API: drills -- exercises scheduled for a jurisdiction, injected by the worker at
their time, and their report measured against the plan (docs/risk.md, Drills).

Reading needs ``read`` on the drill's jurisdiction (404 outside it); scheduling,
cancelling and completing need ``respond`` there.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from tocsin.web.api.common import ItemId
from tocsin.web.deps import ApiScope, Db
from tocsin.web.shared.drills import (
    CompleteIn,
    DrillIn,
    DrillOut,
    DrillReportOut,
    cancel_as,
    complete_as,
    drill_list,
    drill_out,
    drill_report,
    schedule_as,
)

router = APIRouter(tags=["drills"])
Status = Literal["scheduled", "injected", "completed", "cancelled"]


@router.get("/drills", response_model=list[DrillOut], summary="Drills of a subtree")
def list_drills(
    scope: ApiScope,
    db: Db,
    jurisdiction: Annotated[str | None, Query(description="this subtree")] = None,
    status: Annotated[Status | None, Query(description="only drills of this status")] = None,
) -> list[DrillOut]:
    return [drill_out(r.drill, r.jurisdiction) for r in drill_list(db, scope, jurisdiction, status)]


@router.post("/drills", response_model=DrillReportOut, status_code=201, summary="Schedule a drill")
def schedule(body: DrillIn, request: Request, scope: ApiScope, db: Db) -> DrillReportOut:
    return drill_report(db, scope, schedule_as(request, scope, body))


@router.get("/drills/{drill_id}", response_model=DrillReportOut, summary="A drill and its report")
def get_drill(drill_id: ItemId, scope: ApiScope, db: Db) -> DrillReportOut:
    return drill_report(db, scope, drill_id)


@router.post(
    "/drills/{drill_id}/cancel", response_model=DrillReportOut, summary="Cancel a scheduled drill"
)
def cancel(drill_id: ItemId, request: Request, scope: ApiScope, db: Db) -> DrillReportOut:
    cancel_as(request, scope, drill_id)
    return drill_report(db, scope, drill_id)


@router.post(
    "/drills/{drill_id}/complete",
    response_model=DrillReportOut,
    summary="Complete an injected drill, with its lessons",
)
def complete(
    drill_id: ItemId, body: CompleteIn, request: Request, scope: ApiScope, db: Db
) -> DrillReportOut:
    complete_as(request, scope, drill_id, body)
    return drill_report(db, scope, drill_id)
