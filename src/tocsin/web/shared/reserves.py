"""Supply requests as the JSON API and the pages show them, and the caller's steps on one
(:mod:`tocsin.reserves.requests`).

Who may do what: a request is seen by whoever reads the incident's or the depot's
jurisdiction (404 for anyone else); the incident's side (``respond`` on the incident's
jurisdiction) requests, cancels and receives (and needs ``respond`` on the depot it
receives into); the depot's side (``respond`` on the depot's jurisdiction) approves,
refuses and dispatches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, ForbiddenError, Scope
from tocsin.errors import NotFoundError, UserError
from tocsin.reserves import depots, queries, requests
from tocsin.reserves.queries import RequestView
from tocsin.response import incidents
from tocsin.web.deps import writer
from tocsin.web.shared.response import incident_in_scope

#: The steps of a request and whose side takes them.
STEPS = {
    "approve": "depot",
    "refuse": "depot",
    "dispatch": "depot",
    "cancel": "incident",
    "receive": "incident",
}


class RequestOut(BaseModel):
    id: int
    incident: int
    item: str
    unit: str
    quantity: float
    depot: str
    status: str
    purpose: str
    reason: str
    requested_by: str
    requested_at: str
    decided_by: str | None
    decided_at: str | None
    dispatched_at: str | None
    dispatch_operation: str | None
    received_at: str | None
    received_into: str | None
    receipt_operation: str | None
    next_steps: list[str]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def request_out(view: RequestView) -> RequestOut:
    return RequestOut(
        id=view.id,
        incident=view.incident_id,
        item=view.item,
        unit=view.unit,
        quantity=view.quantity,
        depot=view.depot,
        status=view.status,
        purpose=view.purpose,
        reason=view.reason,
        requested_by=view.requested_by,
        requested_at=view.requested_at.isoformat(),
        decided_by=view.decided_by,
        decided_at=_iso(view.decided_at),
        dispatched_at=_iso(view.dispatched_at),
        dispatch_operation=view.dispatch_operation,
        received_at=_iso(view.received_at),
        received_into=view.received_into,
        receipt_operation=view.receipt_operation,
        next_steps=list(view.next_steps),
    )


def incident_requests(db: Session, scope: Scope, incident_id: int) -> list[RequestView]:
    """The requests of an incident the caller reads."""
    incident_in_scope(db, scope, incident_id, Capability.READ)
    return queries.supply_requests(db, incident_id)


def depot_requests(db: Session, scope: Scope, area: Collection[int]) -> list[RequestView]:
    """The requests to the depots of ``area`` (jurisdiction ids the caller reads)."""
    return queries.supply_requests(
        db, depot_jurisdictions=frozenset(area) & scope.ids(Capability.READ)
    )


def request_in_scope(db: Session, scope: Scope, request_id: int) -> RequestView:
    """One request, if the caller reads its incident's or its depot's jurisdiction."""
    found = queries.supply_requests(db, request_id=request_id)
    if found:
        incident = incidents.get(db, found[0].incident_id)
        readable = scope.ids(Capability.READ)
        if {incident.jurisdiction_id, found[0].depot_jurisdiction_id} & readable:
            return found[0]
    raise NotFoundError(f"request {request_id} does not exist")


def may_step(scope: Scope, view: RequestView, incident_jurisdiction: int, step: str) -> bool:
    """Whether the caller may take ``step`` on the request (for the page's buttons)."""
    side = view.depot_jurisdiction_id if STEPS[step] == "depot" else incident_jurisdiction
    return scope.allows(Capability.RESPOND, side)


def create_request(
    request: Request,
    scope: Scope,
    incident_id: int,
    *,
    item: str,
    quantity: float,
    depot: str,
    purpose: str,
) -> int:
    """Ask a depot for supplies for an incident the caller responds to; the new id."""
    with writer(request) as db:
        incident_in_scope(db, scope, incident_id, Capability.RESPOND)
        row = requests.create(
            db,
            incident_id,
            item=item,
            quantity=quantity,
            depot=depot,
            purpose=purpose,
            by=scope.principal.actor,
            now=dt.datetime.now(dt.UTC),
        )
        return row.id


def take_step(
    request: Request,
    scope: Scope,
    request_id: int,
    step: str,
    *,
    reason: str = "",
    lot: str | None = None,
    into: str | None = None,
) -> int | None:
    """Take ``step`` (a :data:`STEPS` key) on a request; its incident's id if the caller
    reads it (None: the caller is on the depot's side only)."""
    if step not in STEPS:
        raise NotFoundError(f"no step {step!r}; expected one of {', '.join(STEPS)}")
    what = f"request {request_id}"
    with writer(request) as db:
        row = requests.get(db, request_id)
        incident = incidents.get(db, row.incident_id)
        depot_place = depots.get_by_id(db, row.depot_id).jurisdiction_id
        readable = scope.ids(Capability.READ)
        if incident.jurisdiction_id not in readable and depot_place not in readable:
            raise NotFoundError(f"{what} does not exist")
        side = depot_place if STEPS[step] == "depot" else incident.jurisdiction_id
        if not scope.allows(Capability.RESPOND, side):
            whose = "the depot's" if STEPS[step] == "depot" else "the incident's"
            raise ForbiddenError(
                f"your roles do not allow '{step}' on {what}: it needs 'respond' on "
                f"{whose} jurisdiction"
            )
        by, now = scope.principal.actor, dt.datetime.now(dt.UTC)
        if step != "receive" and into:
            raise UserError("only a receipt goes into a depot ('into')")
        if into:
            scope.require(Capability.RESPOND, depots.get(db, into).jurisdiction_id, f"depot {into}")
        actions: dict[str, Any] = {
            "approve": lambda: requests.decide(
                db, request_id, approve=True, reason=reason, by=by, now=now
            ),
            "refuse": lambda: requests.decide(
                db, request_id, approve=False, reason=reason, by=by, now=now
            ),
            "dispatch": lambda: requests.send(db, request_id, lot=lot or None, by=by, now=now),
            "cancel": lambda: requests.cancel(db, request_id, reason=reason, by=by, now=now),
            "receive": lambda: requests.receive(
                db, request_id, into=into or None, comment=reason, by=by, now=now
            ),
        }
        actions[step]()
        return incident.id if incident.jurisdiction_id in readable else None


def page_context(db: Session, scope: Scope, incident_id: int, jurisdiction_id: int) -> dict:
    """What the incident page shows of supplies: the requests with the steps the caller
    may take on each, and the items and depots a new request can name."""
    from tocsin.reserves import catalogue

    views = queries.supply_requests(db, incident_id)
    return {
        "supply_requests": [
            (v, [s for s in steps_of(v) if may_step(scope, v, jurisdiction_id, s)]) for v in views
        ],
        "supply_items": catalogue.get_all(db),
        "supply_depots": depots.get_all(db),
    }


def steps_of(view: RequestView) -> list[str]:
    """The steps (:data:`STEPS` keys) the request's status allows."""
    by_status = {
        "approved": "approve",
        "refused": "refuse",
        "dispatched": "dispatch",
        "cancelled": "cancel",
        "received": "receive",
    }
    return [by_status[s] for s in view.next_steps]
