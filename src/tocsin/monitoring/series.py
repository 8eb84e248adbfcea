"""Reading series: their values (now or as of a past moment) and their signals.

The value of a series in a period as of a moment ``t`` is the one written by the last
ingest at or before ``t``: the current row when its ingest is that old, otherwise the
revision that was current then.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from tocsin.errors import NotFoundError
from tocsin.files.tables import write_table
from tocsin.monitoring import indicators as indicator_service
from tocsin.monitoring.detectors import find_series
from tocsin.monitoring.population import population_at
from tocsin.monitoring.schemas import PERIOD_KIND, parse_series_key, series_key
from tocsin.periods import PeriodKind, format_periods
from tocsin.store.base import UTCDateTime

SIGNAL_COLUMNS = ("expected", "upperbound", "alarm", "score")


@dataclass
class SeriesView:
    """One series: its periods (ordinals), values, and signals by detector method."""

    indicator: str
    key: str
    kind: PeriodKind
    periods: np.ndarray
    values: np.ndarray
    #: ``{detector id: frame}`` with columns period, expected, upperbound, alarm (1.0,
    #: 0.0 or NaN), score and diagnostics (a dict), one row per period evaluated.
    signals: dict[int, pd.DataFrame] = field(default_factory=dict)
    #: ``{detector id: method}``.
    methods: dict[int, str] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return format_periods(self.kind, self.periods)

    def frame(self) -> pd.DataFrame:
        """Periods and values, and each detector's expected, upper bound and alarm."""
        out = pd.DataFrame({"period": self.labels, "value": self.values})
        for detector_id, signals in self.signals.items():
            method = self.methods.get(detector_id, str(detector_id))
            joined = pd.DataFrame({"p": self.periods}).merge(
                signals, left_on="p", right_on="period", how="left"
            )
            for name in ("expected", "upperbound", "alarm"):
                out[f"{method}.{name}"] = joined[name].to_numpy()
        return out


def _tuples(session: Session, statement: Any, params: dict[str, Any]) -> list[tuple]:
    """Rows as plain tuples (numpy and pandas are slow on SQLAlchemy ``Row`` objects)."""
    return [tuple(row) for row in session.execute(statement, params).all()]


def _values_now(session: Session, series_id: int) -> tuple[np.ndarray, np.ndarray]:
    rows = _tuples(
        session,
        text("SELECT period, value FROM observation WHERE series_id = :s ORDER BY period"),
        {"s": series_id},
    )
    arr = np.array(rows, dtype=np.float64).reshape(-1, 2)
    return arr[:, 0].astype(np.int64), arr[:, 1]


def values_as_of(
    session: Session, series_id: int, at: dt.datetime
) -> tuple[np.ndarray, np.ndarray]:
    """Periods and values of a series as they were at moment ``at``."""
    rows = _tuples(
        session,
        text(
            "SELECT o.period, o.value, i.at, i.id FROM observation o "
            "JOIN ingest i ON i.id = o.ingest_id "
            "WHERE o.series_id = :s AND i.at <= :t "
            "UNION ALL "
            "SELECT r.period, r.value, i.at, i.id FROM observation_revision r "
            "JOIN ingest i ON i.id = r.ingest_id "
            "JOIN ingest n ON n.id = r.superseded_by "
            "WHERE r.series_id = :s AND i.at <= :t AND n.at > :t"
        ).bindparams(bindparam("t", type_=UTCDateTime)),
        {"s": series_id, "t": at},
    )
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    frame = pd.DataFrame(rows, columns=["period", "value", "at", "id"])
    # One row per period: the value written last (by time, then ingest id) before ``at``.
    frame = frame.sort_values(["period", "id"]).drop_duplicates("period", keep="last")
    return frame["period"].to_numpy(dtype=np.int64), frame["value"].to_numpy(dtype=np.float64)


