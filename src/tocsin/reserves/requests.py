"""Requests of supplies from an incident: requested -> approved -> dispatched -> received.

After Sahana Eden's request module (a request of items from a site, approved, then
fulfilled by a shipment that is received): the incident's jurisdiction asks a depot for
a quantity of an item; the depot's jurisdiction approves (or refuses) and dispatches it;
the incident's jurisdiction records its arrival. The requester may cancel until it is
dispatched.

- The dispatch is a ``dispatch`` of the ledger (:func:`tocsin.reserves.dispatch.take`:
  first expiry first out, never below zero), its movements tied to the request by
  ``dispatch_operation``; a short stock refuses it and moves nothing, the request stays
  approved.
- The receipt, when the supplies go into a depot (``into``), is one ``receipt`` per lot
  dispatched, into new lots that keep the dates of the lots they came from
  (``receipt_operation``); without a depot the supplies were used on site and nothing
  enters the ledger.

Every step is an event of the incident's timeline and an entry of the audit chain
(:func:`tocsin.response.timeline.log`), with the ledger's own audit entries of the
dispatch and receipt. Roles are checked by the callers (web, CLI) as docs/reserves.md
says: ``respond`` on the incident's jurisdiction to request, cancel and receive,
``respond`` on the depot's jurisdiction to approve, refuse and dispatch.

Requests are for real incidents: an exercise would move real stock, so one is refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin import audit
from tocsin.errors import ConflictError, NotFoundError, UserError
from tocsin.reserves import catalogue, depots
from tocsin.reserves.dispatch import take
from tocsin.reserves.ledger import Entry, append, check_quantity, new_lot, new_operation
from tocsin.reserves.models import Depot, Item, Lot, Movement, SupplyRequest
from tocsin.response import incidents, timeline
from tocsin.response.models import Incident
from tocsin.response.timeline import said
from tocsin.text import check_texts

#: The step each status may move to, and the timeline event it writes.
NEXT: dict[str, tuple[str, ...]] = {
    "requested": ("approved", "refused", "cancelled"),
    "approved": ("dispatched", "refused", "cancelled"),
    "dispatched": ("received",),
    "received": (),
    "refused": (),
    "cancelled": (),
}
#: Timeline event kinds of the steps.
EVENTS = {
    "requested": "supply_requested",
    "approved": "supply_approved",
    "refused": "supply_refused",
    "cancelled": "supply_cancelled",
    "dispatched": "supply_dispatched",
    "received": "supply_received",
}


class RequestTransitionError(ConflictError):
    """A step the request's status does not allow (HTTP 409)."""


def get(session: Session, request_id: int, *, for_update: bool = False) -> SupplyRequest:
    """The request; locked for this transaction with ``for_update`` (PostgreSQL)."""
    query = select(SupplyRequest).where(SupplyRequest.id == request_id)
    if for_update:
        query = query.with_for_update()
    found = session.scalar(query)
    if found is None:
        raise NotFoundError(f"request {request_id} does not exist")
    return found


def for_incident(session: Session, incident_id: int) -> list[SupplyRequest]:
    """An incident's requests, oldest first."""
    return list(
        session.scalars(
            select(SupplyRequest)
            .where(SupplyRequest.incident_id == incident_id)
            .order_by(SupplyRequest.id)
        )
    )


def _describe(row: SupplyRequest, item: Item, depot: Depot) -> dict[str, Any]:
    """The request as its timeline entries name it (:mod:`tocsin.response.timeline`)."""
    return {
        "request": row.id,
        "quantity": row.quantity,
        "unit": item.unit,
        "item": item.name,
        "item_zh": item.name_zh or "",
        "depot": depot.code,
    }


def _data(row: SupplyRequest, item: Item, depot: Depot, **more: Any) -> dict[str, Any]:
    return {
        "request": row.id,
        "item": item.code,
        "quantity": row.quantity,
        "unit": item.unit,
        "depot": depot.code,
        **more,
    }


def _log(
    session: Session,
    incident: Incident,
    row: SupplyRequest,
    event: str,
    item: Item,
    depot: Depot,
    *,
    note: str,
    by: str,
    now: dt.datetime,
    **data: Any,
) -> None:
    """The step ``event`` of the request on its incident's timeline, with ``note``
    after its description."""
    timeline.log(
        session,
        incident,
        EVENTS[event],
        said("supply.step_note", **_describe(row, item, depot), note=note)
        if note
        else said("supply.step", **_describe(row, item, depot)),
        by=by,
        now=now,
        data=_data(row, item, depot, **data),
    )


def _check_step(row: SupplyRequest, to: str) -> None:
    if to not in NEXT[row.status]:
        allowed = ", ".join(NEXT[row.status]) or "nothing (it is finished)"
        raise RequestTransitionError(
            f"request {row.id} is {row.status}; it can be {allowed}, not {to}"
        )


def create(
    session: Session,
    incident_id: int,
    *,
    item: str,
    quantity: float,
    depot: str,
    purpose: str = "",
    by: str,
    now: dt.datetime,
) -> SupplyRequest:
    """Ask ``depot`` for ``quantity`` of ``item`` for the incident."""
    quantity = check_quantity(quantity)
    check_texts({"purpose": purpose})
    incident = incidents.get(session, incident_id, for_update=True)
    if incident.status == "closed":
        raise RequestTransitionError(f"incident {incident.id} is closed; open a new one")
    if incident.exercise:
        raise UserError(
            f"incident {incident.id} is an exercise: a request would move real stock; "
            "rehearse requests without dispatching"
        )
    thing = catalogue.get(session, item)
    source = depots.get(session, depot)
    row = SupplyRequest(
        incident_id=incident.id,
        item_id=thing.id,
        depot_id=source.id,
        quantity=quantity,
        status="requested",
        purpose=purpose,
        reason="",
        requested_by=by,
        requested_at=now,
    )
    session.add(row)
    session.flush()
    _log(session, incident, row, "requested", thing, source, note=purpose, by=by, now=now,
         purpose=purpose)  # fmt: skip
    return row


