"""Evaluate the periods of a batch in consecutive chunks, on all cores.

Methods that fit a model per (period, series) cell (Farrington) hold arrays of
``periods x series x reference weeks``: for 104 weeks of 140 districts with five years of
reference weeks, about 28 MB per array and a peak near 1 GB. Cut into chunks of a few
periods, the same work keeps every array within a few MB: the allocator reuses the memory
of the previous chunk instead of asking the operating system for fresh pages (whose first
touch is costly, notably in a virtual machine), and the arrays stay in the processor's
caches. The chunks are independent (every cell's fit uses only its own series and
reference periods), so they run in :data:`tocsin.detect.glm.THREADS` threads (numpy
releases the GIL in its loops) and the results are the cells of the unchunked run.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from tocsin.detect import glm
from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.chunked import tune_allocator

#: Target number of values (periods x series x reference periods) per chunk.
CHUNK_VALUES = 800_000


def run_in_period_chunks(
    batch: SeriesBatch,
    compute: Callable[[SeriesBatch], DetectionResult],
    values_per_period: int,
    *,
    chunk_values: int | None = None,
    threads: int | None = None,
) -> DetectionResult:
    """``compute(batch)``, computed on consecutive chunks of ``batch.range`` in ``threads``
    threads (default :data:`tocsin.detect.glm.THREADS`), with the model fits inside each
    chunk held to one thread. A chunk has at most ``chunk_values / values_per_period``
    periods (at least one; default :data:`CHUNK_VALUES`); the chunks are of equal size
    and as many as a multiple of the threads (a batch too small to be worth threads is
    computed at once). The results are joined in the order of the range."""
    target = CHUNK_VALUES if chunk_values is None else chunk_values
    per_chunk = max(1, target // max(1, values_per_period))
    workers = max(1, glm.THREADS if threads is None else threads)
    k = batch.range
    count = -(-k.size // per_chunk)
    if count == 1 and (workers == 1 or k.size * values_per_period < glm.THREAD_MIN_VALUES):
        return compute(batch)
    tune_allocator()
    count = min(k.size, -(-count // workers) * workers)
    pieces = np.array_split(k, count)

    def one(piece: np.ndarray) -> DetectionResult:
        sub = SeriesBatch(batch.counts, batch.freq, piece, batch.dates, batch.population)
        with glm.one_thread():
            return compute(sub)

    workers = min(workers, len(pieces))
    with glm.blas_one_thread():
        if workers <= 1:
            parts = [one(piece) for piece in pieces]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                parts = list(pool.map(one, pieces))
    return DetectionResult.concatenate(parts)
