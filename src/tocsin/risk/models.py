"""Tables of the risk domain.

``risk``
    one entry of the risk register: a hazard's risk for a jurisdiction in a domain (also
    operations and assets abroad), its likelihood and impact (1-5; the level comes from
    :mod:`tocsin.risk.matrix`, never stored), owner body, mitigation actions, review date,
    linked indicators and plans.
``risk_assessment``
    a joint assessment session about one risk or one incident, and its agreed result.
``risk_contribution``
    what one body said in a session (likelihood, impact, confidence, reasoning): rows are
    only ever inserted, so that every contribution stays as it was said.
``risk_index_model``
    an INFORM-style composite index: which indicators make up each dimension and how
    they are transformed (:mod:`tocsin.risk.composite`).
``drill``
    an exercise scheduled for a jurisdiction: what the worker injects at its time (an
    exercise alert or an exercise incident), the targets its report measures against,
    and what it injected (:mod:`tocsin.risk.drills`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.monitoring.schemas import Domain
from tocsin.store.base import Base, BigIntKey, JSONType, UTCDateTime, utcnow

#: Domains of a risk: those of the indicators, and the agency's operations and assets abroad.
RISK_DOMAINS = (*get_args(Domain), "operations-abroad", "assets-abroad")
CONFIDENCES = ("low", "moderate", "high")
ASSESSMENT_STATUSES = ("open", "agreed")
DRILL_STATUSES = ("scheduled", "injected", "completed", "cancelled")
#: What a drill injects: an exercise alert (acknowledged, then an incident opened from
#: it) or an exercise incident (its level to declare).
DRILL_MODES = ("alert", "incident")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _scale(column: str) -> str:
    return f"{column} BETWEEN 1 AND 5"


class Risk(Base):
    """An entry of the risk register."""

    __tablename__ = "risk"
    __table_args__ = (
        CheckConstraint(_one_of("domain", RISK_DOMAINS), name="domain"),
        CheckConstraint(_scale("likelihood"), name="likelihood"),
        CheckConstraint(_scale("impact"), name="impact"),
        Index(None, "jurisdiction_id", "likelihood", "impact"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id"))
    domain: Mapped[str] = mapped_column(String(32))
    #: An indicator code, an indicator domain or a kind of event (as a plan's hazard).
    hazard: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    title_zh: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    #: Where, for operations and assets abroad (a country, a site); else empty.
    location: Mapped[str] = mapped_column(String(300), default="")
    owner_body_id: Mapped[int | None] = mapped_column(
        ForeignKey("response_body.id", ondelete="SET NULL")
    )
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    review_date: Mapped[dt.date] = mapped_column(Date)
    #: Indicator codes whose series bear on the risk.
    indicators: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: Hazards of the plans in force for the risk's jurisdiction that answer it.
    plans: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: Mitigation actions: ``{"action", "owner" (a body code), "due" (ISO date), "status"}``.
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200))


class Assessment(Base):
    """A joint assessment session about a risk or an incident."""

    __tablename__ = "risk_assessment"
    __table_args__ = (
        CheckConstraint("(risk_id IS NULL) <> (incident_id IS NULL)", name="one_subject"),
        CheckConstraint(_one_of("status", ASSESSMENT_STATUSES), name="status"),
        CheckConstraint("likelihood IS NULL OR likelihood BETWEEN 1 AND 5", name="likelihood"),
        CheckConstraint("impact IS NULL OR impact BETWEEN 1 AND 5", name="impact"),
        CheckConstraint(
            f"confidence IS NULL OR {_one_of('confidence', CONFIDENCES)}", name="confidence"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_id: Mapped[int | None] = mapped_column(
        ForeignKey("risk.id", ondelete="CASCADE"), index=True
    )
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    #: The subject's jurisdiction: who may read and take part.
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id"))
    question: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_by: Mapped[str] = mapped_column(String(200))
    #: The agreed result (None while open).
    likelihood: Mapped[int | None] = mapped_column(Integer)
    impact: Mapped[int | None] = mapped_column(Integer)
    confidence: Mapped[str | None] = mapped_column(String(16))
    rationale: Mapped[str] = mapped_column(Text, default="")
    agreed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    agreed_by: Mapped[str | None] = mapped_column(String(200))


class Contribution(Base):
    """What one body said in a session, when and through whom: never changed."""

    __tablename__ = "risk_contribution"
    __table_args__ = (
        CheckConstraint(_scale("likelihood"), name="likelihood"),
        CheckConstraint(_scale("impact"), name="impact"),
        CheckConstraint(_one_of("confidence", CONFIDENCES), name="confidence"),
        Index(None, "assessment_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("risk_assessment.id", ondelete="CASCADE"))
    body_id: Mapped[int] = mapped_column(ForeignKey("response_body.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[str] = mapped_column(String(16))
    reasoning: Mapped[str] = mapped_column(Text)


class IndexModel(Base):
    """An INFORM-style composite index: the validated mapping of indicators to the three
    dimensions (:class:`tocsin.risk.schemas.IndexModelIn` dumped)."""

    __tablename__ = "risk_index_model"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    title_zh: Mapped[str] = mapped_column(String(300), default="")
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(200))


class Drill(Base):
    """An exercise for a jurisdiction: scheduled, injected by the worker at its time,
    completed (or cancelled before it was injected)."""

    __tablename__ = "drill"
    __table_args__ = (
        CheckConstraint(_one_of("status", DRILL_STATUSES), name="status"),
        CheckConstraint(_one_of("mode", DRILL_MODES), name="mode"),
        CheckConstraint("level BETWEEN 1 AND 4", name="level"),
        CheckConstraint("ack_minutes > 0 AND declare_minutes > 0", name="targets"),
        Index(None, "status", "scheduled_at"),
        Index(None, "jurisdiction_id", "injected_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id"))
    #: An indicator code, an indicator domain or a kind of event (as a plan's hazard).
    hazard: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    mode: Mapped[str] = mapped_column(String(16), default="alert")
    #: The level of the injected alert (1, I, most serious .. 4, IV).
    level: Mapped[int] = mapped_column(Integer, default=3)
    scheduled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    #: Targets of the report: minutes from injection to acknowledgement, to a level declared.
    ack_minutes: Mapped[int] = mapped_column(Integer, default=30)
    declare_minutes: Mapped[int] = mapped_column(Integer, default=60)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id", ondelete="SET NULL"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="SET NULL"))
    injected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: What the exercise taught (written when it is completed).
    lessons: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
