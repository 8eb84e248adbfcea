"""Detection configurations: a method of the detect registry and its parameters,
attached to an indicator (all its series) or to one series, enabled or not.

A series-level configuration replaces the indicator-level one of the same method for
that series. Parameters are validated by the registry when set; setting a configuration
that exists changes only the parameters given (the others keep their stored values).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tocsin.audit import record
from tocsin.detect import make_parameters, registry
from tocsin.errors import NotFoundError, UserError
from tocsin.monitoring import indicators as indicator_service
from tocsin.monitoring import jurisdictions as jurisdiction_service
from tocsin.monitoring.models import Detector, Indicator, Jurisdiction, Series
from tocsin.monitoring.schemas import DetectorOut, parse_series_key, series_key


def find_series(session: Session, indicator: Indicator, key: str) -> Series:
    """The series ``key`` (``JURISDICTION[/STRATUM]``) of ``indicator``."""
    code, stratum = parse_series_key(key)
    jurisdiction = jurisdiction_service.get(session, code)
    found = session.scalar(
        select(Series).where(
            Series.indicator_id == indicator.id,
            Series.jurisdiction_id == jurisdiction.id,
            Series.stratum == stratum,
        )
    )
    if found is None:
        raise NotFoundError(
            f"indicator {indicator.code} has no series {key!r} (no data was ingested for it)"
        )
    return found


def _state(detector: Detector) -> dict[str, Any]:
    return {
        "method": detector.method,
        "parameters": detector.parameters,
        "enabled": detector.enabled,
        "series_id": detector.series_id,
    }


def set_detector(
    session: Session,
    *,
    indicator: str,
    method: str,
    series: str | None = None,
    settings: Mapping[str, str] | None = None,
    enabled: bool | None = None,
    actor: str | None = None,
) -> tuple[Detector, bool]:
    """Create or change a configuration; returns it and whether it was created.

    ``settings`` are ``NAME -> VALUE`` strings as typed on the command line.
    """
    found = registry.get(method)
    ind = indicator_service.get(session, indicator)
    if found.counts_only and ind.value_kind != "count":
        raise UserError(
            f"method {method!r} works on counts; indicator {ind.code} holds {ind.value_kind} "
            "values; choose a method for any numbers (see `tocsin detect --list`)"
        )
    target = find_series(session, ind, series) if series else None
    same_target = (
        Detector.series_id == target.id if target is not None else Detector.series_id.is_(None)
    )
    existing = session.scalar(
        select(Detector).where(
            Detector.indicator_id == ind.id, same_target, Detector.method == method
        )
    )
    settings = dict(settings or {})
    given = found.parameters.from_strings(settings)
    changed = {name.replace("-", "_") for name in settings}
    stored = dict(existing.parameters) if existing else {}
    merged = {**stored, **{k: getattr(given, k) for k in changed}}
    parameters = make_parameters(method, merged).as_dict()
    if existing is None:
        detector = Detector(
            indicator_id=ind.id,
            series_id=target.id if target else None,
            method=method,
            parameters=parameters,
            enabled=True if enabled is None else enabled,
        )
        session.add(detector)
        session.flush()
        record(
            session,
            action="detector.create",
            object_type="detector",
            object_id=str(detector.id),
            after={"indicator": ind.code, "series": series, **_state(detector)},
            actor=actor,
        )
        return detector, True
    before = _state(existing)
    existing.parameters = parameters
    if enabled is not None:
        existing.enabled = enabled
    if _state(existing) != before:
        session.flush()
        record(
            session,
            action="detector.update",
            object_type="detector",
            object_id=str(existing.id),
            before=before,
            after=_state(existing),
            actor=actor,
        )
    return existing, False


def get_all(session: Session, indicator: str | None = None) -> list[DetectorOut]:
    """Every configuration (of ``indicator``), ordered by indicator, series and method."""
    query = (
        select(Detector, Indicator.code, Jurisdiction.code, Series.stratum)
        .join(Indicator, Indicator.id == Detector.indicator_id)
        .outerjoin(Series, Series.id == Detector.series_id)
        .outerjoin(Jurisdiction, Jurisdiction.id == Series.jurisdiction_id)
        .order_by(Indicator.code, Jurisdiction.code.nulls_first(), Detector.method)
    )
    if indicator is not None:
        query = query.where(Indicator.id == indicator_service.get(session, indicator).id)
    out = []
    for detector, ind_code, jur_code, stratum in session.execute(query):
        out.append(
            DetectorOut(
                id=detector.id,
                indicator=ind_code,
                series=series_key(jur_code, stratum or "") if jur_code else None,
                method=detector.method,
                parameters=detector.parameters,
                enabled=detector.enabled,
                updated_at=detector.updated_at,
            )
        )
    return out
