"""Pages: a series chart (observed, expected, upper bound, alarms) and the ingest form."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tocsin.accounts.access import Capability
from tocsin.errors import UserError
from tocsin.monitoring import queries, runs
from tocsin.monitoring.models import Detector, Jurisdiction
from tocsin.periods import PeriodKind, format_periods, parse_periods
from tocsin.web import i18n
from tocsin.web.deps import Db, PageScope, check_csrf
from tocsin.web.i18n.names import method_name
from tocsin.web.pages.exports import MAX_COMPARED, SeriesIds
from tocsin.web.shared.common import ItemId
from tocsin.web.shared.ingest import IngestProblemsError, ingest_upload
from tocsin.web.shared.monitoring import period_bounds, series_in_scope
from tocsin.web.templating import render, request_locale

router = APIRouter(include_in_schema=False)


@router.get("/series/{series_id}")
def series_page(
    request: Request,
    series_id: ItemId,
    scope: PageScope,
    db: Db,
    also: SeriesIds = [],  # noqa: B006
    view: str | None = None,
) -> Response:
    """The chart of a series over the window ``?from=LABEL&to=LABEL`` (default: all),
    beside the series of related jurisdictions ``?with=ID`` (repeated), in counts or,
    ``?view=rate``, per 100,000 people where the population is known; a table of the
    same numbers, and downloads of them (CSV) and of the chart (PNG, drawn in the
    browser)."""
    start = request.query_params.get("from") or None
    end = request.query_params.get("to") or None
    series, indicator = series_in_scope(db, scope, series_id)
    kind = PeriodKind(indicator.frequency)
    window = {"from": start, "to": end}
    i18n.set_locale(request_locale(request))
    errors = window_errors(kind, window)
    readable = scope.ids(Capability.READ)
    jurisdiction = db.get(Jurisdiction, series.jurisdiction_id)
    kept = {k: v for k, v in window.items() if v and k not in errors}
    candidates = queries.comparable_series(db, series, readable)
    strata = queries.other_strata(db, series)
    chosen = [c for c in [*strata, *candidates] if c.series_id in set(also)][: MAX_COMPARED - 1]
    rate_possible = kind is not PeriodKind.INDEX and queries.population_known(
        db, series.jurisdiction_id, series.stratum
    )
    rate = rate_possible and view == "rate"
    detectors = queries.detectors_of(db, indicator.id)
    zh = i18n.current_locale() == "zh_CN"

    def data_url(sid: int) -> str:
        query = urlencode({**kept, **({"population": "true"} if rate else {})})
        return f"/api/v1/series/{sid}" + (f"?{query}" if query else "")

    def place(code: str, name: str, name_zh: str | None) -> str:
        return (name_zh if zh and name_zh else name) or code

    own_name = place(jurisdiction.code, jurisdiction.name, jurisdiction.name_zh)
    total = i18n.gettext("Total")

    def line_name(c: queries.ComparedSeries) -> str:
        if c.relation == "stratum":  # the same place: the line is named by its stratum
            return f"{own_name} · {c.name or total}"
        return place(c.code, c.name, c.name_zh)

    compare = [
        {"id": c.series_id, "name": line_name(c), "url": data_url(c.series_id)} for c in chosen
    ]
    own_line = f"{own_name} · {series.stratum or total}" if strata else own_name
    all_strata = urlencode(
        {**kept, "with": [c.series_id for c in strata][: MAX_COMPARED - 1],
         **({"view": "rate"} if rate else {})},
        doseq=True,
    )  # fmt: skip
    selection = {"with": [c.series_id for c in chosen], **({"view": "rate"} if rate else {})}
    with_window = urlencode({**kept, **selection}, doseq=True)
    return render(
        request,
        "series.html",
        {
            "series": series,
            "indicator": indicator,
            "jurisdiction": jurisdiction,
            "own_name": own_name,
            "start": start or "",
            "end": end or "",
            "data_url": data_url(series.id),
            "compare": json.dumps([{"id": series.id, "name": own_line}, *compare]),
            "candidates": candidates,
            "strata": strata,
            "strata_open": any(c.relation == "stratum" for c in chosen),
            "compare_open": any(c.relation != "stratum" for c in chosen),
            "all_strata_url": f"/series/{series.id}?{all_strata}",
            "chosen": {c.series_id for c in chosen},
            "rate_possible": rate_possible,
            "rate": rate,
            "presets": window_presets(db, kind, series.id, selection),
            "csv_url": f"/series/{series.id}/data.csv" + (f"?{with_window}" if with_window else ""),
            "signals_query": urlencode(kept),
            "png_name": f"tocsin-{indicator.code}-{jurisdiction.code}"
            + (f"-{kept.get('from', 'start')}_{kept.get('to', 'end')}" if kept else "")
            + ".png",
            "detectors": detectors,
            "detector_names": json.dumps(detector_names(detectors)),
            "window_errors": list(errors.values()),
        },
        status=422 if errors else 200,
    )


#: The first ISO week of an influenza season (ECDC and WHO Europe count a season from
#: week 40 to week 20 of the next year).
SEASON_START_WEEK = 40


def season_start(week: int) -> int:
    """The first week (ordinal) of the season holding ``week``: the latest ISO week
    :data:`SEASON_START_WEEK` at or before it."""
    year = int(format_periods(PeriodKind.WEEK, [week])[0][:4])
    for start_year in (year, year - 1):
        label = f"{start_year}-W{SEASON_START_WEEK}"
        start = int(parse_periods([label], kind=PeriodKind.WEEK).ordinals[0])
        if start <= week:
            return start
    raise AssertionError("unreachable: week 40 of the year before precedes any week")


def window_presets(
    db: Session, kind: PeriodKind, series_id: int, selection: dict[str, object]
) -> list[dict[str, str]]:
    """The chart's quick windows of a weekly series, each ending with its newest week:
    the last 8, 26 and 52 weeks, this season (from week 40), and everything. Each link
    keeps the compared series and the view (``selection``)."""
    last = queries.last_period(db, series_id) if kind is PeriodKind.WEEK else None
    if last is None:
        return []
    _ = i18n.gettext
    newest = format_periods(kind, [last])[0]
    windows = [(_("Last %(num)d weeks") % {"num": n}, last - n + 1) for n in (8, 26, 52)]
    windows.append((_("This season"), season_start(last)))
    presets = [
        {
            "label": label,
            "from": format_periods(kind, [first])[0],
            "to": newest,
        }
        for label, first in windows
    ]
    for p in presets:
        p["url"] = "?" + urlencode({"from": p["from"], "to": p["to"], **selection}, doseq=True)
    everything = urlencode(selection, doseq=True)
    presets.append(
        {"label": _("All"), "from": "", "to": "", "url": "?" + everything if everything else "?"}
    )
    return presets


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
