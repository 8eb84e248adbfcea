"""Pages: a series chart (observed, expected, upper bound, alarms) and the ingest form."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from tocsin.accounts.access import Capability
from tocsin.errors import UserError
from tocsin.monitoring import runs
from tocsin.monitoring.models import Detector, Jurisdiction
from tocsin.periods import PeriodKind
from tocsin.web import i18n
from tocsin.web.api.common import ItemId
from tocsin.web.api.ingest import IngestProblemsError, ingest_upload
from tocsin.web.api.monitoring import period_bounds, series_in_scope
from tocsin.web.deps import Db, PageScope, check_csrf
from tocsin.web.i18n.names import method_name
from tocsin.web.templating import render, request_locale

router = APIRouter(include_in_schema=False)


@router.get("/series/{series_id}")
def series_page(
    request: Request,
    series_id: ItemId,
    scope: PageScope,
    db: Db,
) -> Response:
    """The chart of a series over the window ``?from=LABEL&to=LABEL`` (default: all)."""
    start = request.query_params.get("from") or None
    end = request.query_params.get("to") or None
    series, indicator = series_in_scope(db, scope, series_id)
    kind = PeriodKind(indicator.frequency)
    window = {"from": start, "to": end}
    i18n.set_locale(request_locale(request))
    errors = window_errors(kind, window)
    jurisdiction = db.get(Jurisdiction, series.jurisdiction_id)
    query = urlencode({k: v for k, v in window.items() if v and k not in errors})
    detectors = db.scalars(select(Detector).where(Detector.indicator_id == indicator.id)).all()
    return render(
        request,
        "series.html",
        {
            "series": series,
            "indicator": indicator,
            "jurisdiction": jurisdiction,
            "start": start or "",
            "end": end or "",
            "data_url": f"/api/v1/series/{series.id}" + (f"?{query}" if query else ""),
            "detectors": detectors,
            "detector_names": json.dumps(detector_names(detectors)),
            "window_errors": list(errors.values()),
        },
        status=422 if errors else 200,
    )


#: How a period of each kind is written, for the chart window's messages.
PERIOD_EXAMPLES = {
    PeriodKind.WEEK: "2008-W07",
    PeriodKind.MONTH: "2008-02",
    PeriodKind.QUARTER: "2008-Q1",
    PeriodKind.DAY: "2008-02-12",
    PeriodKind.INDEX: "42",
}


def window_errors(kind: PeriodKind, window: dict[str, str | None]) -> dict[str, str]:
    """The fields of the chart window (``from``, ``to``) that are no period label of
    ``kind``, each with its message (the chart is drawn without them)."""
    _ = i18n.gettext
    names = {"from": _("From"), "to": _("To")}
    errors = {}
    for field, label in window.items():
        try:
            period_bounds(kind, label, None)
        except UserError:
            errors[field] = _(
                "%(field)s: “%(label)s” is not a period of this series; write it like "
                "%(example)s, or leave it empty."
            ) % {"field": names[field], "label": label, "example": PERIOD_EXAMPLES[kind]}
    return errors


def detector_names(detectors: Sequence[Detector]) -> dict[int, str]:
    """The legend name of each detector's lines on the chart: its method's name, with
    its number where two detectors use the same method."""
    names = {d.id: method_name(d.method) for d in detectors}
    repeated = {n for n in names.values() if list(names.values()).count(n) > 1}
    return {i: f"{n} #{i}" if n in repeated else n for i, n in names.items()}


@router.get("/ingest")
def ingest_form(request: Request, scope: PageScope) -> Response:
    return render(
        request, "ingest.html", {"report": None, "may_ingest": scope.any(Capability.INGEST)}
    )


@router.post("/ingest")
async def ingest_post(
    request: Request,
    scope: PageScope,
    file: Annotated[UploadFile, File()],
    csrf_token: Annotated[str, Form()] = "",
    indicator: Annotated[str, Form()] = "",
    skip_invalid: Annotated[bool, Form()] = False,
) -> Response:
    check_csrf(request, csrf_token)
    may = scope.any(Capability.INGEST)
    if not may:
        return render(request, "ingest.html", {"report": None, "may_ingest": False}, status=403)
    content = await file.read()
    status = 200
    try:
        report = await run_in_threadpool(
            ingest_upload,
            request,
            scope,
            file.filename or "upload.csv",
            content,
            indicator=indicator or None,
            skip_invalid=skip_invalid,
        )
    except IngestProblemsError as exc:
        report, status = exc.report, 422
    form = {"indicator": indicator, "skip_invalid": skip_invalid}
    if report.stored:
        with request.app.state.sessions() as db:
            report.pending = runs.pending_series(db, scope.ids(Capability.READ))
    return render(
        request, "ingest.html", {"report": report, "may_ingest": True, "form": form}, status=status
    )
