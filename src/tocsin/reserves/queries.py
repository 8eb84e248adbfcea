"""Reads of the reserves domain for the web pages and the API (docs/architecture.md):
the supply requests of an incident with their item and depot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.reserves.models import Depot, Item, SupplyRequest
from tocsin.reserves.requests import NEXT


@dataclass(frozen=True)
class RequestView:
    """A request as the pages, the API and the CLI show it."""

    id: int
    incident_id: int
    item: str
    item_name: str
    item_name_zh: str | None
    unit: str
    quantity: float
    depot: str
    depot_jurisdiction_id: int
    status: str
    purpose: str
    reason: str
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    dispatched_at: dt.datetime | None
    dispatch_operation: str | None
    received_at: dt.datetime | None
    received_into: str | None
    receipt_operation: str | None

    @property
    def next_steps(self) -> tuple[str, ...]:
        return NEXT[self.status]


def supply_requests(
    session: Session,
    incident_id: int | None = None,
    *,
    request_id: int | None = None,
    depot_jurisdictions: Collection[int] | None = None,
) -> list[RequestView]:
    """The requests of an incident, or the one ``request_id``, or those to the depots
    of ``depot_jurisdictions``, with their item and depot, oldest first."""
    rows = session.execute(
        select(SupplyRequest, Item, Depot)
        .join(Item, Item.id == SupplyRequest.item_id)
        .join(Depot, Depot.id == SupplyRequest.depot_id)
        .where(
            SupplyRequest.incident_id == incident_id
            if incident_id is not None
            else SupplyRequest.id == request_id
            if request_id is not None
            else Depot.jurisdiction_id.in_(sorted(depot_jurisdictions or ()))
        )
        .order_by(SupplyRequest.id)
    ).all()
    into = {
        d.id: d.code
        for d in session.scalars(
            select(Depot).where(
                Depot.id.in_([r.received_into_id for r, _, _ in rows if r.received_into_id])
            )
        )
    }
    return [
        RequestView(
            id=r.id,
            incident_id=r.incident_id,
            item=item.code,
            item_name=item.name,
            item_name_zh=item.name_zh,
            unit=item.unit,
            quantity=r.quantity,
            depot=depot.code,
            depot_jurisdiction_id=depot.jurisdiction_id,
            status=r.status,
            purpose=r.purpose,
            reason=r.reason,
            requested_by=r.requested_by,
            requested_at=r.requested_at,
            decided_by=r.decided_by,
            decided_at=r.decided_at,
            dispatched_at=r.dispatched_at,
            dispatch_operation=r.dispatch_operation,
            received_at=r.received_at,
            received_into=into.get(r.received_into_id) if r.received_into_id else None,
            receipt_operation=r.receipt_operation,
        )
        for r, item, depot in rows
    ]
