"""Detection runs: evaluate what is new or changed, with one ``tocsin.detect`` call per
configuration (chunked by series only to bound memory), and write the signals.

For every enabled configuration, the series to evaluate are those whose ``version``
grew since the configuration last saw them (:class:`DetectionState`); each is evaluated
from the earliest period any of those ingests changed (``series_change``) to its last
period, since a changed value can change the result of every later period. Periods are
laid out exactly as ``tocsin detect`` lays out the same data exported to a file (row 0
is the first period of the configuration's series, evaluation starts where the method
has the history it needs), so the signals equal what ``tocsin detect`` gives.

A method configured with ``population_offset=true`` gets the population of each series'
jurisdiction in the year of each period (:mod:`tocsin.monitoring.population`); a series
without it is an error that names the series and how to load it.

Methods whose result at a period depends on earlier *results* (CUSUM, GLR, thresholds
with hysteresis) are re-evaluated over their whole range whenever a series changes;
methods with a bounded look-back (Farrington-type reference windows) read only the
periods it reaches. Both are declared by each method in the registry
(:attr:`tocsin.detect.registry.Method.incremental` and ``lookback``).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tocsin.audit import default_actor, record
from tocsin.detect import DetectError, make_parameters, registry
from tocsin.errors import UserError
from tocsin.monitoring import indicators as indicator_service
from tocsin.monitoring.chunks import ChunkSignals, ChunkTask, evaluate_chunk
from tocsin.monitoring.models import (
    DetectionRun,
    DetectionState,
    Detector,
    Indicator,
    Series,
    Signal,
)
from tocsin.monitoring.schemas import PERIOD_KIND, RunSummary
from tocsin.periods import FREQUENCY
from tocsin.progress import ProgressCallback, StageProgressCallback
from tocsin.store.base import utcnow
from tocsin.store.engine import Dialect, dialect_of
from tocsin.store.pause import pause_point
from tocsin.store.sql import advisory_xact_lock

if TYPE_CHECKING:
    from tocsin.monitoring.cluster import DetectionCluster

#: The advisory lock that makes detection runs take turns (any bigint unused elsewhere).
DETECTION_LOCK = 0x74646574

#: Rows per signal upsert statement batch.
WRITE_BATCH = 20_000

#: ``progress(done, total)`` in series, per configuration.


@dataclass
class _Work:
    """The series of one configuration that need evaluation."""

    detector: Detector
    indicator: Indicator
    series_ids: np.ndarray
    versions: np.ndarray
    dirty_from: np.ndarray
    first_period: int  # the first period of all the configuration's series


def _targets_sql(detector: Detector, rebuild: bool) -> str:
    seen = "0" if rebuild else "COALESCE(ds.seen_version, 0)"
    own = (
        "s.id = :series"
        if detector.series_id is not None
        else "NOT EXISTS (SELECT 1 FROM detector o WHERE o.series_id = s.id "
        "AND o.method = :method AND o.indicator_id = :indicator)"
    )
    return (
        "SELECT s.id, s.version, COALESCE("
        "  (SELECT min(sc.from_period) FROM series_change sc "
        f"   WHERE sc.series_id = s.id AND sc.version > {seen}), "
        "  (SELECT min(ob.period) FROM observation ob WHERE ob.series_id = s.id), 0) AS dirty_from "
        "FROM series s LEFT JOIN detection_state ds "
        "  ON ds.series_id = s.id AND ds.detector_id = :detector "
        f"WHERE s.indicator_id = :indicator AND {own} AND s.version > {seen} "
        "ORDER BY s.id"
    )


def _plan(session: Session, detector: Detector, indicator: Indicator, rebuild: bool) -> _Work:
    params = {
        "detector": detector.id,
        "indicator": indicator.id,
        "method": detector.method,
        "series": detector.series_id,
    }
    sql = _targets_sql(detector, rebuild)
    if detector.series_id is None:
        params.pop("series")
    else:
        params.pop("method")
    rows = session.execute(text(sql), params).all()
    arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
    first = _first_period(session, indicator, detector, _CHANGED_PERIODS)
    if first is None:  # observations written by anything but ingest record no changes
        first = _first_period(session, indicator, detector, _OBSERVED_PERIODS)
    return _Work(
        detector, indicator, arr[:, 0], arr[:, 1], arr[:, 2], int(first if first is not None else 0)
    )


#: The first period of the series of an indicator, from the changes ingest recorded, and
#: from the observations themselves (for data written by anything but ingest).
_CHANGED_PERIODS = "SELECT min(p.from_period) FROM series_change p"
_OBSERVED_PERIODS = "SELECT min(p.period) FROM observation p"


def _first_period(
    session: Session, indicator: Indicator, detector: Detector, source: str
) -> int | None:
    """The first period of the configuration's series in ``source`` (one of the above)."""
    own = " AND s.id = :s" if detector.series_id is not None else ""
    params = {"i": indicator.id, **({"s": detector.series_id} if detector.series_id else {})}
    return session.execute(
        text(f"{source} JOIN series s ON s.id = p.series_id WHERE s.indicator_id = :i{own}"),
        params,
    ).scalar()


