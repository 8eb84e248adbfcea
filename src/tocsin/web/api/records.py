"""JSON API: the notification outbox and the history of detection runs (the records the
pages ``/notifications`` and ``/runs`` show).

- Notifications go to the duty contacts of a jurisdiction, which administrators manage:
  a caller sees those of the jurisdictions they administer (``jurisdiction``: that
  subtree; outside the read scope 404, readable but not administered 403).
- Detection runs cover every series: open to those who configure detection somewhere
  (analysts, administrators). The texts of a run's failures name series, so they are
  given only to those who configure the whole territory; the others get their number.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from tocsin.accounts.access import Capability
from tocsin.alerting import queries as alert_queries
from tocsin.alerting.models import CHANNELS, NOTIFICATION_STATUSES
from tocsin.monitoring import queries as monitoring_queries
from tocsin.web.api.common import (
    MAX_ID,
    Page,
    PageParams,
    jurisdiction_by_code,
    page_params,
)
from tocsin.web.deps import ApiScope, Db
from tocsin.web.shared.records import administered, require_configurer

router = APIRouter(tags=["records"])


class OutboxOut(BaseModel):
    id: int
    alert_id: int
    jurisdiction: str | None
    channel: str
    target: str
    reason: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    sent_at: dt.datetime | None
    last_error: str | None
    created_at: dt.datetime


class RunOut(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    duration_seconds: float | None
    detectors: int
    series: int
    signals: int
    alarms: int
    failure_count: int
    failures: list[str] | None


def _one_of(values: tuple[str, ...]) -> str:
    return "^(" + "|".join(values) + ")$"


@router.get("/notifications", response_model=Page[OutboxOut], summary="The notification outbox")
def list_notifications(
    scope: ApiScope,
    db: Db,
    params: Annotated[PageParams, Depends(page_params)],
    status: Annotated[str | None, Query(pattern=_one_of(NOTIFICATION_STATUSES))] = None,
    channel: Annotated[str | None, Query(pattern=_one_of(CHANNELS))] = None,
    jurisdiction: Annotated[str | None, Query(description="this subtree")] = None,
    alert: Annotated[int | None, Query(ge=1, le=MAX_ID, description="of this alert")] = None,
) -> Page[OutboxOut]:
    """Notifications to the contacts of the jurisdictions the caller administers, newest
    first."""
    if jurisdiction:
        place = jurisdiction_by_code(db, jurisdiction, scope.ids(Capability.READ))
        scope.require(Capability.ADMINISTER, place.id, f"jurisdiction {jurisdiction}")
        ids = frozenset(scope.tree.subtree(place.id) & scope.ids(Capability.ADMINISTER))
    else:
        ids = administered(scope)
    rows, total = alert_queries.outbox(
        db,
        ids,
        status=status,
        channel=channel,
        alert_id=alert,
        offset=params.offset,
        limit=params.limit,
    )
    codes = monitoring_queries.jurisdiction_names(db, {n.jurisdiction_id for n in rows}, ids)
    return Page(
        items=[
            OutboxOut(
                **{k: getattr(n, k) for k in OutboxOut.model_fields if k != "jurisdiction"},
                jurisdiction=codes.get(n.jurisdiction_id or 0, (None,))[0],
            )
            for n in rows
        ],
        total=total,
        **params.model_dump(),
    )


@router.get("/detection-runs", response_model=Page[RunOut], summary="Detection runs")
def list_detection_runs(
    scope: ApiScope, db: Db, params: Annotated[PageParams, Depends(page_params)]
) -> Page[RunOut]:
    """Detection runs, newest first, with their failures (texts for those who configure
    the whole territory, ``null`` for the others)."""
    whole = require_configurer(scope)
    rows, total = monitoring_queries.detection_runs(db, offset=params.offset, limit=params.limit)
    return Page(
        items=[
            RunOut(
                id=r.id,
                at=r.at,
                actor=r.actor,
                duration_seconds=r.duration_seconds,
                detectors=r.detectors,
                series=r.series,
                signals=r.signals,
                alarms=r.alarms,
                failure_count=len(r.failures),
                failures=r.failures if whole else None,
            )
            for r in rows
        ],
        total=total,
        **params.model_dump(),
    )
