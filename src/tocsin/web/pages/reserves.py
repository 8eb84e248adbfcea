"""Page: reserves of a jurisdiction's subtree -- stock and coverage per item (share of
the minimum, days of consumption, next expiry) and stock per depot (docs/reserves.md).
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.accounts.access import Capability
from tocsin.reserves import ledger, minimums
from tocsin.web.deps import Db, PageScope
from tocsin.web.pages.situation import area_ids, children_of, focus_of
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
    return render(
        request,
        "reserves.html",
        {"focus": focus, "coverage": coverage, "stock": stock, "places": places},
    )
