"""JSON API: jurisdictions, indicators, series with observations and signals, detectors.

Every list is filtered by the caller's read scope; objects outside it answer 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.accounts.access import Capability, Scope
from tocsin.errors import NotFoundError, UserError
from tocsin.monitoring.models import Detector, Indicator, Jurisdiction, Observation, Series, Signal
from tocsin.periods import PeriodError, PeriodKind, format_periods, parse_periods
from tocsin.web.api.common import (
    ItemId,
    Page,
    PageParams,
    jurisdiction_by_code,
    page_params,
    paginate,
)
from tocsin.web.deps import ApiScope, Db

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


class PointOut(BaseModel):
    period: str
    value: float


class SignalOut(BaseModel):
    period: str
    detector_id: int
    method: str
    observed: float | None
    expected: float | None
    upperbound: float | None = Field(description="null: no bound")
    alarm: bool | None
    score: float | None
    tail_probability: float | None = Field(
        description="under the detector's model, one meaning for every method"
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


def _parent_codes(db: Session, ids: set[int | None]) -> dict[int, str]:
    ids.discard(None)
    if not ids:
        return {}
    rows = db.execute(select(Jurisdiction.id, Jurisdiction.code).where(Jurisdiction.id.in_(ids)))
    return dict(rows.all())


@router.get("/jurisdictions", response_model=Page[JurisdictionOut], summary="Jurisdictions")
def list_jurisdictions(
    scope: ApiScope,
    db: Db,
    params: Annotated[PageParams, Depends(page_params)],
    parent: Annotated[str | None, Query(description="only the children of this code")] = None,
    level: Annotated[str | None, Query(description="only this level")] = None,
) -> Page[JurisdictionOut]:
    readable = scope.ids(Capability.READ)
    query = select(Jurisdiction).where(Jurisdiction.id.in_(readable)).order_by(Jurisdiction.code)
    if parent is not None:
        query = query.where(Jurisdiction.parent_id == jurisdiction_by_code(db, parent, readable).id)
    if level is not None:
        query = query.where(Jurisdiction.level == level)
    rows, total = paginate(db, query, params)
    items = [r[0] for r in rows]
    parents = _parent_codes(db, {j.parent_id for j in items})
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
    return _jurisdiction_out(j, _parent_codes(db, {j.parent_id}).get(j.parent_id or -1), geometry)


@router.get("/indicators", response_model=Page[IndicatorOut], summary="Indicators")
def list_indicators(
    scope: ApiScope, db: Db, params: Annotated[PageParams, Depends(page_params)]
) -> Page[IndicatorOut]:
    rows, total = paginate(db, select(Indicator).order_by(Indicator.code), params)
    return Page(
        items=[IndicatorOut.model_validate(r[0], from_attributes=True) for r in rows],
        total=total,
        **params.model_dump(),
    )


@router.get("/indicators/{code}", response_model=IndicatorOut, summary="One indicator")
def get_indicator(code: str, scope: ApiScope, db: Db) -> IndicatorOut:
    return IndicatorOut.model_validate(indicator_by_code(db, code), from_attributes=True)


def indicator_by_code(db: Session, code: str) -> Indicator:
    indicator = db.scalar(select(Indicator).where(Indicator.code == code))
    if indicator is None:
        raise NotFoundError(f"indicator {code!r} does not exist")
    return indicator


_SERIES_COLUMNS = (
    Series.id,
    Indicator.code,
    Jurisdiction.code,
    Series.stratum,
    Series.version,
)


def _series_query(scope: Scope) -> Any:
    return (
        select(*_SERIES_COLUMNS)
        .join(Indicator, Indicator.id == Series.indicator_id)
        .join(Jurisdiction, Jurisdiction.id == Series.jurisdiction_id)
        .where(Series.jurisdiction_id.in_(scope.ids(Capability.READ)))
    )


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
) -> Page[SeriesOut]:
    query = _series_query(scope).order_by(Indicator.code, Jurisdiction.code, Series.stratum)
    if indicator:
        query = query.where(Indicator.code == indicator)
    if jurisdiction:
        query = query.where(Jurisdiction.code == jurisdiction)
    rows, total = paginate(db, query, params)
    return Page(items=[_series_out(r) for r in rows], total=total, **params.model_dump())


def series_in_scope(db: Session, scope: Scope, series_id: int) -> tuple[Series, Indicator]:
    """The series ``series_id`` and its indicator, if the caller may read it."""
    series = db.get(Series, series_id)
    if series is None or not scope.allows(Capability.READ, series.jurisdiction_id):
        raise NotFoundError(f"series {series_id} does not exist")
    indicator = db.get(Indicator, series.indicator_id)
    assert indicator is not None
    return series, indicator


def period_bounds(
    kind: PeriodKind, start: str | None, end: str | None
) -> tuple[int | None, int | None]:
    """The ordinals of the ``from`` and ``to`` labels (either may be missing)."""

    def one(label: str | None, name: str) -> int | None:
        if not label:
            return None
        try:
            return int(parse_periods([label], kind=kind).ordinals[0])
        except PeriodError as exc:
            raise UserError(f"{name}: expected a {kind.value} label, got {label!r}") from exc

    return one(start, "from"), one(end, "to")


def series_window(
    db: Session, series: Series, indicator: Indicator, start: str | None, end: str | None
) -> tuple[list[PointOut], list[SignalOut]]:
    """Observations and signals of ``series`` between two period labels (inclusive)."""
    kind = PeriodKind(indicator.frequency)
    lo, hi = period_bounds(kind, start, end)
    obs = select(Observation.period, Observation.value).where(Observation.series_id == series.id)
    sig = (
        select(Signal, Detector.method)
        .join(Detector, Detector.id == Signal.detector_id)
        .where(Signal.series_id == series.id)
    )
    if lo is not None:
        obs, sig = obs.where(Observation.period >= lo), sig.where(Signal.period >= lo)
    if hi is not None:
        obs, sig = obs.where(Observation.period <= hi), sig.where(Signal.period <= hi)
    points = db.execute(obs.order_by(Observation.period)).all()
    signals = db.execute(sig.order_by(Signal.period, Signal.detector_id)).all()
    labels = dict(
        zip(
            [p for p, _ in points] + [s.period for s, _ in signals],
            format_periods(kind, [p for p, _ in points] + [s.period for s, _ in signals]),
            strict=True,
        )
    )
    return (
        [PointOut(period=labels[p], value=v) for p, v in points],
        [
            SignalOut(
                period=labels[s.period],
                detector_id=s.detector_id,
                method=method,
                observed=s.observed,
                expected=s.expected,
                upperbound=s.upperbound,
                alarm=s.alarm,
                score=s.score,
                tail_probability=s.tail_probability,
            )
            for s, method in signals
        ],
    )


@router.get("/series/{series_id}", response_model=SeriesDetail, summary="A series with its data")
def get_series(
    series_id: ItemId,
    scope: ApiScope,
    db: Db,
    start: Annotated[
        str | None, Query(alias="from", description="first period, e.g. 2007-W01")
    ] = None,
    end: Annotated[str | None, Query(alias="to", description="last period")] = None,
) -> SeriesDetail:
    series, indicator = series_in_scope(db, scope, series_id)
    jurisdiction = db.get(Jurisdiction, series.jurisdiction_id)
    points, signals = series_window(db, series, indicator, start, end)
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
    readable = scope.ids(Capability.READ)
    visible_series = select(Series.id).where(Series.jurisdiction_id.in_(readable))
    query = (
        select(Detector, Indicator.code)
        .join(Indicator, Indicator.id == Detector.indicator_id)
        .where(Detector.series_id.is_(None) | Detector.series_id.in_(visible_series))
        .order_by(Detector.id)
    )
    rows, total = paginate(db, query, params)
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
