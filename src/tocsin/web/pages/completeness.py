"""Page: reporting completeness of a jurisdiction's subtree -- per child the share of
expected series-periods that arrived, how many late and how many missing, and the
series-periods themselves (docs/monitoring.md, *Reporting completeness*)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.accounts.access import Capability
from tocsin.monitoring.completeness import jurisdiction_names
from tocsin.web.deps import Db, PageScope
from tocsin.web.pages.situation import breadcrumbs, children_of, completeness_context, focus_of
from tocsin.web.templating import render

router = APIRouter(include_in_schema=False)

#: The rows the list shows by default: those that need attention.
Shown = Literal["problems", "missing", "late", "on-time", "all"]


@router.get("/completeness")
def completeness(
    request: Request,
    scope: PageScope,
    db: Db,
    j: str | None = None,
    status: Shown = "problems",
) -> Response:
    """Completeness of ``?j=CODE`` (default: the user's read scope); ``status`` chooses
    the series-periods listed."""
    focus = focus_of(db, scope, j)
    children = children_of(db, scope, focus)
    context = completeness_context(db, scope, focus, children, now=dt.datetime.now(dt.UTC))
    rows = context["report"].rows
    if status == "problems":
        rows = [r for r in rows if r.status != "on-time"]
    elif status != "all":
        rows = [r for r in rows if r.status == status]
    rows = sorted(rows, key=lambda r: (r.status != "missing", -r.period, r.indicator))
    readable = scope.ids(Capability.READ)
    places = jurisdiction_names(db, {r.jurisdiction_id for r in rows} & readable)
    return render(
        request,
        "completeness.html",
        {
            "focus": focus,
            "trail": breadcrumbs(db, scope, focus),
            "children": children,
            "status": status,
            "rows": rows,
            "row_places": places,
            **context,
        },
    )
