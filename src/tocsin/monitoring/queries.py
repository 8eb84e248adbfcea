"""Reading monitoring data for the web: jurisdictions, indicators, series, observations,
signals and detectors; series to compare, population for rates, the history of detection
runs; reporting completeness (for the web and the command line).

Every function that lists takes the jurisdiction ids the caller may read (``readable``,
``jurisdiction_ids``) and returns nothing outside them; lists that the web pages return
the statement (``Select``) for :func:`tocsin.store.sql.page_rows` and
:func:`~tocsin.store.sql.count_rows`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from tocsin.audit.models import AuditEntry
from tocsin.errors import NotFoundError
from tocsin.monitoring.completeness import (
    WINDOW_PERIODS,
    Expected,
    Overdue,
    Status,
    Summary,
    expected,
    overdue_indicators,
    summarise,
)
from tocsin.monitoring.models import (
    DetectionRun,
    Detector,
    Indicator,
    Jurisdiction,
    JurisdictionPopulation,
    Observation,
    Series,
    Signal,
    StratumPopulation,
)
from tocsin.monitoring.population import population_at
from tocsin.monitoring.schemas import PERIOD_KIND
from tocsin.periods import PeriodKind, last_day

#: Rates are given per this many people (the usual incidence rate of surveillance).
RATE_PER = 100_000


@dataclass(frozen=True)
class ComparedSeries:
    """A series that can be drawn beside another: same indicator and stratum."""

    series_id: int
    code: str
    name: str
    name_zh: str | None
    relation: str  # "parent", "sibling", "child" or "stratum" (same place, other stratum)


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


def other_strata(session: Session, series: Series) -> list[ComparedSeries]:
    """The other series of ``series``' indicator in its jurisdiction: its other strata
    (e.g. the other age groups, and the total without a stratum), by stratum. Each is
    named by its stratum (empty for the total); relation ``"stratum"``."""
    rows = session.execute(
        select(Series.id, Series.stratum, Jurisdiction.code)
        .join(Jurisdiction, Jurisdiction.id == Series.jurisdiction_id)
        .where(
            Series.indicator_id == series.indicator_id,
            Series.jurisdiction_id == series.jurisdiction_id,
            Series.id != series.id,
        )
        .order_by(Series.stratum)
    ).all()
    return [ComparedSeries(sid, code, stratum, None, "stratum") for sid, stratum, code in rows]


def population_known(session: Session, jurisdiction_id: int, stratum: str = "") -> bool:
    """Whether the store has any population figure of the jurisdiction, or of its
    ``stratum`` (which a series of that stratum takes first)."""
    if stratum and session.scalar(
        select(func.count())
        .select_from(StratumPopulation)
        .where(
            StratumPopulation.jurisdiction_id == jurisdiction_id,
            StratumPopulation.stratum == stratum,
        )
    ):
        return True
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


def jurisdiction_by_code(session: Session, code: str, readable: frozenset[int]) -> Jurisdiction:
    """The jurisdiction ``code`` if the caller may read it, else :class:`NotFoundError`."""
    jurisdiction = session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))
    if jurisdiction is None or jurisdiction.id not in readable:
        raise NotFoundError(f"jurisdiction {code!r} does not exist")
    return jurisdiction


def jurisdiction_codes(session: Session, ids: Iterable[int | None] | None = None) -> dict[int, str]:
    """The code of each jurisdiction id in ``ids`` (``None``: of every jurisdiction)."""
    query = select(Jurisdiction.id, Jurisdiction.code)
    if ids is not None:
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return {}
        query = query.where(Jurisdiction.id.in_(wanted))
    return dict(session.execute(query).all())


def jurisdiction_code_names(session: Session, ids: Collection[int]) -> list[Any]:
    """``(code, name)`` of the jurisdictions ``ids``, by code."""
    return list(
        session.execute(
            select(Jurisdiction.code, Jurisdiction.name)
            .where(Jurisdiction.id.in_(ids))
            .order_by(Jurisdiction.code)
        ).all()
    )


def jurisdictions(
    readable: frozenset[int], *, parent_id: int | None = None, level: str | None = None
) -> Select[Any]:
    """The readable jurisdictions by code, optionally the children of ``parent_id`` or
    those of ``level``."""
    query = select(Jurisdiction).where(Jurisdiction.id.in_(readable)).order_by(Jurisdiction.code)
    if parent_id is not None:
        query = query.where(Jurisdiction.parent_id == parent_id)
    if level is not None:
        query = query.where(Jurisdiction.level == level)
    return query


def jurisdictions_by_name(
    session: Session, *, parent_id: int | None = None, ids: Collection[int] | None = None
) -> list[Jurisdiction]:
    """The children of ``parent_id``, or the jurisdictions ``ids``, by name."""
    if parent_id is not None:
        query = select(Jurisdiction).where(Jurisdiction.parent_id == parent_id)
    else:
        query = select(Jurisdiction).where(Jurisdiction.id.in_(ids or ()))
    return list(session.scalars(query.order_by(Jurisdiction.name)).all())


def root_ids(session: Session) -> set[int]:
    """The jurisdictions without a parent (the tops of the territory)."""
    return set(session.scalars(select(Jurisdiction.id).where(Jurisdiction.parent_id.is_(None))))


def outlines(session: Session, ids: Collection[int]) -> list[Any]:
    """``(id, code, name, geometry)`` of the jurisdictions ``ids`` that have an outline."""
    return list(
        session.execute(
            select(
                Jurisdiction.id, Jurisdiction.code, Jurisdiction.name, Jurisdiction.geometry
            ).where(Jurisdiction.id.in_(ids), Jurisdiction.geometry.is_not(None))
        ).all()
    )


# -- indicators ------------------------------------------------------------------------


def indicators() -> Select[Any]:
    """Every indicator, by code (indicators are not bound to a jurisdiction)."""
    return select(Indicator).order_by(Indicator.code)


def indicator_by_code(session: Session, code: str) -> Indicator:
    """The indicator ``code``, else :class:`NotFoundError`."""
    indicator = session.scalar(select(Indicator).where(Indicator.code == code))
    if indicator is None:
        raise NotFoundError(f"indicator {code!r} does not exist")
    return indicator


def indicator_names(session: Session, codes: Collection[str]) -> dict[str, tuple[str, str | None]]:
    """(name, Chinese name) of each indicator among ``codes`` (other codes are left out)."""
    if not codes:
        return {}
    rows = session.execute(
        select(Indicator.code, Indicator.name, Indicator.name_zh).where(
            Indicator.code.in_(sorted(set(codes)))
        )
    )
    return {code: (name, name_zh) for code, name, name_zh in rows}


def indicator_codes(session: Session) -> dict[int, str]:
    """The code of every indicator id."""
    return dict(session.execute(select(Indicator.id, Indicator.code)).all())


def frequency_of(session: Session, indicator_id: int | None) -> str | None:
    """The frequency (a :class:`~tocsin.periods.PeriodKind` value) of an indicator."""
    return session.scalar(select(Indicator.frequency).where(Indicator.id == indicator_id))


# -- series, observations, signals -----------------------------------------------------


def series(
    readable: frozenset[int],
    *,
    indicator: str | None = None,
    jurisdiction: str | None = None,
    stratum: str | None = None,
) -> Select[Any]:
    """``(id, indicator code, jurisdiction code, stratum, version)`` of the readable
    series, by indicator, jurisdiction and stratum."""
    query = (
        select(Series.id, Indicator.code, Jurisdiction.code, Series.stratum, Series.version)
        .join(Indicator, Indicator.id == Series.indicator_id)
        .join(Jurisdiction, Jurisdiction.id == Series.jurisdiction_id)
        .where(Series.jurisdiction_id.in_(readable))
        .order_by(Indicator.code, Jurisdiction.code, Series.stratum)
    )
    if indicator:
        query = query.where(Indicator.code == indicator)
    if jurisdiction:
        query = query.where(Jurisdiction.code == jurisdiction)
    if stratum is not None:
        query = query.where(Series.stratum == stratum)
    return query


def signals(
    readable: Collection[int],
    *,
    indicator: str | None = None,
    stratum: str | None = None,
    alarm: bool | None = None,
) -> Select[Any]:
    """``(Signal, method, indicator code, frequency, jurisdiction code, stratum)`` of the
    series in the jurisdictions ``readable``, newest period first; ``stratum`` selects one
    stratum of the series (``""``: the unstratified ones), ``alarm`` alarms or not."""
    query = (
        select(
            Signal,
            Detector.method,
            Indicator.code,
            Indicator.frequency,
            Jurisdiction.code,
            Series.stratum,
        )
        .join(Series, Series.id == Signal.series_id)
        .join(Detector, Detector.id == Signal.detector_id)
        .join(Indicator, Indicator.id == Series.indicator_id)
        .join(Jurisdiction, Jurisdiction.id == Series.jurisdiction_id)
        .where(Series.jurisdiction_id.in_(list(readable)))
        .order_by(Signal.period.desc(), Signal.series_id, Signal.detector_id)
    )
    if indicator:
        query = query.where(Indicator.code == indicator)
    if stratum is not None:
        query = query.where(Series.stratum == stratum)
    if alarm is not None:
        query = query.where(Signal.alarm.is_(alarm))
    return query


def series_jurisdictions(session: Session, indicator_id: int) -> set[int]:
    """The jurisdictions of the series of an indicator."""
    return set(
        session.scalars(select(Series.jurisdiction_id).where(Series.indicator_id == indicator_id))
    )


def series_of_jurisdiction(session: Session, jurisdiction_id: int) -> list[Any]:
    """``(id, indicator name, stratum, indicator name_zh)`` of a jurisdiction's series,
    by indicator name."""
    return list(
        session.execute(
            select(Series.id, Indicator.name, Series.stratum, Indicator.name_zh)
            .join(Indicator, Indicator.id == Series.indicator_id)
            .where(Series.jurisdiction_id == jurisdiction_id)
            .order_by(Indicator.name)
        ).all()
    )


def series_window(
    session: Session, series_id: int, lo: int | None, hi: int | None
) -> tuple[list[Any], list[Any]]:
    """Observations ``(period, value)`` and signals ``(Signal, method)`` of a series
    between two period ordinals (inclusive; either may be missing), by period."""
    obs = select(Observation.period, Observation.value).where(Observation.series_id == series_id)
    sig = (
        select(Signal, Detector.method)
        .join(Detector, Detector.id == Signal.detector_id)
        .where(Signal.series_id == series_id)
    )
    if lo is not None:
        obs, sig = obs.where(Observation.period >= lo), sig.where(Signal.period >= lo)
    if hi is not None:
        obs, sig = obs.where(Observation.period <= hi), sig.where(Signal.period <= hi)
    points = session.execute(obs.order_by(Observation.period)).all()
    signals = session.execute(sig.order_by(Signal.period, Signal.detector_id)).all()
    return list(points), list(signals)


def signals_between(
    session: Session, series_id: int, first: int, last: int, limit: int
) -> list[Any]:
    """The newest ``limit`` signals of a series between two period ordinals (inclusive),
    oldest first: period, observed, expected, upperbound, alarm, method, frequency."""
    return session.execute(
        select(
            Signal.period,
            Signal.observed,
            Signal.expected,
            Signal.upperbound,
            Signal.alarm,
            Detector.method,
            Indicator.frequency,
        )
        .join(Detector, Detector.id == Signal.detector_id)
        .join(Indicator, Indicator.id == Detector.indicator_id)
        .where(Signal.series_id == series_id, Signal.period >= first, Signal.period <= last)
        .order_by(Signal.period.desc(), Detector.method)
        .limit(limit)
    ).all()[::-1]


def newest_alarms(session: Session, ids: frozenset[int], limit: int) -> list[Any]:
    """The latest alarms of detectors in the jurisdictions ``ids``, newest period first:
    period, observed, upperbound, computed_at, method, series id, jurisdiction name,
    indicator name, frequency, jurisdiction name_zh, indicator name_zh.

    Period ordinals of different frequencies do not compare (a month's is larger than a
    week's of the same time), so each frequency is read on its own and the rows are
    merged by the last day of their period."""
    rows = []
    for frequency in PERIOD_KIND:
        rows += _newest_alarms_of(session, ids, limit, frequency)
    if len({r[8] for r in rows}) < 2:
        return rows[:limit]

    def end(row: Any) -> tuple:
        return (last_day(PeriodKind(row[8]), int(row[0])), row[3])

    return sorted(rows, key=end, reverse=True)[:limit]


def _newest_alarms_of(
    session: Session, ids: frozenset[int], limit: int, frequency: str
) -> list[Any]:
    return list(
        session.execute(
            select(
                Signal.period,
                Signal.observed,
                Signal.upperbound,
                Signal.computed_at,
                Detector.method,
                Series.id,
                Jurisdiction.name,
                Indicator.name,
                Indicator.frequency,
                Jurisdiction.name_zh,
                Indicator.name_zh,
            )
            .join(Series, Series.id == Signal.series_id)
            .join(Detector, Detector.id == Signal.detector_id)
            .join(Jurisdiction, Jurisdiction.id == Series.jurisdiction_id)
            .join(Indicator, Indicator.id == Series.indicator_id)
            .where(
                Signal.alarm.is_(True),
                Series.jurisdiction_id.in_(ids),
                Indicator.frequency == frequency,
            )
            .order_by(Signal.period.desc(), Signal.computed_at.desc())
            .limit(limit)
        ).all()
    )


# -- detectors -------------------------------------------------------------------------


def detectors(readable: frozenset[int]) -> Select[Any]:
    """``(Detector, indicator code)`` of the indicator-wide detectors and those of
    readable series, by id."""
    visible_series = select(Series.id).where(Series.jurisdiction_id.in_(readable))
    return (
        select(Detector, Indicator.code)
        .join(Indicator, Indicator.id == Detector.indicator_id)
        .where(Detector.series_id.is_(None) | Detector.series_id.in_(visible_series))
        .order_by(Detector.id)
    )


@dataclass(frozen=True)
class CompletenessReport:
    """Completeness of an area: every series-period due, and a summary per group."""

    rows: list[Expected]
    summaries: dict[int, Summary]
    overdue: list[Overdue]
    periods: int


def completeness(
    session: Session,
    readable: Iterable[int],
    groups: Mapping[int, Iterable[int]],
    *,
    now: dt.datetime,
    periods: int = WINDOW_PERIODS,
    status: Status | None = None,
) -> CompletenessReport:
    """The series-periods due in the window of the series in ``readable`` (of one
    ``status`` when given), and a :class:`Summary` per key of ``groups`` (e.g. each
    jurisdiction shown, over its readable subtree). Summaries count every status."""
    allowed = frozenset(readable)
    rows = expected(session, now=now, jurisdiction_ids=allowed, periods=periods)
    summaries = summarise(rows, {k: [j for j in v if j in allowed] for k, v in groups.items()})
    if status is not None:
        rows = [r for r in rows if r.status == status]
    return CompletenessReport(rows, summaries, overdue_indicators(session, now=now), periods)