def _nan_to_none(values: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values.tolist()]


def _finite_or_none(values: np.ndarray) -> list[float | None]:
    """NaN and infinite values as None: an upper bound of ``-inf`` (EARS C3 when every
    value alarms) is stored as "no bound", never as a number people would read."""
    return [v if math.isfinite(v) else None for v in values.tolist()]


def _tasks(work: _Work, series_per_task: int | None) -> list[ChunkTask]:
    """The chunks of one configuration: every one reads from the same first period and
    evaluates from the same first period, whatever series it holds (see
    :mod:`tocsin.monitoring.chunks`)."""
    detector = work.detector
    kind = PERIOD_KIND[work.indicator.frequency]
    method = registry.get(detector.method)
    params = make_parameters(detector.method, detector.parameters)
    freq = FREQUENCY[kind]
    need = int(method.min_history(params, freq))
    # The registry says whether a method may evaluate only the changed periods
    # (incremental) and how far back its result may read (lookback).
    sequential = not method.incremental
    first_eval = work.first_period + need
    if not sequential:
        first_eval = max(first_eval, int(work.dirty_from.min()))
    lo = work.first_period
    if method.lookback is not None and not sequential:
        lo = max(lo, first_eval - max(need, int(method.lookback(params, freq))))
    size = series_per_task or work.series_ids.size
    return [
        ChunkTask(
            method=detector.method,
            parameters=dict(detector.parameters or {}),
            indicator_id=work.indicator.id,
            indicator_code=work.indicator.code,
            frequency=work.indicator.frequency,
            own_series=detector.series_id is not None,
            series_ids=work.series_ids[start : start + size],
            dirty_from=work.dirty_from[start : start + size],
            lo=lo,
            first_eval=first_eval,
            need=need,
            sequential=sequential,
        )
        for start in range(0, work.series_ids.size, size)
    ]


def _evaluate(
    session: Session,
    work: _Work,
    run_id: int,
    now: dt.datetime,
    progress: ProgressCallback | None,
    cluster: DetectionCluster | None,
) -> tuple[int, int, int]:
    """Evaluate one configuration, in this process or on ``cluster``, and write its
    signals; returns (periods evaluated, signals, alarms)."""
    tasks = _tasks(work, cluster.series_per_task if cluster else None)
    results = (
        cluster.evaluate(tasks)
        if cluster
        else ((task, evaluate_chunk(session, task)) for task in tasks)
    )
    periods = signals = alarms = done = 0
    for task, chunk in results:
        periods = max(periods, chunk.periods)
        written, raised = _write_signals(session, work.detector.id, chunk, run_id, now)
        signals += written
        alarms += raised
        done += int(task.series_ids.size)
        if progress:
            progress(done, int(work.series_ids.size))
    return periods, signals, alarms


