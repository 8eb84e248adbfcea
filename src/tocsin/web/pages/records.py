"""Pages of the duty room's records: the audit log (with its chain check), the
notification outbox and the history of detection runs.

Who sees what:

- the audit log spans every jurisdiction, so it is open to administrators of the whole
  territory only (as ``/api/v1/audit``);
- notifications go to the duty contacts of a jurisdiction, which administrators manage:
  an administrator sees those of the jurisdictions they administer;
- detection runs cover every series: analysts and administrators (who configure
  detection) see their figures; the texts of a run's failures name series, so only those
  who configure the whole territory read them, the others see how many there were.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from tocsin.alerting import queries as alert_queries
from tocsin.alerting.models import CHANNELS, NOTIFICATION_STATUSES
from tocsin.alerting.notify.texts import REASON_TEXT
from tocsin.audit import queries as audit_queries
from tocsin.audit import verify
from tocsin.monitoring import queries as monitoring_queries
from tocsin.text import TextError, check_text
from tocsin.web import i18n
from tocsin.web.deps import Db, PageScope
from tocsin.web.pages.params import FormPage, query_string
from tocsin.web.shared.common import MAX_ID
from tocsin.web.shared.records import administered, require_auditor, require_configurer
from tocsin.web.templating import render, request_locale

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
#: Longest actor or action a filter takes (the columns' width).
FILTER_MAX = 200


def _clamp(page: int | None) -> int:
    """The page number, no further than the last page an offset can reach."""
    return min(page or 0, MAX_ID // PAGE_SIZE)


def _page(page: int | None, total: int) -> dict[str, object]:
    """The pager of a list: this page's number and whether an older one follows."""
    return {"page": page or 0, "more": ((page or 0) + 1) * PAGE_SIZE < total}


def _day(value: str | None, field: str, errors: list[str]) -> dt.date | None:
    """The date of a filter field (``YYYY-MM-DD``), or None with a message in ``errors``."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors.append(
            i18n.gettext("%(field)s: “%(value)s” is not a date; write it like 2026-03-01.")
            % {"field": field, "value": value[:40]}
        )
        return None


def _text(value: str | None, field: str, errors: list[str]) -> str | None:
    if not value:
        return None
    try:
        check_text(value, field)
    except TextError:
        errors.append(i18n.gettext("%(field)s: remove the control characters.") % {"field": field})
        return None
    return value.strip()[:FILTER_MAX] or None


@router.get("/audit")
def audit_page(
    request: Request,
    scope: PageScope,
    db: Db,
    actor: Annotated[str | None, Query(max_length=FILTER_MAX)] = None,
    action: Annotated[str | None, Query(max_length=FILTER_MAX)] = None,
    since: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    until: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    page: FormPage = None,
    check: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """The audit log, newest first, filtered by actor, action and day; ``?check=1`` (the
    *Verify* button) also checks the hash chain and says plainly whether it is intact."""
    require_auditor(scope, db)
    page = _clamp(page)
    i18n.set_locale(request_locale(request))
    _ = i18n.gettext
    errors: list[str] = []
    actor_f = _text(actor, _("Actor"), errors)
    action_f = _text(action, _("Action"), errors)
    first = _day(since, _("From"), errors)
    last = _day(until, _("To"), errors)
    rows, total = audit_queries.entries(
        db,
        actor=actor_f,
        action=action_f,
        since=dt.datetime.combine(first, dt.time(), dt.UTC) if first else None,
        until=dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC) if last else None,
        offset=(page or 0) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    filters = {"actor": actor_f, "action": action_f, "from": since, "to": until}
    return render(
        request,
        "audit.html",
        {
            "rows": rows,
            "total": total,
            "actions": audit_queries.actions(db),
            "filters": filters,
            "errors": errors,
            "chain": verify(db) if check else None,
            "newer": query_string(**filters, page=(page or 0) - 1 or None),
            "older": query_string(**filters, page=(page or 0) + 1),
            "verify_query": query_string(**filters, page=page, check=1),
            **_page(page, total),
        },
        status=422 if errors else 200,
    )


@router.get("/notifications")
def notifications_page(
    request: Request,
    scope: PageScope,
    db: Db,
    status: str | None = None,
    channel: str | None = None,
    page: FormPage = None,
) -> Response:
    """The outbox: each notification with its status, attempts, next attempt and last
    error, filtered by status and channel."""
    ids = administered(scope)
    page = _clamp(page)
    status = status if status in NOTIFICATION_STATUSES else None
    channel = channel if channel in CHANNELS else None
    rows, total = alert_queries.outbox(
        db, ids, status=status, channel=channel, offset=(page or 0) * PAGE_SIZE, limit=PAGE_SIZE
    )
    filters = {"status": status, "channel": channel}
    return render(
        request,
        "notifications.html",
        {
            "rows": rows,
            "total": total,
            "counts": alert_queries.outbox_counts(db, ids),
            "statuses": NOTIFICATION_STATUSES,
            "reasons": REASON_TEXT,
            "channels": CHANNELS,
            "filters": filters,
            "newer": query_string(**filters, page=(page or 0) - 1 or None),
            "older": query_string(**filters, page=(page or 0) + 1),
            **_page(page, total),
        },
    )


@router.get("/runs")
def runs_page(request: Request, scope: PageScope, db: Db, page: FormPage = None) -> Response:
    """Detection runs, newest first: when, by whom, how long, how much, what failed."""
    whole = require_configurer(scope)
    page = _clamp(page)
    rows, total = monitoring_queries.detection_runs(
        db, offset=(page or 0) * PAGE_SIZE, limit=PAGE_SIZE
    )
    return render(
        request,
        "runs.html",
        {
            "rows": rows,
            "total": total,
            "failure_texts": whole,
            "newer": query_string(page=(page or 0) - 1 or None),
            "older": query_string(page=(page or 0) + 1),
            **_page(page, total),
        },
    )
