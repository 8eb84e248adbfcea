"""One task of a detection run: a configuration's method on some of its series, read
from the store and handed back as signals, without writing anything.

A detection run (:mod:`tocsin.monitoring.runs`) plans what each configuration must
evaluate (the series, the first period to read and the first to evaluate), cuts the
series into :class:`ChunkTask` objects, has each evaluated by :func:`evaluate_chunk`
(in its own process, or on the workers of a Dask cluster, :mod:`tocsin.monitoring.
cluster`) and writes the :class:`ChunkSignals` it gets back in its one transaction. A
chunk's result depends only on its series and on the planned periods, never on which
other series share its chunk, so a run gives the same signals however it is cut and
wherever its chunks run; and since only the run writes, a chunk computed twice (a Dask
task retried after its worker died) is still written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from tocsin.detect import DetectionResult, SeriesBatch, make_parameters
from tocsin.detect import run as run_method
from tocsin.monitoring.bulk import read_observations
from tocsin.monitoring.population import check_population, population_matrix
from tocsin.monitoring.schemas import PERIOD_KIND
from tocsin.periods import FREQUENCY, PeriodKind, period_dates
from tocsin.store.pause import pause_point

#: Cells (periods x series) per call of a method, to bound memory on first runs.
CELLS_PER_CALL = 400_000


@dataclass(frozen=True)
class ChunkTask:
    """What one task evaluates (plain data, so that it travels to a Dask worker).

    Attributes:
        method, parameters: the configuration's method and its stored parameters.
        indicator_id, indicator_code, frequency: the configuration's indicator.
        own_series: whether the configuration is a single series' own one.
        series_ids, dirty_from: the series of the chunk (sorted) and, for each, the
            first period whose signal may have changed.
        lo: the first period read (the same for every chunk of the configuration).
        first_eval: the first period evaluated (idem).
        need: the periods of history the method needs before ``first_eval``.
        sequential: whether the method's result depends on its earlier results (then
            every evaluated period is handed back, not only the changed ones).
    """

    method: str
    parameters: dict[str, Any]
    indicator_id: int
    indicator_code: str
    frequency: str
    own_series: bool
    series_ids: np.ndarray
    dirty_from: np.ndarray
    lo: int
    first_eval: int
    need: int
    sequential: bool


@dataclass
class ChunkSignals:
    """The signals of one chunk: one entry per (series, period) cell to write."""

    series_id: np.ndarray
    period: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    upperbound: np.ndarray
    alarm: np.ndarray
    score: np.ndarray
    tail_probability: np.ndarray
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)
    #: How many periods the chunk evaluated (0 when it had nothing new).
    periods: int = 0

    @classmethod
    def empty(cls) -> ChunkSignals:
        nothing = np.zeros(0)
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), *[nothing] * 6)

    def __len__(self) -> int:
        return int(self.series_id.size)


def evaluate_chunk(session: Session, task: ChunkTask) -> ChunkSignals:
    """Read the chunk's observations from ``task.lo`` on, run the method and return the
    cells to write: those inside each series' own span of data and, for a method that is
    not sequential, from the series' first changed period on."""
    pause_point("detect.chunk")  # a chunk evaluated, nothing handed back yet (tests)
    kind = PERIOD_KIND[task.frequency]
    params = make_parameters(task.method, task.parameters)
    rows = read_observations(session, task.series_ids, task.lo)
    sid, per, val = rows["series_id"], rows["period"], rows["value"]
    if per.size == 0 or task.first_eval > int(per.max()):
        return ChunkSignals.empty()
    lo, hi = task.lo, int(per.max())
    column = np.searchsorted(task.series_ids, sid)
    n_periods = hi - lo + 1
    counts = np.full((n_periods, task.series_ids.size), np.nan)
    counts[per - lo, column] = val
    has = np.zeros_like(counts, dtype=bool)
    has[per - lo, column] = True
    first_row = np.where(has.any(axis=0), has.argmax(axis=0), n_periods)
    last_row = np.where(has.any(axis=0), n_periods - 1 - has[::-1].argmax(axis=0), -1)
    dates = period_dates(kind, np.arange(lo, hi + 1)) if kind is PeriodKind.DAY else None
    population = None
    if getattr(params, "population_offset", False):
        population = population_matrix(
            session, task.indicator_id, task.series_ids, kind, lo, n_periods
        )
        check_population(
            session, task.indicator_code, task.method, task.series_ids, population,
            has, kind, lo, own_series=task.own_series,
        )  # fmt: skip
        # As in a file exported for ``tocsin detect``: population where there is a value.
        population[~has] = np.nan
    evaluated = np.arange(task.first_eval - lo, n_periods)
    n_series = task.series_ids.size
    per_call = max(1, CELLS_PER_CALL // max(1, evaluated.size + task.need))
    parts = []
    for start in range(0, n_series, per_call):
        cols = np.arange(start, min(start + per_call, n_series))
        batch = SeriesBatch(
            counts[:, cols],
            freq=FREQUENCY[kind],
            range=evaluated,
            dates=dates,
            population=None if population is None else population[:, cols],
        )
        result = run_method(task.method, batch, params)
        parts.append(_cells(task, result, cols, first_row, last_row))
    signals = _concatenate(parts)
    signals.periods = int(evaluated.size)
    return signals


def _cells(
    task: ChunkTask,
    result: DetectionResult,
    cols: np.ndarray,
    first_row: np.ndarray,
    last_row: np.ndarray,
) -> ChunkSignals:
    """The cells of ``result`` (columns ``cols`` of the chunk) that are new or may have
    changed."""
    periods = task.lo + result.range  # (K,)
    r, c = np.meshgrid(np.arange(result.range.size), np.arange(cols.size), indexing="ij")
    series_col = cols[c]
    row_in_span = result.range[r]
    keep = (row_in_span >= first_row[series_col]) & (row_in_span <= last_row[series_col])
    if not task.sequential:
        keep &= periods[r] >= task.dirty_from[series_col]
    r, c = r[keep], c[keep]
    return ChunkSignals(
        series_id=task.series_ids[cols[c]],
        period=periods[r],
        observed=result.observed[r, c],
        expected=result.expected[r, c],
        upperbound=result.upperbound[r, c],
        alarm=result.alarm[r, c],
        score=result.score[r, c],
        tail_probability=result.tail_probability[r, c],
        diagnostics={name: values[r, c] for name, values in result.diagnostics.items()},
    )


def _concatenate(parts: list[ChunkSignals]) -> ChunkSignals:
    if not parts:
        return ChunkSignals.empty()
    names = list(parts[0].diagnostics)
    return ChunkSignals(
        *(np.concatenate([getattr(p, name) for p in parts]) for name in _CELL_FIELDS),
        diagnostics={n: np.concatenate([p.diagnostics[n] for p in parts]) for n in names},
    )


#: The per-cell arrays of :class:`ChunkSignals`, in order.
_CELL_FIELDS = (
    "series_id",
    "period",
    "observed",
    "expected",
    "upperbound",
    "alarm",
    "score",
    "tail_probability",
)
