"""JSON API: jurisdictions, indicators, series with observations and signals, detectors.

Every list is filtered by the caller's read scope; objects outside it answer 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from tocsin.accounts.access import Capability
from tocsin.monitoring import queries
from tocsin.monitoring.models import Detector, Jurisdiction
from tocsin.periods import PeriodKind, format_periods
from tocsin.web.api.common import (
    ItemId,
    Page,
    PageParams,
    jurisdiction_by_code,
    page_params,
    paginate,
)
from tocsin.web.deps import ApiScope, Db
from tocsin.web.shared.common import readable_subtree
from tocsin.web.shared.monitoring import (
    PointOut,
    SignalOut,
    series_in_scope,
    series_window,
)

router = APIRouter(tags=["monitoring"])


class JurisdictionOut(BaseModel):
    code: str
    name: str
    name_zh: str | None
    level: str
    parent: str | None
    geometry: dict[str, Any] | None = None


class IndicatorOut(BaseModel):
    code: str
    name: str
    name_zh: str | None
    domain: str
    unit: str
    value_kind: str
    frequency: str
    description: str | None
    due_days: int | None = Field(
        default=None, description="days after the period's last day; null: not tracked"
    )
    due_time: str | None = Field(default=None, description="HH:MM local time")
    due_timezone: str | None = Field(default=None, description="IANA time zone")


class SeriesOut(BaseModel):
    id: int
    indicator: str
    jurisdiction: str
    stratum: str
    version: int


class SignalListed(SignalOut):
    series_id: int
    indicator: str
    jurisdiction: str
    stratum: str = Field(description="the series' stratum (e.g. an age group); empty: none")


#: The ``stratum`` filter of the lists (an empty value selects unstratified series).
STRATUM_QUERY = Query(
    max_length=100, description="this stratum of the series (empty: series without one)"
)


class SeriesDetail(SeriesOut):
    observations: list[PointOut]
    signals: list[SignalOut]


class DetectorOut(BaseModel):
    id: int
    indicator: str
    series_id: int | None
    method: str
    parameters: dict[str, Any]
    enabled: bool


@router.get("/jurisdictions", response_model=Page[JurisdictionOut], summary="Jurisdictions")
def list_jurisdictions(
    scope: ApiScope,
    db: Db,
    params: Annotated[PageParams, Depends(page_params)],
    parent: Annotated[str | None, Query(description="only the children of this code")] = None,
    level: Annotated[str | None, Query(description="only this level")] = None,
) -> Page[JurisdictionOut]:
    readable = scope.ids(Capability.READ)
    parent_id = jurisdiction_by_code(db, parent, readable).id if parent is not None else None
    query = queries.jurisdictions(readable, parent_id=parent_id, level=level)
    rows, total = paginate(db, query, params)
    items = [r[0] for r in rows]
    parents = queries.jurisdiction_codes(db, {j.parent_id for j in items})
    return Page(
        items=[_jurisdiction_out(j, parents.get(j.parent_id or -1)) for j in items],
        total=total,
        **params.model_dump(),
    )


def _jurisdiction_out(
    j: Jurisdiction, parent: str | None, geometry: bool = False
) -> JurisdictionOut:
    return JurisdictionOut(
        code=j.code,
        name=j.name,
        name_zh=j.name_zh,
        level=j.level,
        parent=parent,
        geometry=j.geometry if geometry else None,
    )


@router.get("/jurisdictions/{code}", response_model=JurisdictionOut, summary="One jurisdiction")
def get_jurisdiction(code: str, scope: ApiScope, db: Db, geometry: bool = False) -> JurisdictionOut:
    j = jurisdiction_by_code(db, code, scope.ids(Capability.READ))
    if geometry:
        db.refresh(j, ["geometry"])
    parents = queries.jurisdiction_codes(db, {j.parent_id})
    return _jurisdiction_out(j, parents.get(j.parent_id or -1), geometry)


@router.get("/indicators", response_model=Page[IndicatorOut], summary="Indicators")
def list_indicators(
    scope: ApiScope, db: Db, params: Annotated[PageParams, Depends(page_params)]
) -> Page[IndicatorOut]:
    rows, total = paginate(db, queries.indicators(), params)
    return Page(
        items=[IndicatorOut.model_validate(r[0], from_attributes=True) for r in rows],
        total=total,
        **params.model_dump(),
    )


@router.get("/indicators/{code}", response_model=IndicatorOut, summary="One indicator")
def get_indicator(code: str, scope: ApiScope, db: Db) -> IndicatorOut:
    return IndicatorOut.model_validate(queries.indicator_by_code(db, code), from_attributes=True)


def _series_out(row: Any) -> SeriesOut:
    return SeriesOut(
        id=row[0], indicator=row[1], jurisdiction=row[2], stratum=row[3], version=row[4]
    )


@router.get("/series", response_model=Page[SeriesOut], summary="Series")
def list_series(
    scope: ApiScope,
    db: Db,
    params: Annotated[PageParams, Depends(page_params)],
    indicator: str | None = None,
    jurisdiction: str | None = None,
    stratum: Annotated[str | None, STRATUM_QUERY] = None,
) -> Page[SeriesOut]:
    query = queries.series(
        scope.ids(Capability.READ), indicator=indicator, jurisdiction=jurisdiction,
        stratum=stratum,
    )  # fmt: skip
    rows, total = paginate(db, query, params)
    return Page(items=[_series_out(r) for r in rows], total=total, **params.model_dump())


@router.get("/signals", response_model=Page[SignalListed], summary="Signals, newest first")
def list_signals(
    scope: ApiScope,
    db: Db,
    params: Annotated[PageParams, Depends(page_params)],
    indicator: str | None = None,
    jurisdiction: Annotated[str | None, Query(description="this subtree")] = None,
    stratum: Annotated[str | None, STRATUM_QUERY] = None,
    alarm: Annotated[bool | None, Query(description="only alarms (true) or no alarms")] = None,
) -> Page[SignalListed]:
    """What the detectors found, series by series and period by period, in the caller's
    read scope: each signal names its series, indicator, jurisdiction and stratum."""
    ids = readable_subtree(db, scope, jurisdiction)
    query = queries.signals(ids, indicator=indicator, stratum=stratum, alarm=alarm)
    rows, total = paginate(db, query, params)
    items = []
    for signal, method, code, frequency, place, series_stratum in rows:
        (label,) = format_periods(PeriodKind(frequency), [signal.period])
        items.append(
            SignalListed(
                series_id=signal.series_id, indicator=code, jurisdiction=place,
                stratum=series_stratum, period=label, detector_id=signal.detector_id,
                method=method, observed=signal.observed, expected=signal.expected,
                upperbound=signal.upperbound, alarm=signal.alarm, score=signal.score,
                tail_probability=signal.tail_probability,
            )
        )  # fmt: skip
    return Page(items=items, total=total, **params.model_dump())


@router.get("/series/{series_id}", response_model=SeriesDetail, summary="A series with its data")
def get_series(
    series_id: ItemId,
    scope: ApiScope,
    db: Db,
    start: Annotated[
        str | None, Query(alias="from", description="first period, e.g. 2007-W01")
    ] = None,
    end: Annotated[str | None, Query(alias="to", description="last period")] = None,
    population: Annotated[
        bool, Query(description="give each observation the population of its period")
    ] = False,
) -> SeriesDetail:
    series, indicator = series_in_scope(db, scope, series_id)
    jurisdiction = db.get(Jurisdiction, series.jurisdiction_id)
    points, signals = series_window(db, series, indicator, start, end, population=population)
    return SeriesDetail(
        id=series.id,
        indicator=indicator.code,
        jurisdiction=jurisdiction.code if jurisdiction else "",
        stratum=series.stratum,
        version=series.version,
        observations=points,
        signals=signals,
    )


@router.get("/detectors", response_model=Page[DetectorOut], summary="Detection configurations")
def list_detectors(
    scope: ApiScope, db: Db, params: Annotated[PageParams, Depends(page_params)]
) -> Page[DetectorOut]:
    rows, total = paginate(db, queries.detectors(scope.ids(Capability.READ)), params)
    return Page(
        items=[detector_out(d, code) for d, code in rows], total=total, **params.model_dump()
    )


def detector_out(d: Detector, indicator_code: str) -> DetectorOut:
    return DetectorOut(
        id=d.id,
        indicator=indicator_code,
        series_id=d.series_id,
        method=d.method,
        parameters=d.parameters,
        enabled=d.enabled,
    )
