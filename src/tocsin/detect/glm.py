"""A batched fitter for many small Poisson / quasi-Poisson GLMs with log link.

It replicates R's ``stats::glm.fit`` (iteratively reweighted least squares) step by step,
so that each fit stops at exactly the iteration where R's would and gives the same
coefficients, working weights, dispersion and standard errors to rounding:

* starting values ``mustart = y + 0.1`` (the ``poisson``/``quasipoisson`` family's
  ``initialize``), ``eta = log(mustart)`` (without the offset);
* ``mu = linkinv(eta) = max(exp(eta), eps)`` and ``mu.eta`` the same;
* convergence when ``|dev - devold| / (|dev| + 0.1) < epsilon`` (1e-8), at most
  ``maxit`` (25) iterations; non-finite coefficients end a fit as *not converged*;
  a non-finite deviance halves the step as R does (at the first iteration R stops with
  an error: the fit is marked *failed*);
* the working weights, the covariance ``(X' W X)^-1`` and hat values belong to the last
  iteration's weighted least-squares problem (the weights computed from the ``mu`` of the
  iteration before), exactly as ``glm.fit`` stores ``weights`` and ``qr``;
* dispersion as ``summary.glm`` for a quasi family: Pearson's chi-squared (working
  weights times squared working residuals) over ``df.residual = n_ok - rank``.

Fits are stacked: a design ``X`` of shape ``(G, n_obs, p)`` is shared by ``S`` responses
``y`` of shape ``(G, S, n_obs)`` (pass ``(G, n_obs)`` for one response per design). Windows
of different sizes are padded with rows of prior weight zero, which count for nothing, as
R's dropping of those rows. All fits iterate in lockstep with per-fit convergence masks
(a converged fit keeps its coefficients; groups whose fits have all stopped are dropped;
when few fits of a batch are to be run, each gets its own copy of its design). Per
iteration, ``X' W X`` of every fit is one batched matrix product of the weights with the
products of the design's column pairs that are not identically zero, ``X' W z`` another,
and the systems are solved by a Cholesky factorisation vectorised over all fits (``p``
steps of array operations). The deviance uses ``sum w y log mu = beta . X'(w y)`` so that
each iteration makes only a few passes over the ``(fits, n_obs)`` arrays. A column that
is zero on every row used by a fit is *aliased* (R: coefficient ``NA`` after pivoting in
the QR): its coefficient is 0 and it does not count in the rank.

Reference: R Core Team, ``stats::glm.fit`` (R 4.2); McCullagh and Nelder (1989),
*Generalized Linear Models*, 2nd ed., section 2.5 (IRLS).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import stats
from threadpoolctl import ThreadpoolController

EPS = float(np.finfo(np.float64).eps)
LOG_EPS = float(np.log(EPS))
#: Below this fraction of active fits, each active fit gets its own copy of its design.
SPARSE_FRACTION = 0.1
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


_FIT_FIELDS = (
    "coefficients", "aliased", "eta", "mu", "y", "used", "converged", "failed", "iterations",
    "deviance", "working_weights", "cov_unscaled", "rank", "df_residual", "dispersion",
)  # fmt: skip


@dataclass
class PoissonGLMFit:
    """The result of :func:`fit_poisson_glm`; leading dimensions are ``y.shape[:-1]``.

    Attributes:
        coefficients: ``(..., p)``; 0 for aliased columns.
        aliased: ``(..., p)`` bool.
        eta, mu: ``(..., n_obs)`` linear predictor (with offset) and fitted means.
        y: ``(..., n_obs)`` the responses (0 on unused rows).
        used: ``(..., n_obs)`` bool: rows in the fit (prior weight > 0, count present).
        converged: ``(...)`` bool, R's ``converged``.
        failed: ``(...)`` bool: R would have stopped with an error (or was never run).
        iterations: ``(...)`` number of IRLS iterations done.
        deviance: ``(...)``.
        working_weights: ``(..., n_obs)`` R's ``weights`` (0 on unused rows).
        cov_unscaled: ``(..., p, p)`` ``(X' W X)^-1`` (zero rows/columns where aliased).
        rank, df_residual: ``(...)`` integers as floats.
        dispersion: ``(...)`` Pearson chi-squared / df.residual (NaN when df is 0).
        X: the design ``(G, n_obs, p)``.
    """

    coefficients: np.ndarray
    aliased: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    y: np.ndarray
    used: np.ndarray
    converged: np.ndarray
    failed: np.ndarray
    iterations: np.ndarray
    deviance: np.ndarray
    working_weights: np.ndarray
    cov_unscaled: np.ndarray
    rank: np.ndarray
    df_residual: np.ndarray
    dispersion: np.ndarray
    X: np.ndarray

    def where(self, mask: np.ndarray, other: PoissonGLMFit) -> PoissonGLMFit:
        """A fit taking each field from ``self`` where ``mask`` and from ``other``
        elsewhere (both fits of the same design)."""
        mask = np.asarray(mask, bool)
        fields = {}
        for name in _FIT_FIELDS:
            a, b = getattr(self, name), getattr(other, name)
            m = mask.reshape(mask.shape + (1,) * (a.ndim - mask.ndim))
            fields[name] = np.where(m, a, b)
        return PoissonGLMFit(**fields, X=self.X)

    def hat_values(self) -> np.ndarray:
        """Diagonal of the hat matrix of the last weighted least-squares problem, set to 1
        above ``1 - 10 eps`` (R's ``lm.influence``); 0 on unused rows."""
        return self.hat_values_at(tuple(np.indices(self.y.shape).reshape(self.y.ndim, -1))).reshape(
            self.y.shape
        )

    def hat_values_at(self, index: tuple[np.ndarray, ...], chunk: int = 1 << 17) -> np.ndarray:
        """:meth:`hat_values` at the entries ``index`` of the ``(..., n_obs)`` arrays only
        (e.g. those with a positive count): ``w_i x_i' (X'WX)^-1 x_i`` from the products
        of the column pairs that are not identically zero, in chunks of ``chunk`` entries."""
        X = self.X  # (G, n, p)
        p = X.shape[-1]
        pi, pj = _nonzero_pairs(X)
        twice = np.where(pi == pj, 1.0, 2.0)
        lead = self.coefficients.shape[:-1]
        cov = self.cov_unscaled.reshape(-1, p, p)[:, pi, pj] * twice  # (fits, q)
        fit_of = np.ravel_multi_index(index[:-1], lead) if len(lead) else np.zeros(0, int)
        group_of = index[0]
        row_of = index[-1]
        out = np.empty(row_of.size)
        for lo in range(0, row_of.size, chunk):
            sl = slice(lo, lo + chunk)
            g, i, f = group_of[sl], row_of[sl], fit_of[sl]
            pairs = X[g, i][:, pi] * X[g, i][:, pj]  # (m, q)
            out[sl] = np.einsum("mq,mq->m", pairs, cov[f])
        hat = self.working_weights[index] * out
        hat[hat > 1.0 - 10.0 * EPS] = 1.0
        return hat

    def predict(
        self, x0: np.ndarray, offset0: np.ndarray | float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Linear predictor at new rows ``x0`` (``(..., p)``, broadcast against the fits)
        and its unscaled standard error ``sqrt(x0' (X'WX)^-1 x0)`` (R's ``predict.lm``
        with ``scale = 1``). Aliased coefficients count as 0."""
        x0 = np.broadcast_to(x0, self.coefficients.shape)
        x0 = np.where(self.aliased, 0.0, x0)
        eta0 = np.einsum("...p,...p->...", x0, self.coefficients) + offset0
        var = np.einsum("...p,...pq,...q->...", x0, self.cov_unscaled, x0)
        return eta0, np.sqrt(np.maximum(var, 0.0))

    def coefficient_pvalue(self, j: int, dispersion: np.ndarray | None = None) -> np.ndarray:
        """Two-sided p-value of coefficient ``j`` as ``summary.glm`` for a quasi family:
        ``2 * pt(-|t|, df.residual)`` with ``t = beta / sqrt(dispersion * cov_jj)``."""
        disp = self.dispersion if dispersion is None else dispersion
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(disp * self.cov_unscaled[..., j, j])
            t = self.coefficients[..., j] / se
            p = 2.0 * stats.t.sf(np.abs(t), self.df_residual)
        return np.where(self.aliased[..., j] | (self.df_residual <= 0), np.nan, p)


def _nonzero_pairs(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``i <= j`` of columns of the design ``(..., n, p)`` that are non-zero
    together on some row: ``X' W X`` has no other non-zero entries."""
    nz = (X != 0).reshape(-1, X.shape[-1]).astype(np.float64)
    return np.nonzero(np.triu(nz.T @ nz > 0))


def _distinct_columns(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns of ``M`` without repeats (``first``: where each distinct column is) and for
    every column the index of its distinct one (``M[:, first][:, expand] == M``): the
    products of a dummy with the intercept and with itself are equal, so ``X' W X`` needs
    them once. Candidates are found by a random projection and checked exactly."""
    key = np.random.default_rng(0).uniform(1.0, 2.0, M.shape[0]) @ M
    first: list[int] = []
    expand = np.empty(M.shape[1], np.int64)
    for j in range(M.shape[1]):
        for k, f in enumerate(first):
            if key[f] == key[j] and np.array_equal(M[:, f], M[:, j]):
                expand[j] = k
                break
        else:
            expand[j] = len(first)
            first.append(j)
    return np.array(first, np.int64), expand


def _pearson(w: np.ndarray, y: np.ndarray, mu: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """``sum w ((y - mu) / mu)^2`` over the last axis, where the working residual of a
    zero count is exactly -1: the sum of all ``w`` corrected at the ``positive`` entries
    (flat indices) only."""
    n = y.shape[-1]
    w_pos = w.ravel()[positive]
    mu_pos = mu.ravel()[positive]
    r = (y.ravel()[positive] - mu_pos) / mu_pos
    fix = np.bincount(positive // n, w_pos * (r * r - 1.0), w[..., 0].size)
    return w.sum(-1) + fix.reshape(w.shape[:-1])


def _equilibrate(A: np.ndarray, aliased: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``A`` with aliased rows/columns replaced by the identity, and the scale ``d`` that
    brings its diagonal to 1 (``D A D``), for a better-conditioned solve."""
    p = A.shape[-1]
    eye = np.eye(p, dtype=bool)
    mask = aliased[..., :, None] | aliased[..., None, :]
    A = np.where(mask, np.where(eye, 1.0, 0.0), A)
    diag = np.abs(np.diagonal(A, axis1=-2, axis2=-1))
    d = np.where((diag > 0) & np.isfinite(diag), 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 1.0)
    return A * d[..., :, None] * d[..., None, :], d


def _batched_solve(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``numpy.linalg.solve`` on a stack; NaN for the singular systems only."""
    try:
        return np.linalg.solve(A, B)
    except np.linalg.LinAlgError:
        p = A.shape[-1]
        flat_A, flat_B = A.reshape(-1, p, p), np.broadcast_to(B, A.shape[:-1] + B.shape[-1:])
        flat_B = flat_B.reshape(-1, p, B.shape[-1])
        out = np.full(flat_B.shape, np.nan)
        for i in range(flat_A.shape[0]):  # failure path only: find the singular systems
            with contextlib.suppress(np.linalg.LinAlgError):
                out[i] = np.linalg.solve(flat_A[i], flat_B[i])
        return out.reshape(B.shape)


def _solve_packed(
    A_q: np.ndarray, pi: np.ndarray, pj: np.ndarray, b: np.ndarray, aliased: np.ndarray
) -> np.ndarray:
    """Solve the stacked symmetric positive definite systems ``A x = b``, ``A`` given by
    its entries ``A[pi, pj] = A_q`` (upper triangle, the rest 0), by a Cholesky
    factorisation vectorised over the stack (``p`` steps of array operations on arrays
    laid out ``(p, p, n_fits)``); aliased coefficients are 0. A system that is not
    positive definite gives NaN (R: non-finite coefficients)."""
    p = b.shape[-1]
    lead = b.shape[:-1]
    al = aliased.reshape(-1, p).T  # (p, F)
    L = np.zeros((p, p, al.shape[1]))
    L[pj, pi] = A_q.reshape(-1, pi.size).T
    if al.any():
        keep = ~(al[:, None, :] | al[None, :, :])
        L *= keep
        diag = np.arange(p)
        L[diag, diag] += al
    x = np.where(al, 0.0, b.reshape(-1, p).T)
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in range(p):
            d = np.sqrt(L[k, k])
            L[k, k] = d
            L[k + 1 :, k] /= d
            col = L[k + 1 :, k]
            L[k + 1 :, k + 1 :] -= col[:, None, :] * col[None, :, :]
        for k in range(p):  # L z = b
            x[k] /= L[k, k]
            x[k + 1 :] -= L[k + 1 :, k] * x[k]
        for k in range(p - 1, -1, -1):  # L' x = z
            x[k] /= L[k, k]
            x[:k] -= L[k, :k] * x[k]
    return np.where(aliased, 0.0, x.T.reshape(*lead, p))


@dataclass(frozen=True)
class _Blocks:
    """A partition of the design's columns for the solve of ``X' W X beta = X' W z``.

    The *diagonal* columns never share a non-zero row with each other (the dummies of a
    factor, e.g. Farrington's seasonal levels), so ``X' W X`` is diagonal on them; the
    *dense* ones are the rest (intercept, trend). Eliminating the diagonal block first
    (its Schur complement) is the Cholesky factorisation in that column order, at the
    cost of a ``dense x dense`` system instead of a ``p x p`` one. The ``*_at`` arrays
    give the position of each entry in the packed pairs ``A_q`` (-1: identically 0).
    """

    dense: np.ndarray  # (c,) column indices
    diagonal: np.ndarray  # (d,)
    diagonal_at: np.ndarray  # (d,)
    cross_at: np.ndarray  # (c, d)
    dense_at: np.ndarray  # (c, c)
    dense_i: np.ndarray  # upper triangle of the dense block
    dense_j: np.ndarray

    @classmethod
    def of(cls, pi: np.ndarray, pj: np.ndarray, p: int) -> _Blocks | None:
        """The partition for the pairs ``(pi, pj)``; None when fewer than two columns
        can be diagonal (then the plain solve is as cheap)."""
        at = np.full((p, p), -1)
        at[pi, pj] = at[pj, pi] = np.arange(pi.size)
        shares = (at >= 0) & ~np.eye(p, dtype=bool)
        diagonal: list[int] = []
        for j in np.argsort(shares.sum(1), kind="stable"):
            if not shares[j, diagonal].any():
                diagonal.append(int(j))
        if len(diagonal) < 2:
            return None
        dg = np.array(sorted(diagonal))
        dn = np.setdiff1d(np.arange(p), dg)
        ti, tj = np.triu_indices(dn.size)
        return cls(dn, dg, at[dg, dg], at[np.ix_(dn, dg)], at[np.ix_(dn, dn)], ti, tj)


def _take(A_q: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Entries of the packed ``A_q`` at positions ``at`` (0 where ``at`` is -1)."""
    if at.min() >= 0:
        return A_q[..., at]
    return np.where(at >= 0, A_q[..., np.maximum(at, 0)], 0.0)


@dataclass
class _Schur:
    """The pieces of a packed ``A_q`` with a diagonal block (see :class:`_Blocks`) that
    both the solve and the inverse use: the diagonal ``d`` (1 where aliased or not
    positive), the cross block ``E`` (0 on aliased rows and columns), ``E D^-1`` and
    the Schur complement ``S = A_CC - E D^-1 E'``; ``bad`` marks the fits whose
    diagonal block is not positive definite (or not finite)."""

    al_d: np.ndarray
    al_c: np.ndarray
    d: np.ndarray
    bad: np.ndarray
    E: np.ndarray
    E_over_d: np.ndarray
    schur: np.ndarray

    @classmethod
    def of(cls, A_q: np.ndarray, blocks: _Blocks, aliased: np.ndarray) -> _Schur:
        al_d, al_c = aliased[..., blocks.diagonal], aliased[..., blocks.dense]
        d = _take(A_q, blocks.diagonal_at)
        bad = ~al_d & ~(d > 0)
        d = np.where(al_d | bad, 1.0, d)
        E = _take(A_q, blocks.cross_at)  # (..., c, d)
        E = np.where(al_d[..., None, :] | al_c[..., :, None], 0.0, E)
        E_over_d = E / d[..., None, :]
        schur = _take(A_q, blocks.dense_at) - (E_over_d[..., :, None, :] * E[..., None, :, :]).sum(
            -1
        )
        return cls(al_d, al_c, d, bad.any(-1), E, E_over_d, schur)


def _solve_blocked(
    A_q: np.ndarray, blocks: _Blocks, b: np.ndarray, aliased: np.ndarray
) -> np.ndarray:
    """:func:`_solve_packed` for a design with a diagonal block (see :class:`_Blocks`):
    ``x_D = (b_D - E' x_C) / d`` after solving the Schur complement
    ``(A_CC - E D^-1 E') x_C = b_C - E D^-1 b_D``. Aliased coefficients are 0; a
    system that is not positive definite gives NaN."""
    dg, dn = blocks.diagonal, blocks.dense
    sc = _Schur.of(A_q, blocks, aliased)
    b_d = np.where(sc.al_d, 0.0, b[..., dg])
    rhs = b[..., dn] - (sc.E_over_d * b_d[..., None, :]).sum(-1)
    ti, tj = blocks.dense_i, blocks.dense_j
    x_c = _solve_packed(sc.schur[..., ti, tj], ti, tj, rhs, sc.al_c)
    x = np.empty(b.shape)
    x[..., dn] = x_c
    x[..., dg] = np.where(sc.al_d, 0.0, (b_d - (sc.E * x_c[..., :, None]).sum(-2)) / sc.d)
    return np.where(sc.bad[..., None], np.nan, x)


def _inverse(A: np.ndarray, aliased: np.ndarray) -> np.ndarray:
    """``A^-1`` on the non-aliased rows and columns, 0 elsewhere (R's ``chol2inv`` of the
    QR's ``R`` after pivoting)."""
    As, d = _equilibrate(A, aliased)
    eye = np.broadcast_to(np.eye(A.shape[-1]), A.shape)
    inv = _batched_solve(As, eye) * d[..., :, None] * d[..., None, :]
    return np.where(aliased[..., :, None] | aliased[..., None, :], 0.0, inv)


def _inverse_blocked(A_q: np.ndarray, blocks: _Blocks, aliased: np.ndarray) -> np.ndarray:
    """:func:`_inverse` of the packed ``A_q`` with a diagonal block (:class:`_Blocks`):
    with ``S = A_CC - E D^-1 E'``, the inverse is ``[[S^-1, -S^-1 E D^-1],
    [-D^-1 E' S^-1, D^-1 + D^-1 E' S^-1 E D^-1]]``; aliased rows and columns are 0 and
    a diagonal entry that is not positive makes the whole inverse NaN."""
    dg, dn = blocks.diagonal, blocks.dense
    sc = _Schur.of(A_q, blocks, aliased)
    s_inv = _inverse(sc.schur, sc.al_c)  # (..., c, c)
    cross = -np.einsum("...ij,...jk->...ik", s_inv, sc.E_over_d)  # (..., c, d)
    p = dg.size + dn.size
    inv = np.zeros((*A_q.shape[:-1], p, p))
    inv[..., dn[:, None], dn[None, :]] = s_inv
    inv[..., dn[:, None], dg[None, :]] = cross
    inv[..., dg[:, None], dn[None, :]] = np.swapaxes(cross, -1, -2)
    diag_block = -np.einsum("...ji,...jk->...ik", sc.E_over_d, cross)
    diag_block[..., np.arange(dg.size), np.arange(dg.size)] += 1.0 / sc.d
    inv[..., dg[:, None], dg[None, :]] = diag_block
    inv = np.where(aliased[..., :, None] | aliased[..., None, :], 0.0, inv)
    return np.where(sc.bad[..., None, None], np.nan, inv)


_FIELD_TYPES = {"aliased": bool, "used": bool, "converged": bool, "failed": bool,
                "iterations": np.int64}  # fmt: skip


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
        arr = np.full((G, S, *tail), fill, dtype=_FIELD_TYPES.get(name, np.float64))
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
    for name in _FIT_FIELDS:
        first = getattr(fits[0], name)
        arr = np.empty((G, *first.shape[1:]), dtype=first.dtype)
        for idx, fit in zip(parts, fits, strict=True):
            arr[idx] = getattr(fit, name)
        fields[name] = arr[:, 0] if single else arr
    return PoissonGLMFit(**fields, X=X)


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
            maxit=maxit, threads=_default_threads() if threads is None else threads,
        )  # fmt: skip


def _default_threads() -> int:
    """:data:`THREADS`, or 1 inside :func:`one_thread`."""
    return getattr(_local, "threads", None) or THREADS


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
    if prior_in is None:
        used = np.isfinite(y)
        prior = used.astype(np.float64)
    else:
        used = (prior_in > 0) & np.isfinite(y) & np.isfinite(prior_in)
        prior = np.where(used, prior_in, 0.0)
    yy = np.where(used, y, 0.0)
    has_offset = off_in is not None
    off = np.where(np.isfinite(off_in), off_in, 0.0) if has_offset else 0.0

    # Columns zero on every used row are aliased (R's pivoted QR drops them).
    col_used = np.matmul(used.astype(np.float64), (X != 0).astype(np.float64))  # (G,S,p)
    aliased = col_used == 0
    if columns is not None:
        cols = np.asarray(columns, bool)
        aliased = aliased | ~(cols[:, None, :] if single and cols.ndim == 2 else cols)
    rank = p - aliased.sum(-1)
    n_ok = used.sum(-1)

    if shared is None:
        # Products of pairs of columns that are non-zero somewhere: X'WX needs only these.
        pi, pj = _nonzero_pairs(X)
        # A column equal to 1 on every row in use (the intercept): X'w = row of X'WX.
        row_unused = ~used.any(axis=1)  # (G, n)
        ones = [c for c in range(p) if np.all((X[..., c] == 1) | row_unused)]
        shared = (pi, pj, ones, _Blocks.of(pi, pj, p))
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
    pi, pj, ones, blocks = shared
    outer = X[:, :, pi] * X[:, :, pj]  # (G, n, q)
    first, expand = _distinct_columns(outer.reshape(-1, pi.size))
    outer_unique = np.ascontiguousarray(outer[..., first])

    # Constants of the deviance: 2 sum wt (y log y - y - y log mu + mu), where
    # sum wt y log mu = sum wt y eta = beta . X'(wt y) + sum wt y offset.
    # Only the positive counts need logarithms (counts are mostly 0 in surveillance).
    wy = prior * yy
    Xwy = np.matmul(wy, X)  # (G, S, p)
    positive = np.flatnonzero(yy)
    fit_of = positive // n
    y_pos, prior_pos = yy.ravel()[positive], prior.ravel()[positive]
    y_log_y = y_pos * np.log(y_pos)
    const = np.bincount(fit_of, prior_pos * (y_log_y - y_pos), G * S).reshape(shape)
    if has_offset:
        const = const - (wy * off).sum(-1)

    # R's start: mustart = y + 0.1, eta = log(mustart), mu = max(exp(eta), eps).
    eta_init = np.full(y.shape, np.log(0.1))
    eta_init.ravel()[positive] = eta_pos = np.log(y_pos + 0.1)
    mu_init = np.full(y.shape, max(float(np.exp(np.log(0.1))), EPS))
    mu_init.ravel()[positive] = mu_pos = np.maximum(np.exp(eta_pos), EPS)
    # Deviance at the start: 2 sum wt (mu + [y > 0] (y log(y / mu) - y)).
    devold = np.einsum("gsn,gsn->gs", prior, mu_init) + np.bincount(
        fit_of, prior_pos * (y_pos * np.log(y_pos / mu_pos) - y_pos), G * S
    ).reshape(shape)
    devold = 2.0 * devold
    beta = np.zeros((G, S, p))  # the committed coefficients of every fit
    beta_prev = np.zeros((G, S, p))  # the coefficients the last iteration started from
    dev = np.full(shape, np.nan)
    converged = np.zeros(shape, bool)
    failed = ~act
    iterations = np.zeros(shape, np.int64)
    running = act.copy()

    ones_pairs = None
    if ones:
        c = ones[0]
        sel = np.flatnonzero((pi == c) | (pj == c))
        ones_pairs = (sel, np.where(pi[sel] == c, pj[sel], pi[sel]))
        ones_square = int(np.flatnonzero((pi == c) & (pj == c))[0])
    # Without weights, and with every row in use exactly where the design row is not
    # zero, the rows of prior weight 0 count for nothing in X'WX anyway: W = mu.
    plain = (
        weights is None
        and bool(ones)
        and np.array_equal(used, np.broadcast_to((X != 0).any(-1)[:, None, :], used.shape))
    )
    # X'WX beta from the packed pairs: sum over pairs of A_q * beta scattered to rows.
    q = pi.size
    to_row = np.zeros((q, p))
    to_row[np.arange(q), pi] = 1.0
    to_column = np.zeros((q, p))
    to_column[np.arange(q), pj] = pi != pj

    def gather(ga: np.ndarray) -> dict[str, np.ndarray]:
        """The data of the groups still running (re-gathered when groups finish)."""
        return {
            "prior": prior[ga], "off": off[ga] if has_offset else None, "wy": wy[ga],
            "X": X[ga], "XT": np.ascontiguousarray(X[ga].transpose(0, 2, 1)),
            "outer": outer_unique[ga], "Xwy": Xwy[ga], "const": const[ga],
            "aliased": aliased[ga], "wy_at": np.flatnonzero(wy[ga]),
        }  # fmt: skip

    def mean(lin: np.ndarray, d: dict, mu: np.ndarray) -> tuple[np.ndarray, bool]:
        """``mu = max(exp(eta), eps)`` (into ``mu``) and whether it was clamped at eps."""
        if has_offset:
            np.add(lin, d["off"], out=mu)
            np.exp(mu, out=mu)
        else:
            np.exp(lin, out=mu)
        clamped = bool(mu.size) and mu.min() < EPS
        if clamped:
            np.maximum(mu, EPS, out=mu)
        return mu, clamped

    def deviance(b, lin, mu, w2, A_q, low, d) -> np.ndarray:
        """2 sum wt (y log y - y - y log mu + mu), with sum wt y log mu from X'(wt y)
        and, given an intercept, sum wt mu from X'WX."""
        total = A_q[..., ones_square] if ones else w2.sum(-1)
        dev = d["const"] - np.einsum("gsp,gsp->gs", b, d["Xwy"]) + total
        if low:  # y log mu is no longer y eta where mu was clamped (and wt y > 0)
            at = d["wy_at"]
            eta = lin.ravel()[at] + (d["off"].ravel()[at] if has_offset else 0.0)
            hit = np.exp(eta) < EPS
            if hit.any():
                at, eta = at[hit], eta[hit]
                fix = d["wy"].ravel()[at] * (eta - np.log(EPS))
                np.add.at(dev.ravel(), at // lin.shape[-1], fix)
        return 2.0 * dev

    def step_to(b: np.ndarray, d: dict, out: tuple[np.ndarray, np.ndarray, np.ndarray]):
        """The linear predictor, mean, working weights, the packed ``X' W X`` of the
        next iteration and the deviance at ``b``, written into the buffers ``out``
        (large arrays are reused, not reallocated)."""
        lin, mu, w2 = out
        np.matmul(b, d["XT"], out=lin)
        mu, low = mean(lin, d, mu)
        if plain:
            w2 = mu
        else:
            np.multiply(d["prior"], mu, out=w2)
        A_q = np.matmul(w2, d["outer"])[..., expand]
        return lin, mu, w2, A_q, deviance(b, lin, mu, w2, A_q, low, d)

    ga = np.flatnonzero(running.any(axis=1))
    data = gather(ga)
    lin = eta_init[ga] - off[ga] if has_offset else eta_init[ga]
    mu = mu_init[ga]
    w2 = data["prior"] * mu
    A_q = np.matmul(w2, data["outer"])[..., expand]
    spare = (np.empty_like(mu), np.empty_like(mu), np.empty_like(mu))
    for it in range(1, maxit + 1):
        if ga.size == 0:
            break
        run = running[ga]
        # Weighted least squares for z = eta - offset + (y - mu) / mu with weights
        # w2 = prior * mu: X'W z = X'(w2 lin) + X'(prior y) - X'(w2), where after the
        # first iteration lin = X beta, so that X'(w2 lin) = (X'WX) beta.
        if ones_pairs is not None:
            Xw2 = np.zeros((*run.shape, p))
            Xw2[..., ones_pairs[1]] = A_q[..., ones_pairs[0]]
        else:
            Xw2 = np.matmul(w2, data["X"])
        if it == 1:
            Xw2lin = np.matmul(w2 * lin, data["X"])
        else:
            b = beta[ga]
            Xw2lin = np.matmul(A_q * b[..., pj], to_row) + np.matmul(A_q * b[..., pi], to_column)
        rhs = Xw2lin + data["Xwy"] - Xw2
        if blocks is None:
            new_beta = _solve_packed(A_q, pi, pj, rhs, data["aliased"])
        else:
            new_beta = _solve_blocked(A_q, blocks, rhs, data["aliased"])
        finite = np.isfinite(new_beta).all(-1)
        old_beta = beta[ga]
        moving = run & finite
        new_beta = np.where(moving[..., None], new_beta, old_beta)
        new_lin, new_mu, new_w2, new_A_q, new_dev = step_to(new_beta, data, spare)
        invalid = moving & ~np.isfinite(new_dev)
        if invalid.any():
            if it == 1:  # R stops: "no valid set of coefficients has been found"
                moving &= ~invalid
            else:  # R halves the step until the deviance is finite
                for _ in range(maxit):
                    if not invalid.any():
                        break
                    new_beta = np.where(invalid[..., None], (new_beta + old_beta) / 2, new_beta)
                    new_lin, new_mu, new_w2, new_A_q, new_dev = step_to(new_beta, data, spare)
                    invalid &= ~np.isfinite(new_dev)
                moving &= ~invalid
            new_beta = np.where(moving[..., None], new_beta, old_beta)
            new_lin, new_mu, new_w2, new_A_q, _ = step_to(new_beta, data, spare)
        with np.errstate(invalid="ignore"):
            conv = moving & (np.abs(new_dev - devold[ga]) / (np.abs(new_dev) + 0.1) < epsilon)
        # Commit the iteration for the fits that took it; the others keep their state
        # (their coefficients were not changed, so eta and mu stay theirs).
        iterations[ga] = np.where(run, it, iterations[ga])
        failed[ga] |= run & ~moving & (it == 1)
        beta_prev[ga] = np.where(moving[..., None], old_beta, beta_prev[ga])
        beta[ga] = new_beta
        dev[ga] = np.where(moving, new_dev, dev[ga])
        devold[ga] = np.where(moving, new_dev, devold[ga])
        converged[ga] |= conv
        running[ga] = moving & ~conv
        still = running[ga].any(axis=1)
        spare = (lin, mu, w2)  # the old state's buffers take the next step
        lin, mu, w2, A_q = new_lin, new_mu, new_w2, new_A_q
        if still.sum() < 0.8 * ga.size:  # drop the finished groups
            ga, lin, mu, w2, A_q = ga[still], lin[still], mu[still], w2[still], A_q[still]
            data = gather(ga)
            spare = (np.empty_like(mu), np.empty_like(mu), np.empty_like(mu))

    # Final state and the weights of the last iteration (computed from where it started).
    XT = X.transpose(0, 2, 1)
    eta = np.matmul(beta, XT) + off
    mu = np.maximum(np.exp(eta), EPS)
    mu_prev = np.maximum(np.exp(np.matmul(beta_prev, XT) + off), EPS)
    if (iterations <= 1).any():
        mu_prev = np.where((iterations <= 1)[..., None], mu_init, mu_prev)
    w2_last = prior * mu_prev  # prior is 0 on unused rows
    if (iterations == 0).any():
        w2_last = np.where((iterations > 0)[..., None], w2_last, 0.0)
    A_q = np.matmul(w2_last, outer_unique)[..., expand]
    ran = iterations > 0
    A_inv = np.full((G, S, p, p), np.nan)
    if blocks is None:
        A_last = np.zeros((*A_q[ran].shape[:-1], p, p))
        A_last[..., pi, pj] = A_q[ran]
        A_last[..., pj, pi] = A_q[ran]
        A_inv[ran] = _inverse(A_last, aliased[ran])
    else:
        A_inv[ran] = _inverse_blocked(A_q[ran], blocks, aliased[ran])

    df_res = (n_ok - rank).astype(np.float64)
    pearson = _pearson(w2_last, yy, mu, positive)
    with np.errstate(invalid="ignore", divide="ignore"):
        disp = np.where(df_res > 0, pearson / df_res, np.nan)
    nanf = failed
    out = PoissonGLMFit(
        coefficients=np.where(nanf[..., None], np.nan, beta),
        aliased=aliased,
        eta=eta,
        mu=mu,
        y=yy,
        used=used,
        converged=converged & ~nanf,
        failed=nanf,
        iterations=iterations,
        deviance=np.where(nanf, np.nan, dev),
        working_weights=w2_last,
        cov_unscaled=A_inv,
        rank=rank.astype(np.float64),
        df_residual=df_res,
        dispersion=np.where(nanf, np.nan, disp),
        X=X,
    )
    if single:
        for name in _FIT_FIELDS:
            setattr(out, name, getattr(out, name)[:, 0])
    return out
