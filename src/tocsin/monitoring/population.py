"""The population at risk of stored series, for detection methods that use it.

The store keeps population by jurisdiction and year (``jurisdiction_population``,
loaded with ``tocsin jurisdictions load-population``). A series uses the population of
its jurisdiction in the year of each period: the ISO year of a week (the year of its
Thursday), the calendar year of a month or a day. A year without a figure uses the
latest earlier year's (population figures are published with a delay, so the current
year usually has none yet); periods before the first stored year have no population.
A stratified series (an age group, say) uses the population of its stratum
(``stratum_population``, the same loader with a ``stratum`` column) when the store has
any figure of that stratum of its jurisdiction, and its jurisdiction's total otherwise:
with a log-population offset only the changes from year to year matter, and an age
group's can differ much from the total's (an ageing population: more old, fewer
young), which is why EuroMOMO-style excess-mortality monitoring takes each age group's
own population.

Since the population enters the result of every later period, a change of a year's
population marks every series of the jurisdiction as changed from the first period of
that year (a ``series_change`` without an ingest), so the next detection run
re-evaluates exactly what it affects (later years that use the figure included).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from tocsin.detect import InputDataError
from tocsin.monitoring.ingest import lock_indicators
from tocsin.monitoring.schemas import PERIOD_KIND, series_key
from tocsin.periods import PeriodKind, parse_periods, period_dates

#: How many series an error message names before it says "and N more".
NAMED_IN_ERRORS = 10


def period_years(kind: PeriodKind, ordinals: np.ndarray) -> np.ndarray:
    """The year of each period: ISO year of a week, calendar year of a month or day."""
    dates = period_dates(kind, np.asarray(ordinals, dtype=np.int64))
    if dates is None:
        raise ValueError("integer positions have no year")
    if kind is PeriodKind.WEEK:
        dates = dates + 3  # the Thursday decides the ISO year
    return dates.astype("datetime64[Y]").astype(np.int64) + 1970


def first_period_of_year(kind: PeriodKind, year: int) -> int:
    """The ordinal of the first period of ``year`` (ISO week 1 for weeks)."""
    label = {
        PeriodKind.WEEK: "{}-W01",
        PeriodKind.MONTH: "{}-01",
        PeriodKind.QUARTER: "{}-Q1",
        PeriodKind.DAY: "{}-01-01",
    }
    return int(parse_periods([label[kind].format(year)], kind=kind).ordinals[0])


def _stored(session: Session, indicator_id: int, last_year: int) -> np.ndarray:
    """(series id, year, population) of the series of the indicator up to ``last_year``,
    as floats: a series' stratum's figures when the store has any of them (whatever
    their years), its jurisdiction's total otherwise; one query of each by indicator
    (no list of series ids, which SQLite limits)."""
    strata = session.execute(
        text(
            "SELECT s.id, p.year, p.population FROM series s JOIN stratum_population p "
            "ON p.jurisdiction_id = s.jurisdiction_id AND p.stratum = s.stratum "
            "WHERE s.indicator_id = :i AND s.stratum <> ''"
        ),
        {"i": indicator_id},
    ).all()
    own = np.array(strata, dtype=np.float64).reshape(-1, 3)
    totals = session.execute(
        text(
            "SELECT s.id, p.year, p.population FROM series s JOIN jurisdiction_population p "
            "ON p.jurisdiction_id = s.jurisdiction_id "
            "WHERE s.indicator_id = :i AND p.year <= :y"
        ),
        {"i": indicator_id, "y": last_year},
    ).all()
    total = np.array(totals, dtype=np.float64).reshape(-1, 3)
    total = total[~np.isin(total[:, 0], own[:, 0])]
    return np.concatenate([total, own[own[:, 1] <= last_year]])


def population_matrix(
    session: Session,
    indicator_id: int,
    series_ids: np.ndarray,
    kind: PeriodKind,
    lo: int,
    n_periods: int,
) -> np.ndarray:
    """Population (periods ``lo .. lo + n_periods - 1``) x ``series_ids`` (sorted series
    of the indicator): the population of each series' jurisdiction in the year of the
    period, or in the latest earlier year that has a figure (figures are published
    late, so the current year has none yet); NaN before the first stored year."""
    ids = np.asarray(series_ids, dtype=np.int64)
    if ids.size == 0 or n_periods == 0:
        return np.full((n_periods, ids.size), np.nan)
    years = period_years(kind, lo + np.arange(n_periods))
    table = _stored(session, indicator_id, int(years.max()))
    table = table[np.isin(table[:, 0].astype(np.int64), ids)]
    stored_years = table[:, 1].astype(np.int64)
    base = int(min(years.min(), stored_years.min())) if table.size else int(years.min())
    by_year = np.full((int(years.max()) - base + 1, ids.size), np.nan)
    column = np.searchsorted(ids, table[:, 0].astype(np.int64))
    by_year[stored_years - base, column] = table[:, 2]
    by_year = pd.DataFrame(by_year).ffill().to_numpy()  # the latest earlier figure
    return by_year[years - base]


def population_at(
    session: Session,
    indicator_id: int,
    kind: PeriodKind,
    series_ids: np.ndarray,
    periods: np.ndarray,
) -> np.ndarray:
    """The population (as :func:`population_matrix` gives it) of row ``i``: series
    ``series_ids[i]`` of the indicator in period ``periods[i]``."""
    sid = np.asarray(series_ids, dtype=np.int64)
    per = np.asarray(periods, dtype=np.int64)
    if sid.size == 0:
        return np.zeros(0)
    ids = np.unique(sid)
    lo = int(per.min())
    matrix = population_matrix(session, indicator_id, ids, kind, lo, int(per.max()) - lo + 1)
    return matrix[per - lo, np.searchsorted(ids, sid)]


def check_population(
    session: Session,
    indicator_code: str,
    method: str,
    series_ids: np.ndarray,
    population: np.ndarray,
    needed: np.ndarray,
    kind: PeriodKind,
    lo: int,
    *,
    own_series: bool = False,
) -> None:
    """Raise :class:`InputDataError` naming every series (and year) whose population is
    missing (no figure for the year or an earlier one) or not positive where ``needed``
    (a boolean matrix like ``population``).
    ``own_series``: the configuration is that of the one series (``--series``)."""
    bad = needed & ~(population > 0)  # NaN compares False: missing counts as bad
    if not bad.any():
        return
    years = period_years(kind, lo + np.arange(population.shape[0]))
    columns = np.flatnonzero(bad.any(axis=0))
    named = columns[:NAMED_IN_ERRORS]
    names = _series_names(session, np.asarray(series_ids, dtype=np.int64)[named])
    described = []
    for col, name in zip(named.tolist(), names, strict=True):
        missing = np.unique(years[bad[:, col]]).tolist()
        noun = "year" if len(missing) == 1 else "years"
        described.append(f"{indicator_code} {name} ({noun} {_year_ranges(missing)})")
    more = columns.size - named.size
    listing = "; ".join(described) + (f"; and {more} more" if more > 0 else "")
    target = f"--indicator {indicator_code}" + (f" --series {names[0]}" if own_series else "")
    raise InputDataError(
        f"{method} is configured with population_offset=true, which needs the population of "
        "every period (a year without a figure uses the latest earlier one), but the store "
        f"has none, or none positive, for series {listing}. "
        "Load the population of their jurisdictions (or of their strata) with `tocsin "
        "jurisdictions load-population FILE` (columns code, year, population, and stratum "
        "for a stratum's own), or turn the offset off "
        f"with `tocsin detectors set {target} --method {method} --set population_offset=false`"
    )


def _series_names(session: Session, series_ids: np.ndarray) -> list[str]:
    rows = session.execute(
        text(
            "SELECT s.id, j.code, s.stratum FROM series s "
            "JOIN jurisdiction j ON j.id = s.jurisdiction_id WHERE s.id IN :ids"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": series_ids.tolist()},
    ).all()
    found = {sid: series_key(code, stratum) for sid, code, stratum in rows}
    return [found[int(s)] for s in series_ids]


def _year_ranges(years: list[int]) -> str:
    """``[2015, 2016, 2017, 2019]`` -> ``"2015-2017, 2019"``."""
    parts: list[str] = []
    start = prev = years[0]
    for year in [*years[1:], None]:
        if year is not None and year == prev + 1:
            prev = year
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if year is not None:
            start = prev = year
    return ", ".join(parts)


def mark_population_changes(session: Session, changed: Mapping[int, int]) -> int:
    """Mark the series of each jurisdiction in ``changed`` (jurisdiction id -> earliest
    year whose population was added or changed) as changed from the first period of that
    year, so the next detection run re-evaluates them from there. Series without
    observations from that year on are left alone. Returns the number of series marked.
    """
    if not changed:
        return 0
    # As an ingest does: series versions of an indicator are written by one transaction
    # at a time.
    indicator_ids = session.execute(
        text("SELECT DISTINCT indicator_id FROM series WHERE jurisdiction_id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": sorted(changed)},
    ).scalars()
    lock_indicators(session, list(indicator_ids))
    rows = session.execute(
        text(
            "SELECT s.id, s.jurisdiction_id, s.version, i.frequency, "
            "  (SELECT min(o.period) FROM observation o WHERE o.series_id = s.id), "
            "  (SELECT max(o.period) FROM observation o WHERE o.series_id = s.id) "
            "FROM series s JOIN indicator i ON i.id = s.indicator_id "
            "WHERE s.jurisdiction_id IN :ids ORDER BY s.id"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": sorted(changed)},
    ).all()
    marks = []
    for series_id, jurisdiction_id, version, frequency, first, last in rows:
        if first is None:
            continue
        kind = PERIOD_KIND[frequency]
        # Never before the series' first observation: runs lay periods out from the
        # first period of the series, as ``tocsin detect`` does with an exported file.
        from_period = max(first_period_of_year(kind, changed[jurisdiction_id]), int(first))
        if from_period > int(last):
            continue
        marks.append({"s": series_id, "v": version + 1, "p": from_period})
    if marks:
        session.execute(text("UPDATE series SET version = :v WHERE id = :s"), marks)
        session.execute(
            text(
                "INSERT INTO series_change (series_id, version, from_period, ingest_id) "
                "VALUES (:s, :v, :p, NULL)"
            ),
            marks,
        )
    return len(marks)
