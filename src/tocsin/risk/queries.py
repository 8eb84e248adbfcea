"""What the pages and the API read of the risk domain; every function takes the
jurisdiction ids the caller may read (``within``)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin.monitoring.models import Jurisdiction
from tocsin.response.models import Incident, ResponseBody
from tocsin.risk import matrix
from tocsin.risk.models import Assessment, Drill, Risk
from tocsin.risk.register import open_actions_overdue


@dataclass(frozen=True)
class RiskRow:
    """A risk with what a list shows of it."""

    risk: Risk
    jurisdiction: str
    jurisdiction_name: str
    jurisdiction_name_zh: str | None
    owner_body: str | None
    owner_name: str | None
    owner_name_zh: str | None
    level: str
    review_overdue: bool
    actions_overdue: int


def risks(
    session: Session,
    within: frozenset[int],
    *,
    today: dt.date,
    domain: str | None = None,
    likelihood: int | None = None,
    impact: int | None = None,
    level: str | None = None,
    overdue: bool = False,
    code: str | None = None,
) -> list[RiskRow]:
    """The risks of ``within``, most serious first (level, then likelihood x impact)."""
    query = (
        select(Risk, Jurisdiction, ResponseBody)
        .join(Jurisdiction, Jurisdiction.id == Risk.jurisdiction_id)
        .outerjoin(ResponseBody, ResponseBody.id == Risk.owner_body_id)
        .where(Risk.jurisdiction_id.in_(sorted(within)))
    )
    if domain:
        query = query.where(Risk.domain == domain)
    if likelihood:
        query = query.where(Risk.likelihood == likelihood)
    if impact:
        query = query.where(Risk.impact == impact)
    if code:
        query = query.where(Risk.code == code)
    rows = []
    for risk, place, owner in session.execute(query):
        found = RiskRow(
            risk=risk,
            jurisdiction=place.code,
            jurisdiction_name=place.name,
            jurisdiction_name_zh=place.name_zh,
            owner_body=owner.code if owner else None,
            owner_name=owner.name if owner else None,
            owner_name_zh=owner.name_zh if owner else None,
            level=matrix.level(risk.likelihood, risk.impact),
            review_overdue=risk.review_date < today,
            actions_overdue=open_actions_overdue(risk.actions, today),
        )
        if level and found.level != level:
            continue
        if overdue and not (found.review_overdue or found.actions_overdue):
            continue
        rows.append(found)
    rows.sort(
        key=lambda r: (
            -matrix.rank(r.level),
            -r.risk.likelihood * r.risk.impact,
            r.jurisdiction,
            r.risk.code,
        )
    )
    return rows


@dataclass(frozen=True)
class Cell:
    """One cell of the heat map."""

    likelihood: int
    impact: int
    level: str
    count: int


def heat_map(session: Session, within: frozenset[int]) -> list[list[Cell]]:
    """The 5 x 5 grid of risk counts: rows from likelihood 5 down to 1, columns impact 1..5."""
    counts = Counter(
        {
            (lk, im): n
            for lk, im, n in session.execute(
                select(Risk.likelihood, Risk.impact, func.count())
                .where(Risk.jurisdiction_id.in_(sorted(within)))
                .group_by(Risk.likelihood, Risk.impact)
            )
        }
    )
    return [
        [Cell(lk, im, matrix.level(lk, im), counts[(lk, im)]) for im in matrix.SCALE]
        for lk in reversed(matrix.SCALE)
    ]


def assessments(
    session: Session,
    within: frozenset[int],
    *,
    risk_id: int | None = None,
    incident_id: int | None = None,
) -> list[Assessment]:
    """Joint assessments of a risk or an incident (or all of ``within``), newest first."""
    query = select(Assessment).where(Assessment.jurisdiction_id.in_(sorted(within)))
    if risk_id is not None:
        query = query.where(Assessment.risk_id == risk_id)
    if incident_id is not None:
        query = query.where(Assessment.incident_id == incident_id)
    return list(session.scalars(query.order_by(Assessment.id.desc())))


@dataclass(frozen=True)
class Subject:
    """What a session is about, for links and headings."""

    kind: str  # "risk" or "incident"
    key: str  # the risk's code or the incident's id
    title: str
    title_zh: str
    jurisdiction: str
    likelihood: int | None
    impact: int | None


def subject(session: Session, assessment: Assessment) -> Subject:
    place = session.get(Jurisdiction, assessment.jurisdiction_id)
    code = place.code if place else ""
    if assessment.risk_id is not None:
        risk = session.get(Risk, assessment.risk_id)
        assert risk is not None
        return Subject(
            "risk", risk.code, risk.title, risk.title_zh, code, risk.likelihood, risk.impact
        )
    incident = session.get(Incident, assessment.incident_id)
    assert incident is not None
    return Subject("incident", str(incident.id), incident.title, "", code, None, None)


def speaking_bodies(
    session: Session, jurisdiction_id: int, *, user_id: int, any_body: bool
) -> list[ResponseBody]:
    """The bodies that act for a jurisdiction (its own or the nearest ancestor's of each
    code) that the user may speak for: those they are a member of, or all of them."""
    from tocsin.response.models import ResponseBodyMember
    from tocsin.response.places import tree

    chain = tree(session).chain(jurisdiction_id)
    nearest: dict[str, tuple[int, ResponseBody]] = {}
    for body in session.scalars(
        select(ResponseBody).where(ResponseBody.jurisdiction_id.in_(chain))
    ):
        depth = chain.index(body.jurisdiction_id)
        if body.code not in nearest or depth < nearest[body.code][0]:
            nearest[body.code] = (depth, body)
    found = [body for _, body in nearest.values()]
    if not any_body:
        mine = set(
            session.scalars(
                select(ResponseBodyMember.body_id).where(ResponseBodyMember.user_id == user_id)
            )
        )
        found = [b for b in found if b.id in mine]
    return sorted(found, key=lambda b: b.code)


# -- drills


@dataclass(frozen=True)
class DrillRow:
    """A drill with its jurisdiction's code and names."""

    drill: Drill
    jurisdiction: str
    jurisdiction_name: str
    jurisdiction_name_zh: str | None


def drills(
    session: Session, within: frozenset[int], *, status: str | None = None
) -> list[DrillRow]:
    """The drills of the jurisdictions ``within``, the next or latest first."""
    query = (
        select(Drill, Jurisdiction.code, Jurisdiction.name, Jurisdiction.name_zh)
        .join(Jurisdiction, Jurisdiction.id == Drill.jurisdiction_id)
        .where(Drill.jurisdiction_id.in_(sorted(within)))
        .order_by(Drill.scheduled_at.desc(), Drill.id.desc())
    )
    if status is not None:
        query = query.where(Drill.status == status)
    return [DrillRow(*row) for row in session.execute(query)]
