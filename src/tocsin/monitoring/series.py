"""Reading series: their values (now or as of a past moment) and their signals.

The value of a series in a period as of a moment ``t`` is the one written by the last
ingest at or before ``t``: the current row when its ingest is that old, otherwise the
revision that was current then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from tocsin.errors import NotFoundError
from tocsin.monitoring import indicators as indicator_service
from tocsin.monitoring.detectors import find_series, series_key
from tocsin.monitoring.schemas import PERIOD_KIND
from tocsin.periods import PeriodKind, format_periods
from tocsin.store.base import UTCDateTime
from tocsin.tables import write_table

SIGNAL_COLUMNS = ("expected", "upperbound", "alarm", "score")


@dataclass
class SeriesView:
    """One series: its periods (ordinals), values, and signals by detector method."""

    indicator: str
    key: str
    kind: PeriodKind
    periods: np.ndarray
    values: np.ndarray
    #: ``{detector id: frame}`` with columns period, method, expected, upperbound, alarm,
    #: score and diagnostics (a dict), one row per period evaluated.
    signals: dict[int, pd.DataFrame] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return format_periods(self.kind, self.periods)

    def frame(self) -> pd.DataFrame:
        """Periods and values, and each detector's expected, upper bound and alarm."""
        out = pd.DataFrame({"period": self.labels, "value": self.values})
        for detector_id, signals in self.signals.items():
            method = signals["method"].iat[0] if len(signals) else str(detector_id)
            joined = pd.DataFrame({"p": self.periods}).merge(
                signals, left_on="p", right_on="period", how="left"
            )
            for column in ("expected", "upperbound", "alarm"):
                out[f"{method}.{column}"] = joined[column].to_numpy()
        return out


def _values_now(session: Session, series_id: int) -> tuple[np.ndarray, np.ndarray]:
    rows = session.execute(
        text("SELECT period, value FROM observation WHERE series_id = :s ORDER BY period"),
        {"s": series_id},
    ).all()
    arr = np.array(rows, dtype=np.float64).reshape(-1, 2)
    return arr[:, 0].astype(np.int64), arr[:, 1]


def values_as_of(
    session: Session, series_id: int, at: dt.datetime
) -> tuple[np.ndarray, np.ndarray]:
    """Periods and values of a series as they were at moment ``at``."""
    rows = session.execute(
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
    ).all()
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    frame = pd.DataFrame(rows, columns=["period", "value", "at", "id"])
    # One row per period: the value written last (by time, then ingest id) before ``at``.
    frame = frame.sort_values(["period", "id"]).drop_duplicates("period", keep="last")
    return frame["period"].to_numpy(dtype=np.int64), frame["value"].to_numpy(dtype=np.float64)


def _signals(session: Session, series_id: int) -> dict[int, pd.DataFrame]:
    rows = session.execute(
        text(
            "SELECT s.detector_id, d.method, s.period, s.expected, s.upperbound, s.alarm, "
            "s.score, s.diagnostics FROM signal s JOIN detector d ON d.id = s.detector_id "
            "WHERE s.series_id = :s ORDER BY s.detector_id, s.period"
        ),
        {"s": series_id},
    ).all()
    if not rows:
        return {}
    columns = ["detector_id", "method", "period", *SIGNAL_COLUMNS, "diagnostics"]
    frame = pd.DataFrame(rows, columns=columns)
    return {
        int(d): group.drop(columns="detector_id").reset_index(drop=True)
        for d, group in frame.groupby("detector_id", sort=True)
    }


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
    ind = indicator_service.get(session, indicator)
    series = find_series(session, ind, key)
    if as_of is None:
        periods, values = _values_now(session, series.id)
    else:
        periods, values = values_as_of(session, series.id, as_of)
    return SeriesView(
        indicator=ind.code,
        key=key,
        kind=PERIOD_KIND[ind.frequency],
        periods=periods,
        values=values,
        signals=_signals(session, series.id) if signals else {},
    )


def export(
    session: Session,
    indicator: str,
    destination: str | Path | None,
    *,
    as_of: dt.datetime | None = None,
) -> int:
    """Write every series of ``indicator`` as a long table ``period, series, value``
    (the input of ``tocsin detect``); returns the number of rows written."""
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
            pd.DataFrame({"p": periods, "series": series_key(code, stratum), "value": values})
        )
    frame = pd.concat(parts, ignore_index=True)
    if ind.value_kind == "count":
        frame["value"] = frame["value"].astype("int64")
    frame.insert(0, "period", format_periods(kind, frame.pop("p").to_numpy()))
    write_table(frame, destination)
    return len(frame)
