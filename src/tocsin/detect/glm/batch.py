"""Batches of GLM fits: :func:`fit_poisson_glm`, which checks the input, gives each of
few active fits its own copy of its design, or shares a large batch's groups out over
threads, and runs the IRLS (:mod:`tocsin.detect.glm.irls`) on each part. Every group is
computed with the same operations whichever way it is run, so the results are bitwise
the same."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from tocsin.detect.glm.irls import irls, rows_of, shared_of
from tocsin.detect.glm.result import FIT_FIELDS, PoissonGLMFit
from tocsin.detect.glm.threads import (
    CHUNK_VALUES,
    THREAD_MIN_VALUES,
    blas_one_thread,
    default_threads,
)

#: Below this fraction of active fits, each active fit gets its own copy of its design.
SPARSE_FRACTION = 0.1

FIELD_TYPES = {"aliased": bool, "used": bool, "converged": bool, "failed": bool,
               "iterations": np.int64}  # fmt: skip


def fit_poisson_glm(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    *,
    active: np.ndarray | None = None,
    columns: np.ndarray | None = None,
    epsilon: float = 1e-8,
    maxit: int = 25,
    threads: int | None = None,
) -> PoissonGLMFit:
    """Fit stacked (quasi-)Poisson log-linear GLMs as R's ``glm.fit`` does.

    Args:
        X: design ``(G, n_obs, p)``, shared by the ``S`` responses of each group.
        y: responses ``(G, S, n_obs)`` or ``(G, n_obs)``; non-negative; NaN rows are
            dropped (as ``na.omit``).
        weights: prior weights, shape of ``y`` (default 1); rows of weight 0 are unused.
        offset: shape of ``y`` (default 0).
        active: bool of shape ``y.shape[:-1]``: fits to run (others are returned as
            failed, with NaN).
        columns: bool ``(p,)`` or ``y.shape[:-1] + (p,)``: the columns of ``X`` each fit
            uses (default all); the others are treated as aliased, so fits with
            different model formulas share one design array.
        epsilon, maxit: R's ``glm.control``.
        threads: threads sharing the groups of a large batch (default :data:`THREADS`).

    The BLAS is held to one thread meanwhile: the work is many small matrix products,
    which threads slow down (badly so on a shared machine). Instead, a large batch is
    split by groups (interleaved) over ``threads`` Python threads; every group is
    computed with the same operations as in one thread, so the results are bitwise
    the same.
    """
    with blas_one_thread():
        return _fit_poisson_glm(
            X, y, weights, offset, active=active, columns=columns, epsilon=epsilon,
            maxit=maxit, threads=default_threads() if threads is None else threads,
        )  # fmt: skip


def _fit_poisson_glm(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    *,
    active: np.ndarray | None = None,
    columns: np.ndarray | None = None,
    epsilon: float = 1e-8,
    maxit: int = 25,
    threads: int = 1,
    shared: tuple | None = None,
) -> PoissonGLMFit:
    """:func:`fit_poisson_glm` without the thread limit. ``shared`` (internal): the
    column pairs and the intercept column found on the whole batch, for its parts."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    single = y.ndim == 2
    if single:
        y = y[:, None, :]
    G, n, p = X.shape
    if y.shape[0] != G or y.shape[2] != n:
        raise ValueError(f"y has shape {y.shape}; expected ({G}, S, {n})")
    S = y.shape[1]
    shape = (G, S)

    def as3(a: np.ndarray | None, fill: float) -> np.ndarray:
        if a is None:
            return np.full(y.shape, fill)
        a = np.asarray(a, dtype=np.float64)
        return a[:, None, :] if single else np.broadcast_to(a, y.shape)

    prior_in = None if weights is None else as3(weights, 1.0)
    off_in = None if offset is None else as3(offset, 0.0)
    act = np.ones(shape, bool) if active is None else np.asarray(active, bool).reshape(shape)
    if shared is None and S > 1 and act.sum() < SPARSE_FRACTION * act.size:
        return _fit_few(
            X, y, prior_in, off_in, act, columns, single, epsilon=epsilon, maxit=maxit,
            threads=threads,
        )  # fmt: skip
    rows = rows_of(X, y, prior_in, off_in, columns, single)
    if shared is None:
        shared = shared_of(X, rows.used)
        if threads > 1 and G > 1 and G * S * n >= THREAD_MIN_VALUES:
            cols = None
            if columns is not None:
                cols = np.asarray(columns, bool)
                cols = np.broadcast_to(cols[:, None, :] if single and cols.ndim == 2 else cols,
                                       (G, S, p))  # fmt: skip
            return _fit_in_threads(
                X, y, prior_in, off_in, act, cols, single, min(threads, G), shared,
                epsilon=epsilon, maxit=maxit,
            )  # fmt: skip
    out = irls(rows, act, shared, epsilon=epsilon, maxit=maxit)
    if single:
        for name in FIT_FIELDS:
            setattr(out, name, getattr(out, name)[:, 0])
    return out


