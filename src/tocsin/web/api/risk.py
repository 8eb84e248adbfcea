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
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.errors import NotFoundError
from tocsin.monitoring import jurisdictions
from tocsin.response.models import Incident
from tocsin.risk import assessments, indexes, matrix, queries, register
from tocsin.risk.composite import DIMENSIONS
from tocsin.risk.matrix import LEVELS
from tocsin.risk.models import RISK_DOMAINS, Assessment
from tocsin.risk.schemas import AgreementIn, ContributionIn, RiskFields
from tocsin.web.api.common import (
    ApiInput,
    ItemId,
    in_scope,
    jurisdiction_by_code,
    readable_subtree,
)
from tocsin.web.deps import ApiScope, Db, writer

router = APIRouter(tags=["risks"])

Scale = Annotated[int | None, Query(ge=1, le=5)]


class ActionOut(BaseModel):
    action: str
    owner: str
    due: dt.date
    status: str
    overdue: bool


class RiskOut(BaseModel):
    code: str
    jurisdiction: str
    domain: str = Field(description=" | ".join(RISK_DOMAINS))
    hazard: str
    title: str
    title_zh: str
    description: str
    location: str
    owner_body: str | None
    likelihood: int
    impact: int
    level: str = Field(description=" | ".join(LEVELS) + " (WHO 2012 risk matrix)")
    review_date: dt.date
    review_overdue: bool
    indicators: list[str]
    plans: list[str]
    actions: list[ActionOut]
    updated_at: dt.datetime
    updated_by: str


class CellOut(BaseModel):
    likelihood: int
    impact: int
    level: str
    count: int


class HeatMapOut(BaseModel):
    jurisdiction: str | None
    total: int
    rows: list[list[CellOut]] = Field(description="likelihood 5 (top) to 1; impact 1 to 5")


class AssessmentSummaryOut(BaseModel):
    id: int
    status: str
    question: str
    opened_at: dt.datetime
    opened_by: str
    likelihood: int | None
    impact: int | None
    level: str | None


class RiskDetailOut(RiskOut):
    assessments: list[AssessmentSummaryOut]