def _step(
    session: Session, request_id: int, to: str
) -> tuple[SupplyRequest, Incident, Item, Depot]:
    row = get(session, request_id, for_update=True)
    _check_step(row, to)
    incident = incidents.get(session, row.incident_id, for_update=True)
    item = session.get(Item, row.item_id)
    depot = session.get(Depot, row.depot_id)
    assert item is not None and depot is not None
    return row, incident, item, depot


def decide(
    session: Session,
    request_id: int,
    *,
    approve: bool,
    reason: str = "",
    by: str,
    now: dt.datetime,
) -> SupplyRequest:
    """Approve the request, or refuse it (a reason is required)."""
    check_texts({"reason": reason})
    to = "approved" if approve else "refused"
    if not approve and not reason.strip():
        raise UserError("say why the request is refused (reason)")
    row, incident, item, depot = _step(session, request_id, to)
    row.status, row.decided_by, row.decided_at = to, by, now
    row.reason = reason
    _log(session, incident, row, to, item, depot, note=reason, by=by, now=now, reason=reason)
    return row


def cancel(
    session: Session, request_id: int, *, reason: str = "", by: str, now: dt.datetime
) -> SupplyRequest:
    """Withdraw the request before it is dispatched."""
    check_texts({"reason": reason})
    row, incident, item, depot = _step(session, request_id, "cancelled")
    row.status, row.reason = "cancelled", reason
    _log(session, incident, row, "cancelled", item, depot, note=reason, by=by, now=now,
         reason=reason)  # fmt: skip
    return row


def send(
    session: Session, request_id: int, *, lot: str | None = None, by: str, now: dt.datetime
) -> SupplyRequest:
    """Dispatch an approved request from its depot (FEFO unless ``lot`` is named).

    A short stock raises :class:`tocsin.reserves.dispatch.InsufficientStockError` and
    moves nothing; the request stays approved.
    """
    row, incident, item, depot = _step(session, request_id, "dispatched")
    result, _plan = take(
        session,
        depot,
        item,
        row.quantity,
        kind="dispatch",
        actor=by,
        now=now,
        lot=lot,
        reference=f"request {row.id} of incident {incident.id}",
    )
    row.status, row.dispatched_by, row.dispatched_at = "dispatched", by, now
    row.dispatch_operation = result.operation
    lots = [t.model_dump(mode="json") for t in result.taken]
    timeline.log(
        session,
        incident,
        EVENTS["dispatched"],
        said(
            "supply.dispatched",
            **_describe(row, item, depot),
            lots=[f"{t['lot']}: {t['quantity']:g}" for t in lots],
        ),
        by=by,
        now=now,
        data=_data(row, item, depot, operation=result.operation, lots=lots),
    )
    return row


@dataclass(frozen=True)
class Received:
    """The request and the lots the receipt created (empty: used on site)."""

    request: SupplyRequest
    lots: list[Lot]


def receive(
    session: Session,
    request_id: int,
    *,
    into: str | None = None,
    comment: str = "",
    by: str,
    now: dt.datetime,
) -> Received:
    """Record the arrival of a dispatched request; into depot ``into`` (new lots with the
    dates of the lots dispatched, one receipt each) or used on site (``into`` None)."""
    check_texts({"comment": comment})
    row, incident, item, depot = _step(session, request_id, "received")
    created: list[Lot] = []
    operation = None
    destination = None
    if into is not None:
        destination = depots.get(session, into)
        if destination.id == depot.id:
            raise UserError(f"request {row.id} came from depot {depot.code}; receive it elsewhere")
        operation = new_operation()
        entry = Entry("receipt", operation, by, now, f"request {row.id} from {depot.code}", comment)
        sent = session.execute(
            select(Movement, Lot)
            .join(Lot, Lot.id == Movement.lot_id)
            .where(Movement.operation == row.dispatch_operation)
            .order_by(Movement.id)
        ).all()
        for movement, source_lot in sent:
            arrived = new_lot(
                session,
                destination,
                item,
                received_on=now.date(),
                expires_on=source_lot.expires_on,
                code=f"{source_lot.code[:40]}@{depot.code[:14]}:{operation[:8]}",
                source_lot_id=source_lot.id,
            )
            append(session, arrived, -movement.quantity, entry)
            created.append(arrived)
        audit.record(
            session,
            action="reserve.receive",
            object_type="reserve_depot",
            object_id=destination.code,
            after={
                "operation": operation,
                "item": item.code,
                "quantity": row.quantity,
                "request": row.id,
                "lots": [lot.code for lot in created],
            },
            actor=by,
            at=now,
        )
    row.status, row.received_by, row.received_at = "received", by, now
    row.received_into_id = destination.id if destination else None
    row.receipt_operation = operation
    where = "received_into" if destination else "received_used"
    timeline.log(
        session,
        incident,
        EVENTS["received"],
        said(
            f"supply.{where}" + ("_note" if comment else ""),
            **_describe(row, item, depot),
            **({"into": destination.code} if destination else {}),
            **({"note": comment} if comment else {}),
        ),
        by=by,
        now=now,
        data=_data(
            row,
            item,
            depot,
            into=destination.code if destination else None,
            operation=operation,
            lots=[lot.code for lot in created],
        ),
    )
    return Received(row, created)
