"""JSON API: the caller's duty queue and acknowledging several of its alerts at once.

The queue holds the active alerts of the jurisdictions the caller's roles are granted on,
and those an escalation step notified there or notified the caller's e-mail address as a
duty contact (:func:`tocsin.alerting.queries.queue`). Acknowledging several alerts checks
the caller's ``respond`` right on every one first (404 or 403 for the whole request, as
for one alert), then acknowledges each in a transaction of its own, audited as a single
acknowledgement is; alerts acknowledged, resolved or cancelled meanwhile (elsewhere) are
reported with their current status, not refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.accounts.queries import email_of
from tocsin.alerting import lifecycle, queries
from tocsin.alerting.severity import Level
from tocsin.errors import ConflictError
from tocsin.web.api.common import MAX_ID, ApiInput
from tocsin.web.deps import ApiScope, Db, writer
from tocsin.web.shared.alerts import alert_in_scope

router = APIRouter(tags=["alerts"])

#: The orders of :data:`tocsin.alerting.queries.QUEUE_ORDERS`.
QueueOrder = Literal["level", "age", "escalation"]

#: Most alerts one request acknowledges.
BULK_MAX = 200


class NotifiedOut(BaseModel):
    contact: str | None = Field(description="the duty contact's name; null once removed")
    jurisdiction: str
    step: int | None = Field(description="the escalation step (0: the first)")
    at: dt.datetime


class QueueItemOut(BaseModel):
    id: int
    level: int
    level_name: str
    status: str
    headline: str
    jurisdiction: str
    indicator: str | None
    opened_at: dt.datetime
    escalation_step: int = Field(description="escalation steps run so far")
    next_escalation_at: dt.datetime | None = Field(
        description="when the next step falls due (null: none; acknowledged or exhausted)"
    )
    escalation_exhausted_at: dt.datetime | None
    may_acknowledge: bool = Field(description="open, and the caller may respond to it")
    notified: list[NotifiedOut]


class BulkAcknowledgeIn(ApiInput):
    alerts: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        min_length=1, max_length=BULK_MAX, description="ids of the alerts to acknowledge"
    )
    comment: str = Field(default="", max_length=4000)


class Unchanged(BaseModel):
    id: int
    status: str = Field(description="its status now (changed meanwhile, elsewhere)")


class BulkAcknowledgeOut(BaseModel):
    acknowledged: list[int]
    unchanged: list[Unchanged]


def queue_of(
    db: Session, scope: Scope, *, order: str = "level", search: str | None = None
) -> list[queries.QueueEntry]:
    """The caller's duty queue (see :func:`tocsin.alerting.queries.queue`)."""
    return queries.queue(
        db,
        mine={jurisdiction for _, jurisdiction in scope.principal.grants},
        readable=scope.ids(Capability.READ),
        email=email_of(db, scope.principal.user_id),
        order=order,
        search=search,
    )


def acknowledge_many(
    request: Request, db: Session, scope: Scope, alert_ids: list[int], comment: str
) -> BulkAcknowledgeOut:
    """Acknowledge ``alert_ids`` as the caller: every one checked first, then each in its
    own transaction; those changed meanwhile are reported in ``unchanged``."""
    wanted = list(dict.fromkeys(alert_ids))
    for alert_id in wanted:
        alert_in_scope(db, scope, alert_id, Capability.RESPOND)
    done, unchanged = [], []
    for alert_id in wanted:
        try:
            with writer(request) as wdb:
                lifecycle.acknowledge(
                    wdb, alert_id, by=scope.principal.actor, comment=comment,
                    now=dt.datetime.now(dt.UTC),
                )  # fmt: skip
            done.append(alert_id)
        except ConflictError:
            db.rollback()  # read the status as it is now
            status = alert_in_scope(db, scope, alert_id, Capability.READ).status
            unchanged.append(Unchanged(id=alert_id, status=status))
    return BulkAcknowledgeOut(acknowledged=done, unchanged=unchanged)


@router.get("/queue", response_model=list[QueueItemOut], summary="My duty queue")
def get_queue(
    scope: ApiScope,
    db: Db,
    order: Annotated[
        QueueOrder, Query(description="most serious, oldest, or next to escalate first")
    ] = "level",
    q: Annotated[
        str | None,
        Query(max_length=200, description="part of a jurisdiction's or indicator's name"),
    ] = None,
) -> list[QueueItemOut]:
    respond = scope.ids(Capability.RESPOND)
    return [
        QueueItemOut(
            id=e.id,
            level=e.level,
            level_name=Level(e.level).roman,
            status=e.status,
            headline=e.headline,
            jurisdiction=e.jurisdiction,
            indicator=e.indicator,
            opened_at=e.opened_at,
            escalation_step=e.escalation_step,
            next_escalation_at=e.next_escalation_at,
            escalation_exhausted_at=e.escalation_exhausted_at,
            may_acknowledge=e.status == "open" and e.jurisdiction_id in respond,
            notified=[
                NotifiedOut(contact=n.name, jurisdiction=n.jurisdiction, step=n.step, at=n.at)
                for n in e.notified
            ],
        )
        for e in queue_of(db, scope, order=order, search=q)
    ]


@router.post(
    "/queue/acknowledge",
    response_model=BulkAcknowledgeOut,
    summary="Acknowledge several alerts",
)
def acknowledge_alerts(
    body: BulkAcknowledgeIn, request: Request, scope: ApiScope, db: Db
) -> BulkAcknowledgeOut:
    return acknowledge_many(request, db, scope, body.alerts, body.comment)