class ContributionOut(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    body: str
    body_jurisdiction: str
    likelihood: int
    impact: int
    level: str
    confidence: str
    reasoning: str
    current: bool = Field(description="false once the same body said something later")


class AssessmentOut(AssessmentSummaryOut):
    subject: str = Field(description="risk | incident")
    risk: str | None
    incident: int | None
    jurisdiction: str
    confidence: str | None
    rationale: str
    agreed_at: dt.datetime | None
    agreed_by: str | None
    contributions: list[ContributionOut]


class QuestionIn(ApiInput):
    question: str = Field(min_length=1, max_length=4000, description="what is assessed")


class FigureOut(BaseModel):
    indicator: str
    value: float
    period: str
    series: int
    score: float


class IndexRowOut(BaseModel):
    jurisdiction: str
    risk: float | None = Field(description="0..10; null when a dimension has no figure")
    hazard_exposure: float | None
    vulnerability: float | None
    lack_of_coping_capacity: float | None
    figures: dict[str, list[FigureOut]]


class IndexModelOut(BaseModel):
    code: str
    title: str
    title_zh: str
    dimensions: dict[str, list[dict[str, Any]]]


def risk_out(row: queries.RiskRow, today: dt.date) -> RiskOut:
    risk = row.risk
    return RiskOut(
        code=risk.code,
        jurisdiction=row.jurisdiction,
        domain=risk.domain,
        hazard=risk.hazard,
        title=risk.title,
        title_zh=risk.title_zh,
        description=risk.description,
        location=risk.location,
        owner_body=row.owner_body,
        likelihood=risk.likelihood,
        impact=risk.impact,
        level=row.level,
        review_date=risk.review_date,
        review_overdue=row.review_overdue,
        indicators=risk.indicators,
        plans=risk.plans,
        actions=[
            ActionOut(
                **a,
                overdue=a["status"] != "done" and dt.date.fromisoformat(a["due"]) < today,
            )
            for a in risk.actions
        ],
        updated_at=risk.updated_at,
        updated_by=risk.updated_by,
    )


def risk_row(db: Session, scope: Scope, code: str, capability: Capability) -> queries.RiskRow:
    """The risk ``code`` if the caller holds ``capability`` on its jurisdiction."""
    risk = register.get(db, code)
    scope.require(capability, risk.jurisdiction_id, f"risk {code}")
    found = queries.risks(db, frozenset({risk.jurisdiction_id}), today=_today(), code=code)
    return found[0]


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _summary(found: Assessment) -> dict[str, Any]:
    return {
        "id": found.id,
        "status": found.status,
        "question": found.question,
        "opened_at": found.opened_at,
        "opened_by": found.opened_by,
        "likelihood": found.likelihood,
        "impact": found.impact,
        "level": (
            matrix.level(found.likelihood, found.impact)
            if found.likelihood and found.impact
            else None
        ),
    }


def assessment_in_scope(
    db: Session, scope: Scope, assessment_id: int, capability: Capability
) -> Assessment:
    what = f"joint assessment {assessment_id}"
    return in_scope(db, scope, Assessment, assessment_id, capability, what)


def assessment_detail(db: Session, scope: Scope, assessment_id: int) -> AssessmentOut:
    found = assessment_in_scope(db, scope, assessment_id, Capability.READ)
    subject = queries.subject(db, found)
    return AssessmentOut(
        **_summary(found),
        subject=subject.kind,
        risk=subject.key if subject.kind == "risk" else None,
        incident=int(subject.key) if subject.kind == "incident" else None,
        jurisdiction=subject.jurisdiction,
        confidence=found.confidence,
        rationale=found.rationale,
        agreed_at=found.agreed_at,
        agreed_by=found.agreed_by,
        contributions=[
            ContributionOut.model_validate(c, from_attributes=True)
            for c in assessments.contributions(db, found.id)
        ],
    )


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
    today = _today()
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
        **risk_out(row, _today()).model_dump(),
        assessments=[AssessmentSummaryOut(**_summary(a)) for a in found],
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
    return risk_out(risk_row(db, scope, code, Capability.READ), _today())


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


def contribute_as(
    request: Request, scope: Scope, assessment_id: int, given: ContributionIn
) -> None:
    """Record a body's view, if the caller may respond there (and speaks for the body)."""
    with writer(request) as wdb:
        found = assessment_in_scope(wdb, scope, assessment_id, Capability.RESPOND)
        assessments.contribute(
            wdb,
            assessment_id,
            given,
            user_id=scope.principal.user_id,
            speaks_for_any=scope.allows(Capability.ADMINISTER, found.jurisdiction_id),
            actor=scope.principal.actor,
            now=dt.datetime.now(dt.UTC),
        )


def agree_as(request: Request, scope: Scope, assessment_id: int, given: AgreementIn) -> None:
    with writer(request) as wdb:
        assessment_in_scope(wdb, scope, assessment_id, Capability.RESPOND)
        assessments.agree(
            wdb, assessment_id, given, actor=scope.principal.actor, now=dt.datetime.now(dt.UTC)
        )


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


def index_rows(
    db: Session, scope: Scope, model: str, jurisdiction: str | None
) -> list[IndexRowOut]:
    found = indexes.get(db, model)
    within = readable_subtree(db, scope, jurisdiction)
    places = {p.id: p.code for p in jurisdictions.get_all(db) if p.id in within}
    return [
        IndexRowOut(
            jurisdiction=places[r.jurisdiction_id],
            risk=r.risk,
            **r.dimensions,
            figures={
                d: [
                    FigureOut(
                        indicator=f.indicator,
                        value=f.value,
                        period=f.period,
                        series=f.series_id,
                        score=f.score,
                    )
                    for f in figures
                ]
                for d, figures in r.figures.items()
            },
        )
        for r in indexes.compute(db, found, within)
    ]


# -- preparedness scorecards


class RecordOut(BaseModel):
    label: str
    href: str


class FigureCardOut(BaseModel):
    measure: str = Field(description="plans | ack_median | ack_p90 | reports | reserves | duty")
    value: float | None
    unit: str
    target: float
    direction: str = Field(description="at_least | at_most")
    colour: str = Field(description="green | amber | red | grey (no data)")
    detail: str
    records: list[RecordOut] = Field(description="the records the figure comes from")


class ScorecardOut(BaseModel):
    jurisdiction: str
    start: dt.datetime
    end: dt.datetime
    figures: list[FigureCardOut]


class RankOut(BaseModel):
    rank: int
    jurisdiction: str
    green: int
    amber: int
    red: int
    grey: int
    colours: dict[str, str]


class QuarterOut(ScorecardOut):
    quarter: str = Field(description="e.g. 2026-Q4; start and end: its part of the window")


class ScorecardsOut(BaseModel):
    scorecard: ScorecardOut
    siblings: list[RankOut] = Field(description="the jurisdiction and its siblings, best first")
    trend: list[QuarterOut] = Field(
        default_factory=list,
        description="each figure per quarter of the window, oldest first; plans, reserves "
        "and duty (a state, not kept over time) only in the current quarter",
    )


Days = Annotated[int, Query(ge=1, le=730, description="the window, in days before now")]


def scorecards_of(db: Session, scope: Scope, jurisdiction: str, days: int) -> ScorecardsOut:
    from tocsin.risk import scorecards

    where = jurisdiction_by_code(db, jurisdiction, scope.ids(Capability.READ))
    now = dt.datetime.now(dt.UTC)
    cards = scorecards.siblings(db, where, scope.ids(Capability.READ), now=now, days=days)
    mine = next(c for c in cards if c.jurisdiction == where.code)
    return ScorecardsOut(
        scorecard=ScorecardOut.model_validate(mine, from_attributes=True),
        siblings=[
            RankOut(
                rank=number,
                jurisdiction=card.jurisdiction,
                **{colour: card.count(colour) for colour in ("green", "amber", "red", "grey")},
                colours={f.measure: f.colour for f in card.figures},
            )
            for number, card in enumerate(cards, 1)
        ],
        trend=[
            QuarterOut.model_validate(
                {
                    **ScorecardOut.model_validate(q.scorecard, from_attributes=True).model_dump(),
                    "quarter": q.label,
                }
            )
            for q in scorecards.trend(db, where, now=now, days=days)
        ],
    )


@router.get(
    "/scorecards/{jurisdiction}",
    response_model=ScorecardsOut,
    summary="Preparedness scorecard of a jurisdiction, its siblings ranked",
)
def get_scorecard(jurisdiction: str, scope: ApiScope, db: Db, days: Days = 90) -> ScorecardsOut:
    return scorecards_of(db, scope, jurisdiction, days)
