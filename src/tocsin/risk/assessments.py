"""Joint risk assessment: several bodies assess one risk (or one incident) together.

A session is opened about a risk of the register or an incident. Each body taking part
records its likelihood, impact, confidence (low, moderate, high) and reasoning -- as the
WHO's rapid risk assessment asks every assessment to state its level of confidence
(WHO/HSE/GAR/ARO/2012.1). Contributions are append-only: a body that changes its view
adds a new one, and the earlier stays, with who said it and when. The session ends with
the agreed result; for a risk that result becomes the risk's likelihood and impact, for
an incident it goes on the incident's timeline. Every step is audited.

A user speaks for a body they are a member of; an administrator of the session's
jurisdiction may speak for any body taking part (the caller decides, see
``speaks_for_any``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.errors import ConflictError, NotFoundError, UserError
from tocsin.monitoring.models import Jurisdiction
from tocsin.response import bodies, timeline
from tocsin.response.models import Incident, ResponseBody, ResponseBodyMember
from tocsin.response.places import tree
from tocsin.risk import register
from tocsin.risk.matrix import level
from tocsin.risk.models import Assessment, Contribution, Risk
from tocsin.risk.schemas import AgreementIn, ContributionIn


def get(session: Session, assessment_id: int, *, for_update: bool = False) -> Assessment:
    found = session.get(Assessment, assessment_id, with_for_update=for_update)
    if found is None:
        raise NotFoundError(f"joint assessment {assessment_id} does not exist")
    return found


def _question(question: str) -> str:
    question = question.strip()
    if not question:
        raise UserError("say what the assessment is about: the question")
    return question


def _open(
    session: Session,
    subject: Risk | Incident,
    question: str,
    *,
    actor: str,
    now: dt.datetime,
) -> Assessment:
    is_risk = isinstance(subject, Risk)
    found = Assessment(
        risk_id=subject.id if is_risk else None,
        incident_id=None if is_risk else subject.id,
        jurisdiction_id=subject.jurisdiction_id,
        question=_question(question),
        status="open",
        opened_at=now,
        opened_by=actor,
    )
    session.add(found)
    session.flush()
    about = {"risk": subject.code} if isinstance(subject, Risk) else {"incident": subject.id}
    audit.record(
        session,
        action="risk_assessment.open",
        object_type="risk_assessment",
        object_id=str(found.id),
        after={**about, "question": found.question},
        actor=actor,
        at=now,
    )
    return found


def open_for_risk(
    session: Session, risk: Risk, question: str, *, actor: str, now: dt.datetime
) -> Assessment:
    """Open a session about a risk of the register."""
    return _open(session, risk, question, actor=actor, now=now)


def open_for_incident(
    session: Session, incident: Incident, question: str, *, actor: str, now: dt.datetime
) -> Assessment:
    """Open a session about an incident."""
    return _open(session, incident, question, actor=actor, now=now)


def _member(session: Session, body_id: int, user_id: int) -> bool:
    return (
        session.scalar(
            select(ResponseBodyMember.user_id).where(
                ResponseBodyMember.body_id == body_id, ResponseBodyMember.user_id == user_id
            )
        )
        is not None
    )


def body_for(session: Session, assessment: Assessment, code: str) -> ResponseBody:
    """The body ``code`` acting for the session's jurisdiction (its own or above)."""
    directory = tree(session)
    found = bodies.resolve(session, directory, assessment.jurisdiction_id, code)
    if found is None:
        place = directory.places[assessment.jurisdiction_id].code
        raise UserError(
            f"body: {code!r} is not a body of {place} or of a jurisdiction above it; "
            "load it with `tocsin bodies load`"
        )
    return found