def _write_signals(
    session: Session, detector_id: int, chunk: ChunkSignals, run_id: int, now: dt.datetime
) -> tuple[int, int]:
    """Upsert the signals of one chunk; returns (signals, alarms)."""
    if not len(chunk):
        return 0, 0
    names = list(chunk.diagnostics)
    columns = [_nan_to_none(chunk.diagnostics[name]) for name in names]
    diagnostics = (
        [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
        if names
        else [None] * len(chunk)
    )
    table = Signal.__table__
    insert = (postgresql if dialect_of(session) is Dialect.POSTGRESQL else sqlite).insert(table)
    upsert = insert.on_conflict_do_update(
        index_elements=["series_id", "detector_id", "period"],
        set_={
            name: insert.excluded[name]
            for name in (
                "observed", "expected", "upperbound", "alarm", "score", "tail_probability",
                "diagnostics", "computed_at", "run_id",
            )
        },
    )  # fmt: skip
    records = [
        {
            "series_id": s,
            "detector_id": detector_id,
            "period": p,
            "observed": o,
            "expected": e,
            "upperbound": u,
            "alarm": None if a is None else a > 0,
            "score": sc,
            "tail_probability": tp,
            "diagnostics": d,
            "computed_at": now,
            "run_id": run_id,
        }
        for s, p, o, e, u, a, sc, tp, d in zip(
            chunk.series_id.tolist(),
            chunk.period.tolist(),
            _nan_to_none(chunk.observed),
            _nan_to_none(chunk.expected),
            _finite_or_none(chunk.upperbound),
            _nan_to_none(chunk.alarm),
            _nan_to_none(chunk.score),
            _nan_to_none(chunk.tail_probability),
            diagnostics,
            strict=True,
        )
    ]
    for start in range(0, len(records), WRITE_BATCH):
        session.execute(upsert, records[start : start + WRITE_BATCH])
    return len(records), int(np.nansum(chunk.alarm > 0))


def _save_state(session: Session, work: _Work) -> None:
    table = DetectionState.__table__
    insert = (postgresql if dialect_of(session) is Dialect.POSTGRESQL else sqlite).insert(table)
    upsert = insert.on_conflict_do_update(
        index_elements=["detector_id", "series_id"],
        set_={"seen_version": insert.excluded.seen_version},
    )
    rows = [
        {"detector_id": work.detector.id, "series_id": s, "seen_version": v}
        for s, v in zip(work.series_ids.tolist(), work.versions.tolist(), strict=True)
    ]
    for start in range(0, len(rows), WRITE_BATCH):
        session.execute(upsert, rows[start : start + WRITE_BATCH])


def run_detection(
    session: Session,
    *,
    indicators: list[str] | None = None,
    rebuild: bool = False,
    actor: str | None = None,
    now: dt.datetime | None = None,
    progress: StageProgressCallback | None = None,
    cluster: DetectionCluster | None = None,
) -> RunSummary:
    """Run every enabled configuration (of ``indicators``, default all) on what is new.

    Writes in ``session``'s transaction (the caller commits). ``rebuild`` re-evaluates
    every period. A configuration whose method fails on the data is reported in
    ``skipped`` and retried next time; the others go on. With ``cluster`` (a Dask
    scheduler, :mod:`tocsin.monitoring.cluster`) the chunks of each configuration are
    evaluated on its workers; only this call writes, so the run is recorded once, all or
    nothing, with the same signals as in this process.

    Runs take turns across processes (a PostgreSQL advisory lock held until the caller
    commits, taken before anything is read): a second worker that starts while a run is
    being written waits, then finds the data evaluated and records no run of its own.
    """
    started = time.perf_counter()
    advisory_xact_lock(session, DETECTION_LOCK)
    query = select(Detector, Indicator).join(Indicator, Indicator.id == Detector.indicator_id)
    query = query.where(Detector.enabled.is_(True)).order_by(Detector.id)
    if indicators:
        ids = [indicator_service.get(session, code).id for code in indicators]
        query = query.where(Detector.indicator_id.in_(ids))
    configured = session.execute(query).all()
    summary = RunSummary()
    if not configured:
        scope = f" of {', '.join(indicators)}" if indicators else ""
        raise UserError(
            f"no enabled detection configuration{scope}; add one with `tocsin detectors set`"
        )
    work = [_plan(session, d, i, rebuild) for d, i in configured]
    work = [w for w in work if w.series_ids.size]
    if not work:
        return summary
    now = now or utcnow()
    run = DetectionRun(at=now, actor=actor or default_actor())
    session.add(run)
    session.flush()
    for item in work:
        label = f"{item.indicator.code} {item.detector.method}"
        step = (lambda done, total, label=label: progress(label, done, total)) if progress else None
        try:
            with session.begin_nested():
                periods, signals, alarms = _evaluate(session, item, run.id, now, step, cluster)
                _save_state(session, item)
        except DetectError as exc:
            summary.skipped.append(f"{label} (configuration {item.detector.id}): {exc}")
            continue
        pause_point("detect.mid-write")  # one configuration's signals written (tests)
        summary.detectors += 1
        summary.series += int(item.series_ids.size)
        summary.periods += periods
        summary.signals += signals
        summary.alarms += alarms
    run.detectors, run.series = summary.detectors, summary.series
    run.signals, run.alarms = summary.signals, summary.alarms
    run.duration_seconds = time.perf_counter() - started
    summary.run_id = run.id
    record(
        session,
        action="detection.run",
        object_type="detection_run",
        object_id=str(run.id),
        after=summary.model_dump(exclude={"run_id"}),
        actor=run.actor,
        at=now,
    )
    session.flush()
    pause_point("detect.before-commit")  # the whole run written, not committed (tests)
    return summary


def last_run(session: Session) -> DetectionRun | None:
    """The newest detection run (it is written in one transaction: once visible, it has
    finished), or None before the first."""
    return session.scalar(select(DetectionRun).order_by(DetectionRun.id.desc()).limit(1))


def pending_series(session: Session, jurisdiction_ids: Collection[int] | None = None) -> int:
    """How many series (of ``jurisdiction_ids``, default all) have data that an enabled
    detector has not evaluated yet: what the next detection run will take up."""
    query = (
        select(func.count(func.distinct(Series.id)))
        .select_from(Series)
        .join(
            Detector,
            (Detector.indicator_id == Series.indicator_id)
            & Detector.enabled.is_(True)
            & (Detector.series_id.is_(None) | (Detector.series_id == Series.id)),
        )
        .outerjoin(
            DetectionState,
            (DetectionState.series_id == Series.id) & (DetectionState.detector_id == Detector.id),
        )
        .where(Series.version > func.coalesce(DetectionState.seen_version, 0))
    )
    if jurisdiction_ids is not None:
        query = query.where(Series.jurisdiction_id.in_(list(jurisdiction_ids)))
    return int(session.scalar(query) or 0)
