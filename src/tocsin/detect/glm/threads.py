"""Threads of the GLM fits: the BLAS held to one thread around the many small matrix
products of a batch, and how many Python threads share the groups of a large batch."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from threadpoolctl import ThreadpoolController

#: Threads that share the groups of a large batch (numpy releases the GIL in its loops).
THREADS = max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))
#: Fewer values than this (``groups x responses x n_obs``) are fitted in one thread.
THREAD_MIN_VALUES = 200_000
#: A large batch is fitted in parts of about this many values, a few at a time in threads.
CHUNK_VALUES = 250_000
_local = threading.local()

_controller: ThreadpoolController | None = None
_blas_lock = threading.Lock()
_blas_holders = 0  # blocks in any thread that hold the BLAS to one thread
_blas_limit = None  # the limit context of the first of them, restored by the last


@contextlib.contextmanager
def blas_one_thread() -> Iterator[None]:
    """Hold the BLAS to one thread (process-wide) within this block, unless an enclosing
    block (or :func:`one_thread`) already does: the fits make many small matrix
    products, which BLAS threads only slow down. Blocks in several threads at once share
    one limit, set by the first to enter and lifted by the last to leave."""
    global _controller, _blas_holders, _blas_limit
    if getattr(_local, "blas_held", False):
        yield
        return
    with _blas_lock:
        if _blas_holders == 0:
            if _controller is None:
                _controller = ThreadpoolController()
            _blas_limit = _controller.limit(limits=1, user_api="blas")
        _blas_holders += 1
    _local.blas_held = True
    try:
        yield
    finally:
        _local.blas_held = False
        with _blas_lock:
            _blas_holders -= 1
            if _blas_holders == 0 and _blas_limit is not None:
                _blas_limit.restore_original_limits()
                _blas_limit = None


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Within this block (in this thread), fits start no threads of their own and leave
    the BLAS limit to the caller, who holds it with :func:`blas_one_thread` around the
    threads that it shares its work out over."""
    before = getattr(_local, "threads", None), getattr(_local, "blas_held", False)
    _local.threads, _local.blas_held = 1, True
    try:
        yield
    finally:
        _local.threads, _local.blas_held = before


def default_threads() -> int:
    """:data:`THREADS`, or 1 inside :func:`one_thread`."""
    return getattr(_local, "threads", None) or THREADS
