"""Evaluate the cells of a batch (periods x series) in chunks, on all cores.

Methods that fit a model per (period, series) cell (Farrington) hold arrays of
``periods x series x reference weeks``: for 104 weeks of 140 districts with five years of
reference weeks, about 28 MB per array and a peak near 1 GB; for one week of 10,000
series, 21 MB per array. Cut into chunks of consecutive periods (or, when a single
period is too large, of series), the same work keeps every array within a few MB: the
allocator reuses the memory of the previous chunk instead of asking the operating
system for fresh pages (whose first touch is costly, notably in a virtual machine), and
the arrays stay in the processor's caches. The cells are independent (every cell's fit
uses only its own series and reference periods), so the chunks run in
:data:`tocsin.detect.glm.threads.THREADS` threads (numpy releases the GIL in its loops) and the
results are the cells of the unchunked run.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.chunked import tune_allocator
from tocsin.detect.glm import threads as glm_threads

#: Target number of values (periods x series x reference periods) per chunk.
CHUNK_VALUES = 800_000


def run_in_cell_chunks(
    batch: SeriesBatch,
    compute: Callable[[SeriesBatch], DetectionResult],
    values_per_cell: int,
    *,
    chunk_values: int | None = None,
    threads: int | None = None,
) -> DetectionResult:
    """``compute(batch)``, computed on chunks of the batch's cells (evaluated periods x
    series) in ``threads`` threads (default :data:`tocsin.detect.glm.threads.THREADS`), with the
    model fits inside each chunk held to one thread.

    A chunk holds at most ``chunk_values`` values (default :data:`CHUNK_VALUES`), a cell
    ``values_per_cell`` (its reference periods): consecutive periods of every series, or,
    when one period of all series is already larger, one period of some of the series.
    The chunks are of equal size and as many as a multiple of the threads; a batch too
    small to be worth threads is computed at once. The results are joined in the order
    of the range and of the series."""
    target = CHUNK_VALUES if chunk_values is None else chunk_values
    workers = max(1, glm_threads.THREADS if threads is None else threads)
    k, n_series = batch.range, batch.n_series
    cells = max(1, target // max(1, values_per_cell))  # cells per chunk
    if n_series <= cells:
        by_period, by_series = -(-k.size // (cells // n_series)), 1
    else:
        by_period, by_series = k.size, -(-n_series // cells)
    small = k.size * n_series * values_per_cell < glm_threads.THREAD_MIN_VALUES
    if by_period * by_series == 1 and (workers == 1 or small):
        return compute(batch)
    tune_allocator()
    if by_series == 1 and by_period < workers:  # too few periods: share the series out
        by_series = min(n_series, workers)
    elif by_series == 1:
        by_period = min(k.size, -(-by_period // workers) * workers)
    else:
        by_series = min(n_series, -(-by_series // workers) * workers)
    periods = np.array_split(k, by_period)
    columns = np.array_split(np.arange(n_series), by_series)

    def one(task: tuple[np.ndarray, np.ndarray]) -> DetectionResult:
        piece, cols = task
        if cols.size == n_series:
            counts, population = batch.counts, batch.population
        else:
            counts = batch.counts[:, cols]
            population = None if batch.population is None else batch.population[:, cols]
        sub = SeriesBatch(counts, batch.freq, piece, batch.dates, population)
        with glm_threads.one_thread():
            return compute(sub)

    tasks = [(piece, cols) for piece in periods for cols in columns]
    workers = min(workers, len(tasks))
    with glm_threads.blas_one_thread():
        if workers <= 1:
            parts = [one(task) for task in tasks]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                parts = list(pool.map(one, tasks))
    rows = [
        DetectionResult.concatenate(parts[i : i + by_series], axis=1)
        for i in range(0, len(parts), by_series)
    ]
    return DetectionResult.concatenate(rows)
