"""Page: my queue, the alerts escalation put before the signed-in user, with several
acknowledged at once after one confirmation (the JSON API behind it:
:mod:`tocsin.web.api.queue`; what both do: :mod:`tocsin.web.shared.queue`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tocsin.accounts.access import Capability, Scope
from tocsin.accounts.service import actor_names
from tocsin.alerting.models import Alert
from tocsin.alerting.queries import QUEUE_ORDERS
from tocsin.alerting.severity import Level
from tocsin.web import i18n
from tocsin.web.deps import Db, PageScope, check_csrf
from tocsin.web.pages.params import query_string
from tocsin.web.shared.alerts import alert_in_scope
from tocsin.web.shared.common import MAX_ID
from tocsin.web.shared.queue import BULK_MAX, acknowledge_many, queue_of
from tocsin.web.templating import render, request_locale

router = APIRouter(include_in_schema=False)


def _ids(text: str | None) -> list[int]:
    """Alert ids from a comma-separated list of the page's own links (others ignored)."""
    found = []
    for part in (text or "").split(",")[:BULK_MAX]:
        if part.strip().isdigit() and 0 < int(part) <= MAX_ID:
            found.append(int(part))
    return found


def queue_view(
    request: Request,
    db: Db,
    scope: Scope,
    *,
    order: str,
    q: str,
    error: str | None = None,
    done: list[int] = (),  # type: ignore[assignment]
    unchanged: list[int] = (),  # type: ignore[assignment]
    status: int = 200,
) -> Response:
    order = order if order in QUEUE_ORDERS else "level"
    entries = queue_of(db, scope, order=order, search=q)
    respond = scope.ids(Capability.RESPOND)
    readable = scope.ids(Capability.READ)
    changed = []
    for alert_id in unchanged:  # their status now, if still readable
        alert = db.get(Alert, alert_id)
        if alert is not None and alert.jurisdiction_id in readable:
            changed.append((alert_id, alert.status, alert.acknowledged_by))
    names = actor_names(db, [by for _, _, by in changed if by])
    changed = [(i, status, names.get(by, by) if by else None) for i, status, by in changed]
    return render(
        request,
        "queue.html",
        {
            "entries": entries,
            "may_acknowledge": {
                e.id for e in entries if e.status == "open" and e.jurisdiction_id in respond
            },
            "order": order,
            "orders": QUEUE_ORDERS,
            "q": q,
            "error": error,
            "done": done,
            "changed": changed,
            "now": dt.datetime.now(dt.UTC),
            "Level": Level,
            "may_raise": bool(respond),
        },
        status=status,
    )


@router.get("/queue")
def queue_page(
    request: Request,
    scope: PageScope,
    db: Db,
    order: str = "level",
    q: str = "",
    done: str | None = None,
    unchanged: str | None = None,
) -> Response:
    return queue_view(
        request, db, scope, order=order, q=q[:200], done=_ids(done), unchanged=_ids(unchanged)
    )


@router.post("/queue/acknowledge")
def acknowledge_selected(
    request: Request,
    scope: PageScope,
    db: Db,
    csrf_token: Annotated[str, Form()] = "",
    alert: Annotated[list[int], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    comment: Annotated[str, Form(max_length=4000)] = "",
    confirmed: Annotated[str, Form()] = "",
    order: Annotated[str, Form()] = "level",
    q: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """First the confirmation (what is about to be acknowledged), then, confirmed, the
    acknowledgements; back to the queue with what was done and what had changed."""
    check_csrf(request, csrf_token)
    i18n.set_locale(request_locale(request))
    wanted = [a for a in dict.fromkeys(alert) if 0 < a <= MAX_ID][:BULK_MAX]
    if not wanted:
        message = i18n.gettext("Select at least one alert to acknowledge.")
        return queue_view(request, db, scope, order=order, q=q, error=message, status=422)
    if not confirmed:
        alerts = [alert_in_scope(db, scope, a, Capability.RESPOND) for a in wanted]
        return render(
            request,
            "queue_confirm.html",
            {"alerts": alerts, "comment": comment, "order": order, "q": q, "Level": Level},
        )
    outcome = acknowledge_many(request, db, scope, wanted, comment)
    target = query_string(
        order=order if order != "level" else None,
        q=q or None,
        done=",".join(map(str, outcome.acknowledged)) or None,
        unchanged=",".join(str(u.id) for u in outcome.unchanged) or None,
    )
    return RedirectResponse(f"/queue{target}", status_code=303)
