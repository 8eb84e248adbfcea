"""Run a method over many series in chunks, so that memory stays bounded.

A million daily series over a year is 2.9 GB of float64 counts, more than a worker should
hold at once with the method's intermediate arrays. :func:`run_chunked` takes the series
in chunks (columns of one matrix, or any iterable of matrices, e.g. read from storage or
generated on the fly), runs the method on each chunk and yields the results in order.
Chunks of about a thousand series keep the intermediate arrays small enough to stay in
the processor's cache; numpy releases the GIL in its loops, so ``workers=2`` runs two
chunks at a time on two cores.

    >>> total = sum(np.nansum(r.alarm) for r in run_chunked("ears_c1", counts, freq=365,
    ...                                                        range=range(28, 365)))
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from tocsin.detect.base import DetectionResult, SeriesBatch
from tocsin.detect.params import Parameters
from tocsin.detect.registry import make_parameters, run

DEFAULT_CHUNK_SERIES = 1024

_M_TRIM_THRESHOLD = -1  # glibc mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_allocator_tuned = False


def tune_allocator() -> bool:
    """Ask glibc's ``malloc`` to keep freed memory for reuse rather than return it to the
    operating system (``mallopt``: mmap threshold 32 MiB, trim threshold 1 GiB), for
    processes that run many chunks. Process-wide and idempotent; returns whether it was
    applied (False where the C library is not glibc)."""
    global _allocator_tuned
    if _allocator_tuned:
        return True
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    applied = bool(mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)) and bool(
        mallopt(_M_TRIM_THRESHOLD, 2**30)
    )
    _allocator_tuned = applied
    return applied


def iter_column_chunks(counts: np.ndarray, chunk_series: int) -> Iterator[np.ndarray]:
    """Consecutive blocks of at most ``chunk_series`` columns (series) of ``counts``, each
    copied into a contiguous float64 array."""
    for start in range(0, counts.shape[1], chunk_series):
        yield np.ascontiguousarray(counts[:, start : start + chunk_series], dtype=np.float64)


def run_chunked(
    name: str,
    counts: np.ndarray | Iterable[np.ndarray],
    *,
    freq: int,
    range: Iterable[int] | np.ndarray,
    params: Mapping[str, Any] | Parameters | None = None,
    dates: np.ndarray | None = None,
    chunk_series: int = DEFAULT_CHUNK_SERIES,
    workers: int = 1,
    keep_freed_memory: bool = True,
) -> Iterator[DetectionResult]:
    """Run method ``name`` on chunks of series; yield one :class:`DetectionResult` per chunk,
    in order.

    Args:
        name: registered method name.
        counts: a matrix (periods x series), split into chunks of ``chunk_series`` columns,
            or an iterable of such matrices (all with the same periods), consumed lazily.
        freq, range, dates: as in :class:`SeriesBatch`, shared by every chunk.
        params: the method's parameters (validated once).
        workers: chunks computed at the same time, in threads (at most ``workers + 1``
            chunks are held at once besides the ones the caller keeps).
        keep_freed_memory: call :func:`tune_allocator` first.
    """
    if keep_freed_memory:
        tune_allocator()
    p = make_parameters(name, params)
    positions = np.asarray(list(range) if not isinstance(range, np.ndarray) else range)
    is_matrix = isinstance(counts, np.ndarray)
    chunks = iter_column_chunks(counts, chunk_series) if is_matrix else counts

    def one(chunk: np.ndarray) -> DetectionResult:
        return run(name, SeriesBatch(chunk, freq, positions, dates=dates), p)

    if workers <= 1:
        for chunk in chunks:
            yield one(chunk)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[DetectionResult]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(one, chunk))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
