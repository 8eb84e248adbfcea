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

from tocsin.accounts.access import Capability
from tocsin.alerting.severity import Level
from tocsin.web.api.common import MAX_ID, ApiInput
from tocsin.web.deps import ApiScope, Db
from tocsin.web.shared.queue import (
    BULK_MAX,
    BulkAcknowledgeOut,
    acknowledge_many,
    queue_of,
)

router = APIRouter(tags=["alerts"])

#: The orders of :data:`tocsin.alerting.queries.QUEUE_ORDERS`.
QueueOrder = Literal["level", "age", "escalation"]


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