def _signals(session: Session, series_id: int) -> tuple[dict[int, pd.DataFrame], dict[int, str]]:
    """Signals of a series by detector (one frame each) and each detector's method."""
    rows = _tuples(
        session,
        text(
            "SELECT s.detector_id, d.method, s.period, s.expected, s.upperbound, "
            "CASE WHEN s.alarm THEN 1.0 WHEN NOT s.alarm THEN 0.0 END, s.score, "
            "CAST(s.diagnostics AS TEXT) FROM signal s JOIN detector d ON d.id = s.detector_id "
            "WHERE s.series_id = :s ORDER BY s.detector_id, s.period"
        ),
        {"s": series_id},
    )
    if not rows:
        return {}, {}
    detector_ids, methods, periods, expected, upper, alarm, score, diagnostics = zip(
        *rows, strict=True
    )
    numbers = np.array([expected, upper, alarm, score], dtype=np.float64)
    # One JSON document for all the diagnostics: far faster than one parse per row.
    parsed = json.loads("[" + ",".join(d or "null" for d in diagnostics) + "]")
    detector = np.asarray(detector_ids, dtype=np.int64)
    bounds = np.flatnonzero(np.diff(detector)) + 1
    frames, names = {}, {}
    for start, stop in zip([0, *bounds.tolist()], [*bounds.tolist(), detector.size], strict=True):
        frame = pd.DataFrame(
            dict(zip(SIGNAL_COLUMNS, numbers[:, start:stop], strict=True)),
            index=pd.Index(np.asarray(periods[start:stop], dtype=np.int64), name="period"),
        )
        frame["diagnostics"] = parsed[start:stop]
        frames[int(detector[start])] = frame.reset_index()
        names[int(detector[start])] = str(methods[start])
    return frames, names


def read_series(
    session: Session,
    indicator: str,
    key: str,
    *,
    as_of: dt.datetime | None = None,
    signals: bool = True,
) -> SeriesView:
    """The series ``key`` (``JURISDICTION[/STRATUM]``) of ``indicator``, with its signals.

    With ``as_of``, the values are those stored at that moment (signals are current).
    """
    series_id, frequency = _locate(session, indicator, key)
    found = _signals(session, series_id) if signals else ({}, {})
    if as_of is None:
        periods, values = _values_now(session, series_id)
    else:
        periods, values = values_as_of(session, series_id, as_of)
    return SeriesView(
        indicator=indicator,
        key=key,
        kind=PERIOD_KIND[frequency],
        periods=periods,
        values=values,
        signals=found[0],
        methods=found[1],
    )


def _locate(session: Session, indicator: str, key: str) -> tuple[int, str]:
    """Series id and frequency in one query; the detailed lookups explain a miss."""
    code, stratum = parse_series_key(key)
    found = _tuples(
        session,
        text(
            "SELECT s.id, i.frequency FROM series s JOIN indicator i ON i.id = s.indicator_id "
            "JOIN jurisdiction j ON j.id = s.jurisdiction_id "
            "WHERE i.code = :i AND j.code = :j AND s.stratum = :s"
        ),
        {"i": indicator, "j": code, "s": stratum},
    )
    if not found:
        find_series(session, indicator_service.get(session, indicator), key)  # raises
        raise NotFoundError(f"no series {key!r} of indicator {indicator}")  # pragma: no cover
    return int(found[0][0]), str(found[0][1])


def export(
    session: Session,
    indicator: str,
    destination: str | Path | None,
    *,
    as_of: dt.datetime | None = None,
) -> int:
    """Write every series of ``indicator`` as a long table ``period, series, value``
    (the input of ``tocsin detect``), with a ``population`` column (the population that
    detection runs use, see :mod:`tocsin.monitoring.population`; blank where there is
    none) when the store has population for any of them; returns the number of rows
    written.

    ``as_of`` applies to the values; the population is the one stored now.
    """
    ind = indicator_service.get(session, indicator)
    kind = PERIOD_KIND[ind.frequency]
    listing = session.execute(
        text(
            "SELECT s.id, j.code, s.stratum FROM series s "
            "JOIN jurisdiction j ON j.id = s.jurisdiction_id "
            "WHERE s.indicator_id = :i ORDER BY j.code, s.stratum"
        ),
        {"i": ind.id},
    ).all()
    if not listing:
        raise NotFoundError(f"indicator {ind.code} has no data")
    parts = []
    for series_id, code, stratum in listing:
        if as_of is None:
            periods, values = _values_now(session, series_id)
        else:
            periods, values = values_as_of(session, series_id, as_of)
        parts.append(
            pd.DataFrame(
                {
                    "p": periods,
                    "sid": series_id,
                    "series": series_key(code, stratum),
                    "value": values,
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    if ind.value_kind == "count":
        frame["value"] = frame["value"].astype("int64")
    population = population_at(
        session, ind.id, kind, frame.pop("sid").to_numpy(), frame["p"].to_numpy(dtype=np.int64)
    )
    population[~(population > 0)] = np.nan  # tocsin detect takes positive figures only
    if np.isfinite(population).any():
        frame["population"] = pd.Series(population).astype("Int64")  # blank where NaN
    frame.insert(0, "period", format_periods(kind, frame.pop("p").to_numpy()))
    write_table(frame, destination)
    return len(frame)
