"""The caller's duty queue and acknowledging several of its alerts at once, as the JSON
API (``/api/v1/queue``) and the page (``/queue``) do: the queue holds the active alerts of
the jurisdictions the caller's roles are granted on, and those an escalation step notified
there or notified the caller's e-mail address as a duty contact
(:func:`tocsin.alerting.queries.queue`). Acknowledging several alerts checks the caller's
``respond`` right on every one first, then acknowledges each in a transaction of its own;
alerts changed meanwhile (elsewhere) are reported with their current status."""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.accounts.queries import email_of
from tocsin.alerting import lifecycle, queries
from tocsin.errors import ConflictError
from tocsin.web.deps import writer
from tocsin.web.shared.alerts import alert_in_scope

#: Most alerts one request acknowledges.
BULK_MAX = 200


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
