"""Risks as the JSON API and the pages show them (docs/risk.md): a risk of the register
in the caller's scope, a joint assessment with its contributions, a body's contribution
and the agreed result recorded as the caller, the composite index of a subtree and the
preparedness scorecards of a jurisdiction and its siblings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.monitoring import jurisdictions
from tocsin.risk import assessments, indexes, matrix, queries, register
from tocsin.risk.matrix import LEVELS
from tocsin.risk.models import RISK_DOMAINS, Assessment
from tocsin.risk.schemas import AgreementIn, ContributionIn
from tocsin.web.deps import writer
from tocsin.web.shared.common import in_scope, jurisdiction_by_code, readable_subtree


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


class AssessmentSummaryOut(BaseModel):
    id: int
    status: str
    question: str
    opened_at: dt.datetime
    opened_by: str
    likelihood: int | None
    impact: int | None
    level: str | None


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
    name: str = ""
    name_zh: str | None = None
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
    found = queries.risks(db, frozenset({risk.jurisdiction_id}), today=utc_today(), code=code)
    return found[0]


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def assessment_summary(found: Assessment) -> dict[str, Any]:
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
        **assessment_summary(found),
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
                name=card.name,
                name_zh=card.name_zh,
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
