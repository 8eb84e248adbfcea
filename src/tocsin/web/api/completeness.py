"""JSON API: reporting completeness of a jurisdiction subtree (issue 14).

``GET /completeness`` summarises, for a jurisdiction (default: the caller's whole read
scope) and each of its readable children, the series-periods due in the window that
arrived on time, late, or not at all (:mod:`tocsin.monitoring.completeness`);
``GET /completeness/series`` lists them one by one. Both read only series in the
caller's read scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.monitoring import queries
from tocsin.monitoring.completeness import WINDOW_PERIODS, Summary, jurisdiction_names
from tocsin.monitoring.models import Jurisdiction
from tocsin.web.api.common import Page, PageParams, jurisdiction_by_code, page_params
from tocsin.web.deps import ApiScope, Db

router = APIRouter(tags=["monitoring"])

Periods = Annotated[
    int, Query(ge=1, le=104, description="periods due looked back on, per indicator")
]
StatusFilter = Literal["on-time", "late", "missing"]


class SummaryOut(BaseModel):
    jurisdiction: str
    name: str
    name_zh: str | None
    expected: int = Field(description="series-periods due in the window")
    on_time: int
    late: int
    missing: int
    share: float | None = Field(description="share arrived (on time or late); null: none due")


class OverdueOut(BaseModel):
    indicator: str
    period: str = Field(description="the first period no series has reported")
    deadline: dt.datetime


class CompletenessOut(BaseModel):
    jurisdiction: str | None = Field(description="null: the caller's whole read scope")
    periods: int
    total: SummaryOut | None
    places: list[SummaryOut] = Field(description="each readable child, over its subtree")
    overdue: list[OverdueOut] = Field(description="tracked indicators nobody reports any more")


class ExpectedOut(BaseModel):
    series_id: int
    indicator: str
    jurisdiction: str
    stratum: str
    period: str
    deadline: dt.datetime
    arrived_at: dt.datetime | None
    status: StatusFilter
    late_seconds: int | None = Field(
        description="how late it arrived, or (missing) how long past the deadline it is"
    )


@dataclass(frozen=True)
class Area:
    """The jurisdiction asked for (None: the read scope), the readable jurisdictions of
    its subtree, and its readable children (the tops of the read scope without one)."""

    focus: Jurisdiction | None
    ids: frozenset[int]
    children: list[int]


def area(db: Session, scope: Scope, code: str | None) -> Area:
    readable = scope.ids(Capability.READ)
    if code:
        focus = jurisdiction_by_code(db, code, readable)
        children = [c for c in scope.tree.children.get(focus.id, ()) if c in readable]
        return Area(focus, frozenset(scope.tree.subtree(focus.id) & readable), children)
    below = {c for p in readable for c in scope.tree.children.get(p, ())}
    return Area(None, readable, sorted(j for j in readable if j not in below))


def _summary_out(place: Jurisdiction, s: Summary) -> SummaryOut:
    return SummaryOut(
        jurisdiction=place.code,
        name=place.name,
        name_zh=place.name_zh,
        expected=s.expected,
        on_time=s.on_time,
        late=s.late,
        missing=s.missing,
        share=s.share,
    )


@router.get("/completeness", response_model=CompletenessOut, summary="Reporting completeness")
def get_completeness(
    scope: ApiScope,
    db: Db,
    jurisdiction: Annotated[str | None, Query(description="this subtree")] = None,
    periods: Periods = WINDOW_PERIODS,
) -> CompletenessOut:
    place = area(db, scope, jurisdiction)
    focus, children = place.focus, place.children
    groups: dict[int, Iterable[int]] = {c: scope.tree.subtree(c) for c in children}
    if focus is not None:
        groups[focus.id] = place.ids
    report = queries.completeness(
        db, place.ids, groups, now=dt.datetime.now(dt.UTC), periods=periods
    )
    names = jurisdiction_names(db, groups)
    return CompletenessOut(
        jurisdiction=focus.code if focus else None,
        periods=periods,
        total=_summary_out(focus, report.summaries[focus.id]) if focus else None,
        places=[_summary_out(names[c], report.summaries[c]) for c in children],
        overdue=[
            OverdueOut(indicator=o.indicator, period=o.label, deadline=o.deadline)
            for o in report.overdue
        ],
    )


@router.get(
    "/completeness/series",
    response_model=Page[ExpectedOut],
    summary="Series-periods due: on time, late or missing",
)
def list_expected(
    scope: ApiScope,
    db: Db,
    params: Annotated[PageParams, Depends(page_params)],
    jurisdiction: Annotated[str | None, Query(description="this subtree")] = None,
    status: Annotated[StatusFilter | None, Query(description="only this status")] = None,
    periods: Periods = WINDOW_PERIODS,
) -> Page[ExpectedOut]:
    report = queries.completeness(
        db,
        area(db, scope, jurisdiction).ids,
        {},
        now=dt.datetime.now(dt.UTC),
        periods=periods,
        status=status,
    )
    shown = report.rows[params.offset : params.offset + params.limit]
    codes = {
        j: p.code for j, p in jurisdiction_names(db, {r.jurisdiction_id for r in shown}).items()
    }
    return Page(
        items=[
            ExpectedOut(
                series_id=r.series_id,
                indicator=r.indicator,
                jurisdiction=codes[r.jurisdiction_id],
                stratum=r.stratum,
                period=r.label,
                deadline=r.deadline,
                arrived_at=r.arrived_at,
                status=r.status,
                late_seconds=int(r.lateness.total_seconds()) if r.lateness else None,
            )
            for r in shown
        ],
        total=len(report.rows),
        **params.model_dump(),
    )
