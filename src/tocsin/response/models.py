"""Tables of the response domain: who responds (bodies), how (contingency plans), to what
(incidents) and with which work (tasks).

``response_body``, ``response_body_member``
    a jurisdiction's departments (health, emergency management, ...) and their users.
``contingency_plan``
    one version of a jurisdiction's plan for a hazard; the newest version is in force for
    the jurisdiction and every one below it that has no plan of its own. The four
    response levels (activation, lead and participating bodies, task checklist, report
    interval) are kept as the validated document (:mod:`tocsin.response.schemas`): a
    version never changes once loaded.
``incident``, ``incident_alert``, ``incident_event``
    a hazard that needs a response, the alerts it came from, and its timeline.
``incident_task``
    one piece of work of an incident, usually from the plan's checklist of a level.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.store.base import Base, BigIntKey, JSONType, UTCDateTime, utcnow

INCIDENT_STATUSES = ("reported", "verified", "response_active", "stood_down", "closed")
TASK_STATUSES = ("open", "in_progress", "done", "not_applicable")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ResponseBody(Base):
    """A department of a jurisdiction that takes part in the response.

    ``code`` is unique within the jurisdiction (``health``, ``emergency``): a plan
    inherited from above names its bodies by code, and each jurisdiction's own body of
    that code (or the nearest ancestor's) does the work.
    """

    __tablename__ = "response_body"
    __table_args__ = (UniqueConstraint("jurisdiction_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdiction.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    name_zh: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResponseBodyMember(Base):
    """A user who works for a body."""

    __tablename__ = "response_body_member"

    body_id: Mapped[int] = mapped_column(
        ForeignKey("response_body.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ContingencyPlan(Base):
    """Version ``version`` of a jurisdiction's plan for ``hazard``."""

    __tablename__ = "contingency_plan"
    __table_args__ = (UniqueConstraint("jurisdiction_id", "hazard", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id", ondelete="CASCADE"))
    #: An indicator code, an indicator domain or a kind of event (:data:`schemas.EVENT_KINDS`).
    hazard: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    title_zh: Mapped[str] = mapped_column(String(300), default="")
    #: Code of the body that owns the plan (a body of the plan's jurisdiction).
    owner_body: Mapped[str] = mapped_column(String(64))
    review_date: Mapped[dt.date] = mapped_column(Date)
    #: Minutes from the opening of an incident to its first situation report.
    first_report_minutes: Mapped[int] = mapped_column(Integer, default=120)
    #: The four response levels, as :class:`tocsin.response.schemas.PlanLevel` dumps.
    levels: Mapped[dict[str, Any]] = mapped_column(JSONType)
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(200))


class Incident(Base):
    """A hazard that needs (or needed) a response in a jurisdiction."""

    __tablename__ = "incident"
    __table_args__ = (
        CheckConstraint(_one_of("status", INCIDENT_STATUSES), name="status"),
        CheckConstraint("level IS NULL OR level BETWEEN 1 AND 4", name="level"),
        Index("ix_incident_status_jurisdiction", "status", "jurisdiction_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    #: The title in Chinese when tocsin wrote it (an alert's headline); "" when a person
    #: typed the title, which is shown as typed.
    title_zh: Mapped[str] = mapped_column(String(500), default="", server_default="")
    description: Mapped[str] = mapped_column(Text, default="")
    hazard: Mapped[str] = mapped_column(String(64))
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id"))
    #: Response level 1 (I, most serious) .. 4 (IV); None until one is declared.
    level: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="reported")
    #: A drill: its public notices go out with CAP status ``Exercise``.
    exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    lead_body_id: Mapped[int | None] = mapped_column(
        ForeignKey("response_body.id", ondelete="SET NULL")
    )
    commander_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    #: The plan version activated last (None: no plan in force, or no level yet).
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("contingency_plan.id", ondelete="SET NULL")
    )
    #: What the reporter said first: when it happened, first figures.
    occurred_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    first_figures: Mapped[str] = mapped_column(Text, default="")
    #: The after-action review (what worked, what did not, actions with owners).
    review: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    #: Durable timer of the overdue situation report (:mod:`tocsin.response.overdue`):
    #: the deadline escalated, the next step of the policy and when it falls due.
    report_escalation_step: Mapped[int] = mapped_column(
        Integer, default=0, server_default=text("0")
    )
    report_escalation_due: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    report_escalation_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class IncidentAlert(Base):
    """An alert the incident was opened from or linked to later."""

    __tablename__ = "incident_alert"

    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True
    )
    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alert.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class IncidentEvent(Base):
    """One entry of an incident's timeline: who, when, what kind, what was said."""

    __tablename__ = "incident_event"
    __table_args__ = (Index(None, "incident_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    #: opened, status, level, plan_activated, no_plan, task, alert_linked, comment, ...
    kind: Mapped[str] = mapped_column(String(32))
    #: What was said, in English (the API's text); people's own words as they typed them.
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    #: An entry tocsin wrote: its message (:data:`tocsin.response.timeline.MESSAGES`)
    #: and parameters, rendered in the reader's language; None: show ``text``.
    message: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class IncidentTask(Base):
    """A piece of work of an incident; ``plan_level`` and ``item`` say which checklist
    entry of the plan made it (None for a task added by hand)."""

    __tablename__ = "incident_task"
    __table_args__ = (
        CheckConstraint(_one_of("status", TASK_STATUSES), name="status"),
        Index(None, "incident_id", "id"),
        # One task per checklist item (tasks added by hand have no item: NULLs differ).
        UniqueConstraint("incident_id", "plan_level", "item"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    plan_level: Mapped[int | None] = mapped_column(Integer)
    item: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    #: The title and body in Chinese, from the plan's checklist ("" when it has none).
    title_zh: Mapped[str] = mapped_column(String(500), default="", server_default="")
    body_zh: Mapped[str] = mapped_column(Text, default="", server_default="")
    assignee_body_id: Mapped[int | None] = mapped_column(
        ForeignKey("response_body.id", ondelete="SET NULL")
    )
    assignee_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")
    #: Why a task is not applicable (required then).
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Durable timer of an overdue task (:mod:`tocsin.response.overdue`): the due time
    #: escalated, the next step of the policy and when it falls due.
    escalation_step: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    escalation_due: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    escalation_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SituationReport(Base):
    """Report ``number`` of an incident, sent up from its jurisdiction: the situation,
    the actions taken, what is needed, and the figures of its linked alerts when it was
    submitted. ``due_at`` is the deadline it answered (:mod:`tocsin.response.reports`)."""

    __tablename__ = "situation_report"
    __table_args__ = (UniqueConstraint("incident_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    submitted_by: Mapped[str] = mapped_column(String(200))
    #: The response level when it was submitted.
    level: Mapped[int | None] = mapped_column(Integer)
    situation: Mapped[str] = mapped_column(Text)
    actions: Mapped[str] = mapped_column(Text, default="")
    needs: Mapped[str] = mapped_column(Text, default="")
    figures: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
