"""The linear algebra of the batched IRLS: which products of design columns ``X' W X``
needs, and the weighted least-squares systems of every fit solved at once (a Cholesky
factorisation vectorised over the fits, by blocks where the design allows), with the
inverse ``(X' W X)^-1`` of the last iteration."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

EPS = float(np.finfo(np.float64).eps)


def nonzero_pairs(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``i <= j`` of columns of the design ``(..., n, p)`` that are non-zero
    together on some row: ``X' W X`` has no other non-zero entries."""
    nz = (X != 0).reshape(-1, X.shape[-1]).astype(np.float64)
    return np.nonzero(np.triu(nz.T @ nz > 0))


def distinct_columns(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def solve_packed(
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
class Blocks:
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
    def of(cls, pi: np.ndarray, pj: np.ndarray, p: int) -> Blocks | None:
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
    """The pieces of a packed ``A_q`` with a diagonal block (see :class:`Blocks`) that
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
    def of(cls, A_q: np.ndarray, blocks: Blocks, aliased: np.ndarray) -> _Schur:
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


def solve_blocked(
    A_q: np.ndarray, blocks: Blocks, b: np.ndarray, aliased: np.ndarray
) -> np.ndarray:
    """:func:`solve_packed` for a design with a diagonal block (see :class:`Blocks`):
    ``x_D = (b_D - E' x_C) / d`` after solving the Schur complement
    ``(A_CC - E D^-1 E') x_C = b_C - E D^-1 b_D``. Aliased coefficients are 0; a
    system that is not positive definite gives NaN."""
    dg, dn = blocks.diagonal, blocks.dense
    sc = _Schur.of(A_q, blocks, aliased)
    b_d = np.where(sc.al_d, 0.0, b[..., dg])
    rhs = b[..., dn] - (sc.E_over_d * b_d[..., None, :]).sum(-1)
    ti, tj = blocks.dense_i, blocks.dense_j
    x_c = solve_packed(sc.schur[..., ti, tj], ti, tj, rhs, sc.al_c)
    x = np.empty(b.shape)
    x[..., dn] = x_c
    x[..., dg] = np.where(sc.al_d, 0.0, (b_d - (sc.E * x_c[..., :, None]).sum(-2)) / sc.d)
    return np.where(sc.bad[..., None], np.nan, x)


def inverse(A: np.ndarray, aliased: np.ndarray) -> np.ndarray:
    """``A^-1`` on the non-aliased rows and columns, 0 elsewhere (R's ``chol2inv`` of the
    QR's ``R`` after pivoting)."""
    As, d = _equilibrate(A, aliased)
    eye = np.broadcast_to(np.eye(A.shape[-1]), A.shape)
    inv = _batched_solve(As, eye) * d[..., :, None] * d[..., None, :]
    return np.where(aliased[..., :, None] | aliased[..., None, :], 0.0, inv)


def inverse_blocked(A_q: np.ndarray, blocks: Blocks, aliased: np.ndarray) -> np.ndarray:
    """:func:`inverse` of the packed ``A_q`` with a diagonal block (:class:`Blocks`):
    with ``S = A_CC - E D^-1 E'``, the inverse is ``[[S^-1, -S^-1 E D^-1],
    [-D^-1 E' S^-1, D^-1 + D^-1 E' S^-1 E D^-1]]``; aliased rows and columns are 0 and
    a diagonal entry that is not positive makes the whole inverse NaN."""
    dg, dn = blocks.diagonal, blocks.dense
    sc = _Schur.of(A_q, blocks, aliased)
    s_inv = inverse(sc.schur, sc.al_c)  # (..., c, c)
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
