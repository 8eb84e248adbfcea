"""JSON API: risks -- the register and its heat map, joint assessment sessions, and
composite risk indexes (docs/risk.md).

Roles on subtrees as everywhere (:mod:`tocsin.accounts.access`): reading needs ``read``
on the risk's (or the subtree's) jurisdiction; creating or changing a risk needs
``configure`` there (on both jurisdictions when it moves); opening a joint assessment,
contributing to it and agreeing its result need ``respond`` on its jurisdiction, and a
contribution speaks for a body the caller is a member of (an administrator of the
jurisdiction may speak for any). Objects outside the read scope answer 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from tocsin.accounts.access import Capability
from tocsin.errors import NotFoundError
from tocsin.response.models import Incident
from tocsin.risk import assessments, indexes, queries, register
from tocsin.risk.composite import DIMENSIONS
from tocsin.risk.matrix import LEVELS
from tocsin.risk.models import RISK_DOMAINS
from tocsin.risk.schemas import AgreementIn, ContributionIn, RiskFields
from tocsin.web.api.common import (
    ApiInput,
    ItemId,
    in_scope,
    jurisdiction_by_code,
    readable_subtree,
)
from tocsin.web.deps import ApiScope, Db, writer
from tocsin.web.shared.risk import (
    AssessmentOut,
    AssessmentSummaryOut,
    IndexRowOut,
    RiskOut,
    ScorecardsOut,
    agree_as,
    assessment_detail,
    assessment_summary,
    contribute_as,
    index_rows,
    risk_out,
    risk_row,
    scorecards_of,
    utc_today,
)

router = APIRouter(tags=["risks"])

Scale = Annotated[int | None, Query(ge=1, le=5)]


class CellOut(BaseModel):
    likelihood: int
    impact: int
    level: str
    count: int


class HeatMapOut(BaseModel):
    jurisdiction: str | None
    total: int
    rows: list[list[CellOut]] = Field(description="likelihood 5 (top) to 1; impact 1 to 5")


class RiskDetailOut(RiskOut):
    assessments: list[AssessmentSummaryOut]


class QuestionIn(ApiInput):
    question: str = Field(min_length=1, max_length=4000, description="what is assessed")


class IndexModelOut(BaseModel):
    code: str
    title: str
    title_zh: str
    dimensions: dict[str, list[dict[str, Any]]]


# -- the register


@router.get("/risks", response_model=list[RiskOut], summary="Risks of a subtree")
def list_risks(
    scope: ApiScope,
    db: Db,
    jurisdiction: Annotated[str | None, Query(description="this subtree")] = None,
    domain: Annotated[str | None, Query(description=" | ".join(RISK_DOMAINS))] = None,
    level: Annotated[str | None, Query(description=" | ".join(LEVELS))] = None,
    likelihood: Scale = None,
    impact: Scale = None,
    overdue: Annotated[bool, Query(description="review or an open action overdue")] = False,
) -> list[RiskOut]:
    today = utc_today()
    rows = queries.risks(
        db,
        readable_subtree(db, scope, jurisdiction),
        today=today,
        domain=domain,
        level=level,
        likelihood=likelihood,
        impact=impact,
        overdue=overdue,
    )
    return [risk_out(r, today) for r in rows]


@router.get("/risk-heat-map", response_model=HeatMapOut, summary="Risk counts per matrix cell")
def heat_map(
    scope: ApiScope,
    db: Db,
    jurisdiction: Annotated[str | None, Query(description="this subtree")] = None,
) -> HeatMapOut:
    grid = queries.heat_map(db, readable_subtree(db, scope, jurisdiction))
    rows = [[CellOut.model_validate(c, from_attributes=True) for c in row] for row in grid]
    return HeatMapOut(
        jurisdiction=jurisdiction, total=sum(c.count for row in rows for c in row), rows=rows
    )


@router.get("/risks/{code}", response_model=RiskDetailOut, summary="A risk and its assessments")
def get_risk(code: str, scope: ApiScope, db: Db) -> RiskDetailOut:
    row = risk_row(db, scope, code, Capability.READ)
    found = queries.assessments(db, scope.ids(Capability.READ), risk_id=row.risk.id)
    return RiskDetailOut(
        **risk_out(row, utc_today()).model_dump(),
        assessments=[AssessmentSummaryOut(**assessment_summary(a)) for a in found],
    )


@router.put("/risks/{code}", response_model=RiskOut, summary="Create or update a risk")
def put_risk(code: str, body: RiskFields, request: Request, scope: ApiScope, db: Db) -> RiskOut:
    with writer(request) as wdb:
        where = jurisdiction_by_code(wdb, body.jurisdiction, scope.ids(Capability.READ))
        scope.require(Capability.CONFIGURE, where.id, f"jurisdiction {where.code}")
        try:
            existing = register.get(wdb, code)
        except NotFoundError:
            existing = None
        if existing is not None:
            scope.require(Capability.CONFIGURE, existing.jurisdiction_id, f"risk {code}")
        register.put(wdb, code, body, actor=scope.principal.actor, now=dt.datetime.now(dt.UTC))
    return risk_out(risk_row(db, scope, code, Capability.READ), utc_today())


# -- joint assessments


@router.post(
    "/risks/{code}/assessments",
    response_model=AssessmentOut,
    status_code=201,
    summary="Open a joint assessment of a risk",
)
def open_risk_assessment(
    code: str, body: QuestionIn, request: Request, scope: ApiScope, db: Db
) -> AssessmentOut:
    with writer(request) as wdb:
        risk = register.get(wdb, code)
        scope.require(Capability.RESPOND, risk.jurisdiction_id, f"risk {code}")
        found = assessments.open_for_risk(
            wdb, risk, body.question, actor=scope.principal.actor, now=dt.datetime.now(dt.UTC)
        )
        assessment_id = found.id
    return assessment_detail(db, scope, assessment_id)


@router.post(
    "/incidents/{incident_id}/assessments",
    response_model=AssessmentOut,
    status_code=201,
    summary="Open a joint assessment of an incident",
)
def open_incident_assessment(
    incident_id: ItemId, body: QuestionIn, request: Request, scope: ApiScope, db: Db
) -> AssessmentOut:
    with writer(request) as wdb:
        incident = in_scope(
            wdb, scope, Incident, incident_id, Capability.RESPOND, f"incident {incident_id}"
        )
        found = assessments.open_for_incident(
            wdb, incident, body.question, actor=scope.principal.actor, now=dt.datetime.now(dt.UTC)
        )
        assessment_id = found.id
    return assessment_detail(db, scope, assessment_id)


@router.get(
    "/assessments/{assessment_id}",
    response_model=AssessmentOut,
    summary="A joint assessment with every contribution",
)
def get_assessment(assessment_id: ItemId, scope: ApiScope, db: Db) -> AssessmentOut:
    return assessment_detail(db, scope, assessment_id)


@router.post(
    "/assessments/{assessment_id}/contributions",
    response_model=AssessmentOut,
    status_code=201,
    summary="Record a body's likelihood, impact, confidence and reasoning",
)
def contribute(
    assessment_id: ItemId, body: ContributionIn, request: Request, scope: ApiScope, db: Db
) -> AssessmentOut:
    contribute_as(request, scope, assessment_id, body)
    return assessment_detail(db, scope, assessment_id)


@router.post(
    "/assessments/{assessment_id}/agree",
    response_model=AssessmentOut,
    summary="Record the agreed result (it becomes the risk's likelihood and impact)",
)
def agree(
    assessment_id: ItemId, body: AgreementIn, request: Request, scope: ApiScope, db: Db
) -> AssessmentOut:
    agree_as(request, scope, assessment_id, body)
    return assessment_detail(db, scope, assessment_id)


# -- composite indexes


@router.get("/risk-index", response_model=list[IndexModelOut], summary="Composite index models")
def list_index_models(scope: ApiScope, db: Db) -> list[IndexModelOut]:
    return [
        IndexModelOut(
            code=m.code,
            title=m.title,
            title_zh=m.title_zh,
            dimensions={d: m.document[d] for d in DIMENSIONS},
        )
        for m in indexes.get_all(db)
    ]


@router.get(
    "/risk-index/{model}",
    response_model=list[IndexRowOut],
    summary="The composite risk index of each jurisdiction of a subtree",
)
def index_scores(
    model: str,
    scope: ApiScope,
    db: Db,
    jurisdiction: Annotated[str | None, Query(description="this subtree")] = None,
) -> list[IndexRowOut]:
    return index_rows(db, scope, model, jurisdiction)


# -- preparedness scorecards


Days = Annotated[int, Query(ge=1, le=730, description="the window, in days before now")]


@router.get(
    "/scorecards/{jurisdiction}",
    response_model=ScorecardsOut,
    summary="Preparedness scorecard of a jurisdiction, its siblings ranked",
)
def get_scorecard(jurisdiction: str, scope: ApiScope, db: Db, days: Days = 90) -> ScorecardsOut:
    return scorecards_of(db, scope, jurisdiction, days)
