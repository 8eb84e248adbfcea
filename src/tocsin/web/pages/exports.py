"""Downloads as CSV files for spreadsheets (:mod:`tocsin.web.spreadsheet`): the alert
list with its filters, the numbers of a series chart, and a series' detections.

Each download reads exactly what its page shows, through the same reads and the same
scope: the alert list's query with the list's filters, the chart's window and series.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.alerting.models import ALERT_STATUSES, Alert
from tocsin.alerting.severity import Level
from tocsin.monitoring import queries
from tocsin.monitoring.models import Series
from tocsin.store.sql import page_rows
from tocsin.web.deps import Db, PageScope
from tocsin.web.pages.alerts import alert_period
from tocsin.web.pages.params import FormLevel
from tocsin.web.shared.alerts import alerts_query
from tocsin.web.shared.common import MAX_ID, ItemId
from tocsin.web.shared.monitoring import series_in_scope, series_window
from tocsin.web.spreadsheet import csv_response

router = APIRouter(include_in_schema=False)

#: Most alerts one download holds (the newest, most serious first, as the list).
MAX_ALERT_ROWS = 10_000
#: Most series one chart compares (its own included).
MAX_COMPARED = 8
#: The series drawn beside a chart's own: ``?with=ID`` repeated.
SeriesIds = Annotated[
    list[Annotated[int, Field(ge=1, le=MAX_ID)]], Query(alias="with", max_length=50)
]


@router.get("/alerts.csv")
def alerts_csv(
    scope: PageScope,
    db: Db,
    status: str | None = None,
    level: FormLevel = None,
    j: str | None = None,
    stratum: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """The alert list as the page shows it with the same filters (``status``, ``level``,
    ``j``, ``stratum``): without a status, the open and acknowledged alerts."""
    status = status if status in ALERT_STATUSES else None
    query = alerts_query(
        db, scope, status=status, active=status is None, level=level, jurisdiction=j or None,
        stratum=stratum or None,
    )  # fmt: skip
    rows = page_rows(db, query, limit=MAX_ALERT_ROWS, offset=0)
    names = queries.jurisdiction_names(
        db, {a.jurisdiction_id for a, *_ in rows if a.jurisdiction_id}, scope.ids()
    )
    header = [
        "id", "level", "status", "source", "jurisdiction", "jurisdiction_name",
        "jurisdiction_name_zh", "indicator", "stratum", "period", "headline", "headline_zh",
        "observed", "expected", "upper_bound", "tail_probability", "opened_at",
        "acknowledged_at", "acknowledged_by", "closed_at",
    ]  # fmt: skip
    body = []
    for alert, code, indicator in rows:
        _, name, name_zh = names.get(alert.jurisdiction_id or 0, ("", "", None))
        body.append(_alert_row(db, alert, code, name, name_zh, indicator))
    parts = [p for p in ("alerts", status or "active", level and Level(level).roman, j) if p]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    return csv_response(f"tocsin-{'-'.join(parts)}-{stamp}.csv", header, body)


def _alert_row(
    db: Session,
    alert: Alert,
    code: str | None,
    name: str,
    name_zh: str | None,
    indicator: str | None,
) -> list[object]:
    return [
        alert.id, Level(alert.level).roman, alert.status, alert.source, code, name,
        name_zh, indicator, alert.stratum or "", alert_period(db, alert), alert.headline,
        alert.headline_zh,
        alert.observed, alert.expected, alert.upperbound, alert.tail_probability,
        alert.opened_at, alert.acknowledged_at, alert.acknowledged_by, alert.closed_at,
    ]  # fmt: skip


def _window_name(start: str | None, end: str | None) -> str:
    return f"{start or 'start'}_{end or 'end'}" if start or end else "all"


def compared(db: Session, scope: Scope, series: Series, ids: list[int]) -> list[Series]:
    """``series`` and the other series ``ids`` drawn beside it (each readable, of the
    same indicator; at most :data:`MAX_COMPARED` in all). An id the caller cannot read
    answers 404, as the series page does."""
    found = [series]
    for sid in dict.fromkeys(ids):
        if sid == series.id or len(found) >= MAX_COMPARED:
            continue
        other, _ = series_in_scope(db, scope, sid)
        if other.indicator_id == series.indicator_id:
            found.append(other)
    return found


@router.get("/series/{series_id}/data.csv")
def series_csv(
    scope: PageScope,
    db: Db,
    series_id: ItemId,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    also: SeriesIds = [],  # noqa: B006
) -> Response:
    """The numbers of the chart: each series' observations in the window, with the
    population of the period and the rate per 100,000 where the population is known."""
    series, indicator = series_in_scope(db, scope, series_id)
    drawn = compared(db, scope, series, also)
    names = queries.jurisdiction_names(db, {s.jurisdiction_id for s in drawn}, scope.ids())
    header = [
        "period", "jurisdiction", "jurisdiction_name", "jurisdiction_name_zh", "stratum",
        "indicator", "value", "population", f"rate_per_{queries.RATE_PER}",
    ]  # fmt: skip
    body = []
    for one in drawn:
        code, name, name_zh = names[one.jurisdiction_id]
        points, _signals = series_window(db, one, indicator, start, end, population=True)
        body += [
            [
                p.period,
                code,
                name,
                name_zh,
                one.stratum,
                indicator.code,
                p.value,
                p.population,
                queries.rate(p.value, p.population),
            ]
            for p in points
        ]
    code = names[series.jurisdiction_id][0]
    filename = f"tocsin-{indicator.code}-{code}-{_window_name(start, end)}.csv"
    return csv_response(filename, header, body)


@router.get("/series/{series_id}/signals.csv")
def signals_csv(
    scope: PageScope,
    db: Db,
    series_id: ItemId,
    detector: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    """The detections of a series in the window: every detector's, or ``detector``'s."""
    series, indicator = series_in_scope(db, scope, series_id)
    _points, signals = series_window(db, series, indicator, start, end)
    if detector is not None:
        signals = [s for s in signals if s.detector_id == detector]
    code = queries.jurisdiction_names(db, {series.jurisdiction_id}, scope.ids(Capability.READ))[
        series.jurisdiction_id
    ][0]
    header = [
        "period", "detector", "method", "observed", "expected", "upper_bound", "alarm",
        "score", "tail_probability",
    ]  # fmt: skip
    body = [
        [
            s.period,
            s.detector_id,
            s.method,
            s.observed,
            s.expected,
            s.upperbound,
            s.alarm,
            s.score,
            s.tail_probability,
        ]
        for s in signals
    ]
    which = f"-detector{detector}" if detector is not None else ""
    filename = f"tocsin-signals-{indicator.code}-{code}{which}-{_window_name(start, end)}.csv"
    return csv_response(filename, header, body)
