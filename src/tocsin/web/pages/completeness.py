"""Page: reporting completeness of a jurisdiction's subtree -- per child the share of
expected series-periods that arrived, how many late and how many missing, and the
series-periods themselves (docs/monitoring.md, *Reporting completeness*)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.accounts.access import Capability
from tocsin.errors import UserError
from tocsin.monitoring import completeness as service
from tocsin.monitoring import indicators
from tocsin.monitoring.completeness import jurisdiction_names
from tocsin.monitoring.due import due_rule
from tocsin.web.deps import Db, PageScope, check_csrf, writer
from tocsin.web.pages.situation import breadcrumbs, children_of, completeness_context, focus_of
from tocsin.web.shared.monitoring import may_set_due_rule, require_due_rule_rights
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
    rules = [
        (i, service.rule_of(i), may_set_due_rule(db, scope, i)) for i in indicators.get_all(db)
    ]
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
            "rules": rules,
            "saved": request.query_params.get("saved"),
            **context,
        },
    )


@router.post("/completeness/due")
def set_due_rule(
    request: Request,
    scope: PageScope,
    indicator: Annotated[str, Form(max_length=64)],
    due_days: Annotated[str, Form(max_length=8)] = "",
    due_time: Annotated[str, Form(max_length=16)] = "",
    due_timezone: Annotated[str, Form(max_length=64)] = "",
    j: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Set (blank days: clear) the due rule of ``indicator``; the same rights and audit
    as ``PUT /api/v1/indicators/{code}/due``."""
    check_csrf(request, csrf_token)
    days = due_days.strip()
    if days and not days.isdigit():
        raise UserError(f"due days {days!r} is not a whole number of days (0 to 366)")
    rule = due_rule(int(days) if days else None, due_time or None, due_timezone or None)
    with writer(request) as db:
        found = indicators.get(db, indicator)
        require_due_rule_rights(db, scope, found)
        service.set_due(
            db, found.code, rule, actor=scope.principal.actor, now=dt.datetime.now(dt.UTC)
        )
    query = urlencode({**({"j": j} if j else {}), "saved": found.code})
    return RedirectResponse(f"/completeness?{query}#due-rules", status_code=303)
