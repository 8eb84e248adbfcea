"""Figures of the detection runs for monitoring (``/metrics``): read at scrape time.

Every run is one ``detection_run`` row (with its wall-clock duration and its sizes), so
the distribution of durations and sizes is counted in the database, whatever process
ran the detection, in the cumulative buckets of a Prometheus histogram.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from tocsin.monitoring.models import DetectionRun

#: Upper bounds (seconds) of the duration buckets: a run of a few series to a national run.
DURATION_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800)
#: Upper bounds of the size buckets (series evaluated by a run).
SERIES_BUCKETS = (10, 100, 1_000, 10_000, 100_000, 1_000_000)


@dataclass(frozen=True)
class Histogram:
    """Cumulative counts per upper bound (the last is ``+Inf``: every run), and the sum."""

    buckets: list[tuple[float, int]]
    total: float


@dataclass(frozen=True)
class RunFigures:
    runs: int
    duration: Histogram
    series: Histogram
    signals: int
    alarms: int


def _histogram(session: Session, column, bounds: Sequence[float]) -> Histogram:
    measured = column.is_not(None)
    counts = session.execute(
        select(
            *(func.sum(case((measured & (column <= b), 1), else_=0)) for b in bounds),
            func.sum(case((measured, 1), else_=0)),
            func.coalesce(func.sum(column), 0),
        )
    ).one()
    buckets = [(float(b), int(c or 0)) for b, c in zip(bounds, counts[:-2], strict=True)]
    buckets.append((float("inf"), int(counts[-2] or 0)))
    return Histogram(buckets, float(counts[-1]))


def run_figures(session: Session) -> RunFigures:
    """The runs so far: how many, their durations and sizes, the signals and alarms."""
    runs, signals, alarms = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(DetectionRun.signals), 0),
            func.coalesce(func.sum(DetectionRun.alarms), 0),
        ).select_from(DetectionRun)
    ).one()
    return RunFigures(
        runs=int(runs),
        duration=_histogram(session, DetectionRun.duration_seconds, DURATION_BUCKETS),
        series=_histogram(session, DetectionRun.series, SERIES_BUCKETS),
        signals=int(signals),
        alarms=int(alarms),
    )
