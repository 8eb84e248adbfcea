"""Page: reserves of a jurisdiction's subtree -- stock and coverage per item (share of
the minimum, days of consumption, next expiry) and stock per depot (docs/reserves.md);
the forms of supply requests shown on an incident's page.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.accounts.access import Capability
from tocsin.reserves import ledger, minimums
from tocsin.web.deps import Db, PageScope, check_csrf
from tocsin.web.pages.situation import area_ids, children_of, focus_of
from tocsin.web.shared.common import ItemId
from tocsin.web.shared.reserves import (
    STEPS,
    create_request,
    depot_requests,
    may_step,
    steps_of,
    take_step,
)
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/reserves")
def reserves(request: Request, scope: PageScope, db: Db, j: str | None = None) -> Response:
    """Stock and coverage of ``?j=CODE`` (default: the top of the user's read scope)."""
    focus = focus_of(db, scope, j)
    tops = children_of(db, scope, None)
    if focus is None and tops:
        focus = tops[0]
    coverage = [] if focus is None else minimums.coverage(db, focus.id, now=dt.datetime.now(dt.UTC))
    stock = [] if focus is None else ledger.stock(db, jurisdiction_ids=area_ids(scope, focus))
    places = [p for p in tops if focus is None or p.id != focus.id]
    if focus is not None:
        places += [c for c in children_of(db, scope, focus) if scope.allows(Capability.READ, c.id)]
    incoming = [] if focus is None else depot_requests(db, scope, area_ids(scope, focus))
    return render(
        request,
        "reserves.html",
        {
            "focus": focus,
            "coverage": coverage,
            "stock": stock,
            "places": places,
            "incoming": [
                (r, [s for s in steps_of(r) if STEPS[s] == "depot" and may_step(scope, r, 0, s)])
                for r in incoming
            ],
        },
    )


Csrf = Annotated[str, Form()]


@router.post("/incidents/{incident_id}/requests")
def request_supplies(
    request: Request,
    incident_id: ItemId,
    scope: PageScope,
    csrf_token: Csrf = "",
    item: Annotated[str, Form(max_length=64)] = "",
    quantity: Annotated[float, Form(gt=0, lt=1e15)] = 0.0,
    depot: Annotated[str, Form(max_length=64)] = "",
    purpose: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Ask a depot for supplies (the form on the incident's page)."""
    check_csrf(request, csrf_token)
    create_request(
        request, scope, incident_id, item=item, quantity=quantity, depot=depot, purpose=purpose
    )
    return RedirectResponse(f"/incidents/{incident_id}#supplies", status_code=303)


@router.post("/requests/{request_id}/{step}")
def request_step(
    request: Request,
    request_id: ItemId,
    step: str,
    scope: PageScope,
    csrf_token: Csrf = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
    into: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Approve, refuse, dispatch, cancel or receive a request (its buttons)."""
    check_csrf(request, csrf_token)
    incident_id = take_step(request, scope, request_id, step, reason=reason, into=into or None)
    if incident_id is None:  # the depot's side: back to the requests to its depots
        return RedirectResponse("/reserves#requests", status_code=303)
    return RedirectResponse(f"/incidents/{incident_id}#supplies", status_code=303)