def contribute(
    session: Session,
    assessment_id: int,
    given: ContributionIn,
    *,
    user_id: int | None,
    speaks_for_any: bool,
    actor: str,
    now: dt.datetime,
) -> Contribution:
    """Record what one body says (a new row; nothing earlier changes)."""
    assessment = get(session, assessment_id, for_update=True)
    if assessment.status != "open":
        raise ConflictError(
            f"joint assessment {assessment_id} is agreed already; open a new one to assess again"
        )
    body = body_for(session, assessment, given.body)
    if not speaks_for_any and (user_id is None or not _member(session, body.id, user_id)):
        raise UserError(
            f"body: you are not a member of {given.body}; a member of the body (or an "
            "administrator of the jurisdiction) records its view"
        )
    found = Contribution(
        assessment_id=assessment.id,
        body_id=body.id,
        at=now,
        actor=actor,
        likelihood=given.likelihood,
        impact=given.impact,
        confidence=given.confidence,
        reasoning=given.reasoning,
    )
    session.add(found)
    session.flush()
    audit.record(
        session,
        action="risk_assessment.contribute",
        object_type="risk_assessment",
        object_id=str(assessment.id),
        after={
            "contribution": found.id,
            "body": body.code,
            "likelihood": given.likelihood,
            "impact": given.impact,
            "level": level(given.likelihood, given.impact),
            "confidence": given.confidence,
            "reasoning": given.reasoning,
        },
        actor=actor,
        at=now,
    )
    return found


def agree(
    session: Session, assessment_id: int, given: AgreementIn, *, actor: str, now: dt.datetime
) -> Assessment:
    """Record the agreed result and carry it to the risk (or the incident's timeline)."""
    assessment = get(session, assessment_id, for_update=True)
    if assessment.status != "open":
        raise ConflictError(f"joint assessment {assessment_id} is agreed already")
    if not session.scalar(
        select(Contribution.id).where(Contribution.assessment_id == assessment.id).limit(1)
    ):
        raise UserError(
            f"joint assessment {assessment_id} has no contribution yet: the bodies record "
            "their views before the result is agreed"
        )
    assessment.status = "agreed"
    assessment.likelihood, assessment.impact = given.likelihood, given.impact
    assessment.confidence, assessment.rationale = given.confidence, given.rationale
    assessment.agreed_at, assessment.agreed_by = now, actor
    session.flush()
    result = {
        "likelihood": given.likelihood,
        "impact": given.impact,
        "level": level(given.likelihood, given.impact),
        "confidence": given.confidence,
        "rationale": given.rationale,
    }
    audit.record(
        session,
        action="risk_assessment.agree",
        object_type="risk_assessment",
        object_id=str(assessment.id),
        after=result,
        actor=actor,
        at=now,
    )
    if assessment.risk_id is not None:
        risk = session.get(Risk, assessment.risk_id, with_for_update=True)
        assert risk is not None
        register.assess(
            session,
            risk,
            likelihood=given.likelihood,
            impact=given.impact,
            assessment_id=assessment.id,
            actor=actor,
            now=now,
        )
    else:
        incident = session.get(Incident, assessment.incident_id)
        assert incident is not None
        text = timeline.said(
            "assessment.agreed",
            assessment=assessment.id,
            likelihood=given.likelihood,
            impact=given.impact,
            risk_level=result["level"],
            confidence=given.confidence,
            rationale=given.rationale,
        )
        timeline.log(
            session,
            incident,
            "risk_assessment",
            text,
            by=actor,
            now=now,
            data={"assessment": assessment.id},
        )
    return assessment


@dataclass(frozen=True)
class ContributionView:
    id: int
    at: dt.datetime
    actor: str
    body: str
    body_name: str
    body_name_zh: str
    body_jurisdiction: str
    likelihood: int
    impact: int
    level: str
    confidence: str
    reasoning: str
    #: False when the same body said something later.
    current: bool


def contributions(session: Session, assessment_id: int) -> list[ContributionView]:
    """Every contribution of a session, oldest first."""
    rows = session.execute(
        select(Contribution, ResponseBody, Jurisdiction.code)
        .join(ResponseBody, ResponseBody.id == Contribution.body_id)
        .join(Jurisdiction, Jurisdiction.id == ResponseBody.jurisdiction_id)
        .where(Contribution.assessment_id == assessment_id)
        .order_by(Contribution.id)
    ).all()
    last = {c.body_id: c.id for c, _, _ in rows}
    return [
        ContributionView(
            id=c.id,
            at=c.at,
            actor=c.actor,
            body=b.code,
            body_name=b.name,
            body_name_zh=b.name_zh,
            body_jurisdiction=code,
            likelihood=c.likelihood,
            impact=c.impact,
            level=level(c.likelihood, c.impact),
            confidence=c.confidence,
            reasoning=c.reasoning,
            current=last[c.body_id] == c.id,
        )
        for c, b, code in rows
    ]
