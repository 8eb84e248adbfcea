"""Reads of monitoring for the web pages: series to compare, population for rates, the
history of detection runs. Every function that returns jurisdiction-bound rows takes
the caller's jurisdiction ids and returns nothing outside them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tocsin.audit.models import AuditEntry
from tocsin.monitoring.models import (
    DetectionRun,
    Detector,
    Jurisdiction,
    JurisdictionPopulation,
    Observation,
    Series,
)
from tocsin.monitoring.population import population_at
from tocsin.periods import PeriodKind

#: Rates are given per this many people (the usual incidence rate of surveillance).
RATE_PER = 100_000


@dataclass(frozen=True)
class ComparedSeries:
    """A series that can be drawn beside another: same indicator and stratum."""

    series_id: int
    code: str
    name: str
    name_zh: str | None
    relation: str  # "parent", "sibling" or "child"


def comparable_series(
    session: Session, series: Series, jurisdiction_ids: Collection[int]
) -> list[ComparedSeries]:
    """The series of the same indicator and stratum in the parent, the siblings and the
    children of ``series``' jurisdiction, among ``jurisdiction_ids``, by relation and
    code."""
    own = session.get(Jurisdiction, series.jurisdiction_id)
    if own is None:
        return []
    related = Jurisdiction.parent_id == own.id
    if own.parent_id is not None:
        related = (
            related
            | (Jurisdiction.id == own.parent_id)
            | ((Jurisdiction.parent_id == own.parent_id) & (Jurisdiction.id != own.id))
        )
    rows = session.execute(
        select(Series.id, Jurisdiction)
        .join(Jurisdiction, Jurisdiction.id == Series.jurisdiction_id)
        .where(
            Series.indicator_id == series.indicator_id,
            Series.stratum == series.stratum,
            Jurisdiction.id.in_(list(jurisdiction_ids)),
            related,
        )
    ).all()
    order = {"parent": 0, "sibling": 1, "child": 2}
    found = [
        ComparedSeries(
            sid,
            j.code,
            j.name,
            j.name_zh,
            "parent" if j.id == own.parent_id else "child" if j.parent_id == own.id else "sibling",
        )
        for sid, j in rows
    ]
    return sorted(found, key=lambda c: (order[c.relation], c.code))


def population_known(session: Session, jurisdiction_id: int) -> bool:
    """Whether the store has any population figure of the jurisdiction."""
    return bool(
        session.scalar(
            select(func.count())
            .select_from(JurisdictionPopulation)
            .where(JurisdictionPopulation.jurisdiction_id == jurisdiction_id)
        )
    )


def series_population(
    session: Session, series: Series, kind: PeriodKind, periods: Sequence[int]
) -> list[float | None]:
    """The population of ``series``' jurisdiction in each of ``periods`` (ordinals), as
    detection uses it (:func:`tocsin.monitoring.population.population_at`: the figure
    of the period's year or the latest earlier one), None where there is none; None
    throughout for integer periods, which have no year."""
    if not periods:
        return []
    if kind is PeriodKind.INDEX:
        return [None] * len(periods)
    values = population_at(
        session,
        series.indicator_id,
        kind,
        np.full(len(periods), series.id, dtype=np.int64),
        np.asarray(periods, dtype=np.int64),
    )
    return [float(v) if np.isfinite(v) and v > 0 else None for v in values]


def rate(value: float | None, population: float | None) -> float | None:
    """``value`` per :data:`RATE_PER` people, or None without a population."""
    if value is None or not population:
        return None
    return value / population * RATE_PER


@dataclass(frozen=True)
class RunRow:
    """One detection run with the configurations it could not evaluate."""

    id: int
    at: object
    actor: str
    duration_seconds: float | None
    detectors: int
    series: int
    signals: int
    alarms: int
    failures: list[str] = field(default_factory=list)


def detection_runs(session: Session, *, offset: int, limit: int) -> tuple[list[RunRow], int]:
    """Detection runs, newest first (``limit`` from ``offset``), and how many there are.
    The failures of a run (configurations whose method failed on the data) are those
    its audit entry records."""
    total = session.scalar(select(func.count()).select_from(DetectionRun)) or 0
    runs = session.scalars(
        select(DetectionRun).order_by(DetectionRun.id.desc()).limit(limit).offset(offset)
    ).all()
    entries = session.execute(
        select(AuditEntry.object_id, AuditEntry.after).where(
            AuditEntry.action == "detection.run",
            AuditEntry.object_type == "detection_run",
            AuditEntry.object_id.in_([str(r.id) for r in runs]),
        )
    ).all()
    skipped = {
        oid: list((after or {}).get("skipped") or []) if isinstance(after, dict) else []
        for oid, after in entries
    }
    return [
        RunRow(
            r.id,
            r.at,
            r.actor,
            r.duration_seconds,
            r.detectors,
            r.series,
            r.signals,
            r.alarms,
            skipped.get(str(r.id), []),
        )
        for r in runs
    ], int(total)


def jurisdiction_names(
    session: Session, ids: Collection[int], jurisdiction_ids: Collection[int]
) -> dict[int, tuple[str, str, str | None]]:
    """(code, name, Chinese name) of each of ``ids`` that is among ``jurisdiction_ids``."""
    wanted = set(ids) & set(jurisdiction_ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(Jurisdiction.id, Jurisdiction.code, Jurisdiction.name, Jurisdiction.name_zh).where(
            Jurisdiction.id.in_(sorted(wanted))
        )
    ).all()
    return {jid: (code, name, name_zh) for jid, code, name, name_zh in rows}


def last_period(session: Session, series_id: int) -> int | None:
    """The newest period (ordinal) with an observation of the series, or None."""
    return session.scalar(
        select(func.max(Observation.period)).where(Observation.series_id == series_id)
    )


def detectors_of(session: Session, indicator_id: int) -> list[Detector]:
    """The detection configurations of an indicator, by id."""
    return list(
        session.scalars(
            select(Detector).where(Detector.indicator_id == indicator_id).order_by(Detector.id)
        )
    )
