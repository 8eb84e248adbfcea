"""Pages: the alert list and an alert (timeline, actions with a comment, CAP XML)."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.accounts.service import actor_names
from tocsin.alerting import queries
from tocsin.alerting.explanation import alarm_signals
from tocsin.alerting.models import ALERT_STATUSES, Alert
from tocsin.alerting.severity import Level
from tocsin.errors import ConflictError, UserError
from tocsin.monitoring.models import Indicator, Jurisdiction
from tocsin.monitoring.queries import frequency_of, signals_between
from tocsin.periods import PeriodKind, format_periods
from tocsin.web import i18n
from tocsin.web.deps import Db, PageScope, check_csrf
from tocsin.web.i18n.names import method_name
from tocsin.web.pages.params import FormLevel, FormPage, query_string
from tocsin.web.pages.situation import cache_of, data_version
from tocsin.web.shared.alerts import (
    TRANSITIONS,
    alert_cap_xml,
    alert_detail,
    alert_in_scope,
    transition,
)
from tocsin.web.shared.common import MAX_ID, ItemId, readable_subtree
from tocsin.web.templating import render, request_locale, templates

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50


@router.get("/alerts")
def alerts_page(
    request: Request,
    scope: PageScope,
    db: Db,
    status: str | None = None,
    level: FormLevel = None,
    j: str | None = None,
    stratum: Annotated[str | None, Query(max_length=100)] = None,
    page: FormPage = None,
) -> Response:
    status = status if status in ALERT_STATUSES else None
    stratum = stratum or None
    page = min(page or 0, MAX_ID // PAGE_SIZE)

    def compute(db: Session, _ids: frozenset[int]) -> list[Any]:
        rows = queries.alert_summaries(
            db,
            readable_subtree(db, scope, j or None),
            status=status,
            active=status is None,
            level=level,
            limit=PAGE_SIZE + 1,
            offset=page * PAGE_SIZE,
            stratum=stratum,
        )
        return [{**r._asdict(), "period": period_label(db, r)} for r in rows]

    locale = request_locale(request)

    def body(db: Session, ids: frozenset[int]) -> Markup:
        # The list depends only on the area, the filters, the language and the data:
        # rendered once per data version (at most a minute old, for the ages).
        rows = compute(db, ids)
        i18n.set_locale(locale)
        return Markup(
            templates.get_template("alerts_body.html").render(
                locale=locale,
                rows=rows[:PAGE_SIZE],
                more=len(rows) > PAGE_SIZE,
                page=page,
                newer=query_string(
                    status=status, level=level, j=j, stratum=stratum, page=page - 1 or None
                ),
                older=query_string(status=status, level=level, j=j, stratum=stratum, page=page + 1),
                status=status,
                level=level,
                j=j or "",
                stratum=stratum or "",
                statuses=ALERT_STATUSES,
                Level=Level,
                now=dt.datetime.now(dt.UTC),
                query_string=query_string,
            )
        )

    name = f"alerts:{status}:{level}:{j}:{stratum}:{page}:{locale}:{int(time.time() // 60)}"
    ids = scope.ids(Capability.READ)
    return render(
        request,
        "alerts.html",
        {
            "body": cache_of(request).get(db, name, ids, body, data_version(db)),
            "may_raise": scope.any(Capability.RESPOND),
        },
    )


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, alert_id: ItemId, scope: PageScope, db: Db) -> Response:
    return alert_view(request, db, scope, alert_id)


def alert_view(
    request: Request,
    db: Session,
    scope: Scope,
    alert_id: int,
    *,
    action_error: str | None = None,
    comment: str = "",
    status: int = 200,
) -> Response:
    """The alert page; after a refused action, its message and the comment typed."""
    detail = alert_detail(db, scope, alert_id)
    alert = alert_in_scope(db, scope, alert_id, Capability.READ)
    xml = alert_cap_xml(db, scope, alert_id)
    return render(
        request,
        "alert.html",
        {
            "a": detail,
            "why": why_level(db, alert),
            "signals": alert_signals(db, alert),
            "may_respond": scope.allows(Capability.RESPOND, alert.jurisdiction_id),
            "cap_xml": xml.decode() if xml else None,
            "Level": Level,
            "now": dt.datetime.now(dt.UTC),
            "error": request.query_params.get("error"),
            "action_error": action_error,
            "comment": comment,
            "headline_zh": alert.headline_zh,
            "description": alert.description,
            "explanation": explanation(db, alert),
            "actors": actor_names(db, [t.actor for t in detail.transitions]),
            "period": alert_period(db, alert),
            "place": db.get(Jurisdiction, alert.jurisdiction_id),
            "indicator": db.get(Indicator, alert.indicator_id) if alert.indicator_id else None,
        },
        status=status,
    )


def period_label(db: Session, row: Any) -> str:
    """The newest period of an alert row (its last alarm), or "" without one."""
    period = row.last_alarm_period if row.last_alarm_period is not None else row.first_period
    if period is None or row.indicator_id is None:
        return ""
    frequency = frequency_of(db, row.indicator_id)
    return format_periods(PeriodKind(frequency), [period])[0]


def alert_period(db: Session, alert: Alert) -> str | None:
    """The periods an alert concerns, ``2008-W07`` or ``2008-W05 – 2008-W07`` (None for
    an alert without periods: raised by hand, imported)."""
    if alert.first_period is None or alert.indicator_id is None:
        return None
    frequency = frequency_of(db, alert.indicator_id)
    last = alert.last_alarm_period if alert.last_alarm_period is not None else alert.first_period
    labels = format_periods(PeriodKind(frequency), sorted({alert.first_period, last}))
    return " – ".join(labels)


def why_level(db: Session, alert: Alert) -> dict[str, Any] | None:
    """What the "why this level" block shows (``alert_severity.html``): the alarm that
    set the level and the rule applied, from ``alert.severity_basis``; None for alerts
    raised by hand or imported."""
    basis = alert.severity_basis
    if not basis or basis.get("level") is None:
        return None
    level = Level(basis["level"])
    frequency = frequency_of(db, alert.indicator_id)
    period = basis.get("period")
    if period is not None and frequency is not None:
        period = format_periods(PeriodKind(frequency), [period])[0]
    cutoffs, min_counts = basis.get("cutoffs") or [], basis.get("min_counts")
    following = None
    if level is not Level.I and len(cutoffs) == 3:
        above = Level(int(level) - 1)
        following = {
            "level": above,
            "cutoff": cutoffs[3 - int(above)],
            "min_count": min_counts[4 - int(above)] if min_counts else None,
        }
    return {
        **basis,
        "period": period,
        "level": level,
        "by_probability": Level(basis["level_by_probability"]),
        "next": following,
    }


#: Periods the explanation's chart shows before and after the alarm.
CHART_BEFORE, CHART_AFTER = 12, 4


def explanation(db: Session, alert: Alert) -> dict[str, Any] | None:
    """What the "why this alarm" block shows (``_alarm_explanation.html``): the stored
    alarms of the latest alarm period (:func:`tocsin.alerting.explanation.alarm_signals`)
    with their periods as labels, and the chart of the weeks around it; None for an
    alert without a series."""
    alarms = alarm_signals(db, alert)
    if alarms is None:
        return None
    assert alert.indicator_id is not None and alert.series_id is not None
    kind = PeriodKind(frequency_of(db, alert.indicator_id))
    period = alert.last_alarm_period if alert.last_alarm_period is not None else alert.first_period
    assert period is not None

    def label(ordinal: int | None) -> str | None:
        return None if ordinal is None else format_periods(kind, [ordinal])[0]

    start, end = label(period - CHART_BEFORE), label(period + CHART_AFTER)
    return {
        "period": label(period),
        "alarms": [
            {"a": a, "first": label(a.baseline.first), "last": label(a.baseline.last)}
            for a in alarms
        ],
        "chart_url": f"/api/v1/series/{alert.series_id}?" + urlencode({"from": start, "to": end}),
        "names": json.dumps({a.detector_id: method_name(a.method) for a in alarms}),
    }


#: Periods of signals shown before the alert's first alarm period.
SIGNALS_BEFORE = 4
#: At most this many signals, the newest.
SIGNALS_SHOWN = 60


def alert_signals(db: Session, alert: Alert) -> list[dict[str, Any]]:
    """The detector signals of the alert's series from shortly before its first alarm
    to its last one (the evidence on the alert's timeline; the newest
    :data:`SIGNALS_SHOWN`), oldest first."""
    if alert.series_id is None or alert.first_period is None:
        return []
    last = alert.last_alarm_period if alert.last_alarm_period is not None else alert.first_period
    rows = signals_between(
        db, alert.series_id, alert.first_period - SIGNALS_BEFORE, last, SIGNALS_SHOWN
    )
    if not rows:
        return []
    labels = format_periods(PeriodKind(rows[0].frequency), [r.period for r in rows])
    return [{**r._asdict(), "label": label} for r, label in zip(rows, labels, strict=True)]


@router.post("/alerts/{alert_id}/{action}")
def alert_action(
    request: Request,
    alert_id: ItemId,
    action: str,
    scope: PageScope,
    db: Db,
    csrf_token: Annotated[str, Form()] = "",
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    if action not in TRANSITIONS:
        raise UserError(f"unknown action {action!r}; expected one of {', '.join(TRANSITIONS)}")
    try:
        transition(request, scope, alert_id, action, comment)
    except ConflictError:
        # Changed meanwhile (another tab, another person): the current state, the comment kept.
        db.rollback()
        i18n.set_locale(request_locale(request))
        current = alert_in_scope(db, scope, alert_id, Capability.READ).status
        message = i18n.gettext(
            "Not done: this alert was changed meanwhile (in another tab or by someone "
            "else) and is now “%(status)s”. Its current state is shown below and your "
            "comment is kept: choose again."
        ) % {"status": i18n.gettext(current)}
        return alert_view(
            request, db, scope, alert_id, action_error=message, comment=comment, status=409
        )
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
