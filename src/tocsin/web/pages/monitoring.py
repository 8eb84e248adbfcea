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
from tocsin.monitoring.models import Detector, Jurisdiction
from tocsin.periods import PeriodKind
from tocsin.web.api.common import ItemId
from tocsin.web.api.ingest import IngestProblemsError, ingest_upload
from tocsin.web.api.monitoring import period_bounds, series_in_scope
from tocsin.web.deps import Db, PageScope, check_csrf
from tocsin.web.i18n.names import method_name
from tocsin.web.templating import render

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
    period_bounds(PeriodKind(indicator.frequency), start, end)  # reject bad labels early
    jurisdiction = db.get(Jurisdiction, series.jurisdiction_id)
    query = urlencode({k: v for k, v in (("from", start), ("to", end)) if v})
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
        },
    )


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
    return render(
        request, "ingest.html", {"report": report, "may_ingest": True, "form": form}, status=status
    )