def _fit_few(
    X: np.ndarray,
    y: np.ndarray,
    prior: np.ndarray,
    off: np.ndarray,
    act: np.ndarray,
    columns: np.ndarray | None,
    single: bool,
    threads: int = 1,
    **control: float,
) -> PoissonGLMFit:
    """Few active fits among many: give each its own copy of its design (one fit per
    group), fit them, and put the results back in place (the others failed)."""
    G, S, n = y.shape
    p = X.shape[-1]
    gi, si = np.nonzero(act)
    cols = None
    if columns is not None:
        cols = np.broadcast_to(np.asarray(columns, bool), (G, S, p))[gi, si]
    # Nothing to fit when no fit is active (every model of a batch of zeros is null).
    sub = (
        None
        if gi.size == 0
        else _fit_poisson_glm(
            X[gi],
            y[gi, si],
            None if prior is None else prior[gi, si],
            None if off is None else off[gi, si],
            columns=cols,
            threads=threads,
            **control,  # type: ignore[arg-type]
        )
    )
    nan = np.nan
    full = {
        "coefficients": (nan, (p,)), "aliased": (True, (p,)), "eta": (nan, (n,)),
        "mu": (nan, (n,)), "y": (nan, (n,)), "used": (False, (n,)),
        "converged": (False, ()), "failed": (True, ()), "iterations": (0, ()),
        "deviance": (nan, ()), "working_weights": (0.0, (n,)),
        "cov_unscaled": (nan, (p, p)), "rank": (nan, ()), "df_residual": (nan, ()),
        "dispersion": (nan, ()),
    }  # fmt: skip
    fields = {}
    for name, (fill, tail) in full.items():
        arr = np.full((G, S, *tail), fill, dtype=FIELD_TYPES.get(name, np.float64))
        if sub is not None:
            arr[gi, si] = getattr(sub, name)
        fields[name] = arr[:, 0] if single else arr
    return PoissonGLMFit(**fields, X=X)


def _fit_in_threads(
    X: np.ndarray,
    y: np.ndarray,
    prior: np.ndarray,
    off: np.ndarray | None,
    act: np.ndarray,
    columns: np.ndarray | None,
    single: bool,
    threads: int,
    shared: tuple,
    **control: float,
) -> PoissonGLMFit:
    """Fit consecutive parts of about :data:`CHUNK_VALUES` values of the batch, ``threads``
    at a time, and put the parts together. ``y``, ``act`` and ``columns`` are full
    ``(G, S, ...)`` arrays, ``prior`` and ``off`` too or None; ``shared`` holds what
    depends on the whole batch."""
    G, n = X.shape[0], X.shape[1]
    per_part = max(1, CHUNK_VALUES // max(1, y.shape[1] * n))
    parts = [np.arange(k, min(G, k + per_part)) for k in range(0, G, per_part)]

    def one(idx: np.ndarray) -> PoissonGLMFit:
        return _fit_poisson_glm(
            X[idx], y[idx], None if prior is None else prior[idx],
            None if off is None else off[idx],
            active=act[idx], columns=None if columns is None else columns[idx],
            shared=shared, **control,  # type: ignore[arg-type]
        )  # fmt: skip

    with ThreadPoolExecutor(max_workers=threads) as pool:
        fits = list(pool.map(one, parts))
    fields = {}
    for name in FIT_FIELDS:
        first = getattr(fits[0], name)
        arr = np.empty((G, *first.shape[1:]), dtype=first.dtype)
        for idx, fit in zip(parts, fits, strict=True):
            arr[idx] = getattr(fit, name)
        fields[name] = arr[:, 0] if single else arr
    return PoissonGLMFit(**fields, X=X)
