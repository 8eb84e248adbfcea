"""Iteratively reweighted least squares for a batch of (quasi-)Poisson GLMs, as R's
``stats::glm.fit`` iterates (the package docstring, :mod:`tocsin.detect.glm`, lists
each rule it follows): the rows and columns each fit uses (:func:`rows_of`), R's start
(:func:`start_values`), what every iteration uses (:class:`Problem`: the constants of the
deviance, the packed ``X' W X``, the weighted least-squares step and its solve), the state
of the fits between iterations (:class:`State`), R's step halving (:func:`_keep_finite`),
the iterations in lockstep (:func:`irls`) and the final state of every fit.

Reference: R Core Team, ``stats::glm.fit`` (R 4.2); McCullagh and Nelder (1989),
*Generalized Linear Models*, 2nd ed., section 2.5 (IRLS).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tocsin.detect.glm.linalg import (
    EPS,
    Blocks,
    distinct_columns,
    inverse,
    inverse_blocked,
    nonzero_pairs,
    solve_blocked,
    solve_packed,
)
from tocsin.detect.glm.result import PoissonGLMFit


@dataclass
class Rows:
    """The data of a batch of fits as the iterations use it: the rows in use
    (``used``: prior weight > 0 and a count present), the prior weights and counts
    there (0 elsewhere), the offset, and the aliased columns with the rank."""

    X: np.ndarray
    yy: np.ndarray
    prior: np.ndarray
    used: np.ndarray
    off: np.ndarray | float
    has_offset: bool
    aliased: np.ndarray
    rank: np.ndarray
    n_ok: np.ndarray
    #: Whether prior weights were given (without them, ``X' W X`` may use ``W = mu``).
    weighted: bool


def rows_of(
    X: np.ndarray,
    y: np.ndarray,
    prior_in: np.ndarray | None,
    off_in: np.ndarray | None,
    columns: np.ndarray | None,
    single: bool,
) -> Rows:
    """The rows and columns each fit of ``y`` ``(G, S, n)`` uses, on the design ``X``."""
    p = X.shape[-1]
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
    return Rows(X, yy, prior, used, off, has_offset, aliased, rank, n_ok, prior_in is not None)


def shared_of(X: np.ndarray, used: np.ndarray) -> tuple:
    """What depends on the whole batch, computed once for all its parts: the pairs of
    columns ``X' W X`` needs, the intercept column and the blocks of the solve."""
    p = X.shape[-1]
    # Products of pairs of columns that are non-zero somewhere: X'WX needs only these.
    pi, pj = nonzero_pairs(X)
    # A column equal to 1 on every row in use (the intercept): X'w = row of X'WX.
    row_unused = ~used.any(axis=1)  # (G, n)
    ones = [c for c in range(p) if np.all((X[..., c] == 1) | row_unused)]
    return (pi, pj, ones, Blocks.of(pi, pj, p))


@dataclass
class Problem:
    """What the iterations of a batch need that does not change between them: the data,
    the constants of the deviance, the packed outer products of the design's columns,
    and the shortcuts for an intercept column and for unweighted fits."""

    X: np.ndarray
    prior: np.ndarray
    off: np.ndarray | float
    has_offset: bool
    aliased: np.ndarray
    #: ``prior * y``, its product with the design ``X'(wt y)``, and the constant part of
    #: the deviance of each fit.
    wy: np.ndarray
    Xwy: np.ndarray
    const: np.ndarray
    #: The distinct products of pairs of columns (``outer_unique``) and, per pair, which
    #: of them it is (``expand``): ``X' W X`` packed is ``(w2 @ outer_unique)[..., expand]``.
    outer_unique: np.ndarray
    expand: np.ndarray
    pi: np.ndarray
    pj: np.ndarray
    blocks: Blocks | None
    #: Where the intercept column (all ones) meets each column among the pairs, and the
    #: pair of the intercept with itself (``sum w``); None without an intercept.
    ones_pairs: tuple[np.ndarray, np.ndarray] | None
    ones_square: int
    #: Without prior weights and with every row in use where the design is not zero,
    #: the working weights are the means themselves.
    plain: bool
    #: Scatter of the packed pairs to rows and columns: ``(X' W X) beta``.
    to_row: np.ndarray
    to_column: np.ndarray

    @classmethod
    def of(cls, rows: Rows, shared: tuple, positive: np.ndarray) -> Problem:
        """The constants of the fits of ``rows``; ``positive``: flat indices of the
        positive counts (only they need logarithms)."""
        X, yy, prior, used, off = rows.X, rows.yy, rows.prior, rows.used, rows.off
        G, n, p = X.shape
        S = yy.shape[1]
        pi, pj, ones, blocks = shared
        outer = X[:, :, pi] * X[:, :, pj]  # (G, n, q)
        first, expand = distinct_columns(outer.reshape(-1, pi.size))
        outer_unique = np.ascontiguousarray(outer[..., first])

        # Constants of the deviance: 2 sum wt (y log y - y - y log mu + mu), where
        # sum wt y log mu = sum wt y eta = beta . X'(wt y) + sum wt y offset.
        # Only the positive counts need logarithms (counts are mostly 0 in surveillance).
        wy = prior * yy
        Xwy = np.matmul(wy, X)  # (G, S, p)
        y_pos, prior_pos = yy.ravel()[positive], prior.ravel()[positive]
        y_log_y = y_pos * np.log(y_pos)
        const = np.bincount(positive // n, prior_pos * (y_log_y - y_pos), G * S).reshape(G, S)
        if rows.has_offset:
            const = const - (wy * off).sum(-1)

        ones_pairs, ones_square = None, 0
        if ones:
            c = ones[0]
            sel = np.flatnonzero((pi == c) | (pj == c))
            ones_pairs = (sel, np.where(pi[sel] == c, pj[sel], pi[sel]))
            ones_square = int(np.flatnonzero((pi == c) & (pj == c))[0])
        # Without weights, and with every row in use exactly where the design row is not
        # zero, the rows of prior weight 0 count for nothing in X'WX anyway: W = mu.
        plain = (
            not rows.weighted
            and bool(ones)
            and np.array_equal(used, np.broadcast_to((X != 0).any(-1)[:, None, :], used.shape))
        )
        # X'WX beta from the packed pairs: sum over pairs of A_q * beta scattered to rows.
        q = pi.size
        to_row = np.zeros((q, p))
        to_row[np.arange(q), pi] = 1.0
        to_column = np.zeros((q, p))
        to_column[np.arange(q), pj] = pi != pj
        return cls(
            X, prior, off, rows.has_offset, rows.aliased, wy, Xwy, const, outer_unique,
            expand, pi, pj, blocks, ones_pairs, ones_square, plain, to_row, to_column,
        )  # fmt: skip

    def gather(self, ga: np.ndarray) -> dict[str, np.ndarray]:
        """The data of the groups ``ga`` still running (re-gathered when groups finish)."""
        X, wy = self.X, self.wy
        return {
            "prior": self.prior[ga], "off": self.off[ga] if self.has_offset else None,
            "wy": wy[ga], "X": X[ga], "XT": np.ascontiguousarray(X[ga].transpose(0, 2, 1)),
            "outer": self.outer_unique[ga], "Xwy": self.Xwy[ga], "const": self.const[ga],
            "aliased": self.aliased[ga], "wy_at": np.flatnonzero(wy[ga]),
        }  # fmt: skip

    def mean(self, lin: np.ndarray, d: dict, mu: np.ndarray) -> tuple[np.ndarray, bool]:
        """``mu = max(exp(eta), eps)`` (into ``mu``) and whether it was clamped at eps."""
        if self.has_offset:
            np.add(lin, d["off"], out=mu)
            np.exp(mu, out=mu)
        else:
            np.exp(lin, out=mu)
        clamped = bool(mu.size) and mu.min() < EPS
        if clamped:
            np.maximum(mu, EPS, out=mu)
        return mu, clamped

    def deviance(self, b, lin, w2, A_q, low, d) -> np.ndarray:
        """2 sum wt (y log y - y - y log mu + mu), with sum wt y log mu from X'(wt y)
        and, given an intercept, sum wt mu from X'WX."""
        total = A_q[..., self.ones_square] if self.ones_pairs is not None else w2.sum(-1)
        dev = d["const"] - np.einsum("gsp,gsp->gs", b, d["Xwy"]) + total
        if low:  # y log mu is no longer y eta where mu was clamped (and wt y > 0)
            at = d["wy_at"]
            eta = lin.ravel()[at] + (d["off"].ravel()[at] if self.has_offset else 0.0)
            hit = np.exp(eta) < EPS
            if hit.any():
                at, eta = at[hit], eta[hit]
                fix = d["wy"].ravel()[at] * (eta - np.log(EPS))
                np.add.at(dev.ravel(), at // lin.shape[-1], fix)
        return 2.0 * dev

    def step_to(self, b: np.ndarray, d: dict, out: tuple[np.ndarray, np.ndarray, np.ndarray]):
        """The linear predictor, mean, working weights, the packed ``X' W X`` of the
        next iteration and the deviance at ``b``, written into the buffers ``out``
        (large arrays are reused, not reallocated)."""
        lin, mu, w2 = out
        np.matmul(b, d["XT"], out=lin)
        mu, low = self.mean(lin, d, mu)
        if self.plain:
            w2 = mu
        else:
            np.multiply(d["prior"], mu, out=w2)
        A_q = np.matmul(w2, d["outer"])[..., self.expand]
        return lin, mu, w2, A_q, self.deviance(b, lin, w2, A_q, low, d)

    def normal_equations_rhs(self, d, lin, w2, A_q, beta, first: bool) -> np.ndarray:
        """The right-hand side of the weighted least squares for the working response
        ``z = eta - offset + (y - mu) / mu`` with weights ``w2 = prior * mu``:
        ``X'W z = X'(w2 lin) + X'(prior y) - X'(w2)``, where after the first iteration
        ``lin = X beta``, so that ``X'(w2 lin) = (X'WX) beta`` (``beta``: the running
        groups' coefficients)."""
        if self.ones_pairs is not None:
            Xw2 = np.zeros((*A_q.shape[:-1], self.X.shape[-1]))
            Xw2[..., self.ones_pairs[1]] = A_q[..., self.ones_pairs[0]]
        else:
            Xw2 = np.matmul(w2, d["X"])
        if first:
            Xw2lin = np.matmul(w2 * lin, d["X"])
        else:
            Xw2lin = np.matmul(A_q * beta[..., self.pj], self.to_row) + np.matmul(
                A_q * beta[..., self.pi], self.to_column
            )
        return Xw2lin + d["Xwy"] - Xw2

    def solve(self, A_q: np.ndarray, rhs: np.ndarray, aliased: np.ndarray) -> np.ndarray:
        """The new coefficients: ``(X'WX) beta = rhs`` solved for each fit."""
        if self.blocks is None:
            return solve_packed(A_q, self.pi, self.pj, rhs, aliased)
        return solve_blocked(A_q, self.blocks, rhs, aliased)


@dataclass
class State:
    """The state of every fit of a batch ``(G, S, ...)`` between iterations."""

    #: The committed coefficients, and those the last iteration started from.
    beta: np.ndarray
    beta_prev: np.ndarray
    dev: np.ndarray
    devold: np.ndarray
    converged: np.ndarray
    failed: np.ndarray
    iterations: np.ndarray
    running: np.ndarray

    @classmethod
    def start(cls, act: np.ndarray, p: int, devold: np.ndarray) -> State:
        shape = act.shape
        return cls(
            beta=np.zeros((*shape, p)),
            beta_prev=np.zeros((*shape, p)),
            dev=np.full(shape, np.nan),
            devold=devold,
            converged=np.zeros(shape, bool),
            failed=~act,
            iterations=np.zeros(shape, np.int64),
            running=act.copy(),
        )

    def commit(self, ga, it, run, moving, conv, new_beta, old_beta, new_dev) -> None:
        """Commit iteration ``it`` of the groups ``ga`` for the fits that took it; the
        others keep their state (their coefficients were not changed, so eta and mu stay
        theirs)."""
        self.iterations[ga] = np.where(run, it, self.iterations[ga])
        self.failed[ga] |= run & ~moving & (it == 1)
        self.beta_prev[ga] = np.where(moving[..., None], old_beta, self.beta_prev[ga])
        self.beta[ga] = new_beta
        self.dev[ga] = np.where(moving, new_dev, self.dev[ga])
        self.devold[ga] = np.where(moving, new_dev, self.devold[ga])
        self.converged[ga] |= conv
        self.running[ga] = moving & ~conv


def start_values(rows: Rows, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R's start, ``mustart = y + 0.1``, ``eta = log(mustart)``, ``mu = max(exp(eta),
    eps)``, and the deviance there: the linear predictor, the mean and the deviance of
    every fit."""
    yy, prior = rows.yy, rows.prior
    G, S, n = yy.shape
    y_pos, prior_pos = yy.ravel()[positive], prior.ravel()[positive]
    eta_init = np.full(yy.shape, np.log(0.1))
    eta_init.ravel()[positive] = eta_pos = np.log(y_pos + 0.1)
    mu_init = np.full(yy.shape, max(float(np.exp(np.log(0.1))), EPS))
    mu_init.ravel()[positive] = mu_pos = np.maximum(np.exp(eta_pos), EPS)
    # Deviance at the start: 2 sum wt (mu + [y > 0] (y log(y / mu) - y)).
    devold = np.einsum("gsn,gsn->gs", prior, mu_init) + np.bincount(
        positive // n, prior_pos * (y_pos * np.log(y_pos / mu_pos) - y_pos), G * S
    ).reshape(G, S)
    return eta_init, mu_init, 2.0 * devold


def _keep_finite(problem, data, spare, it, maxit, moving, new_beta, old_beta, step):
    """R's rules when the deviance at the new coefficients is not finite: in the first
    iteration the fit stops ("no valid set of coefficients has been found"), later the
    step is halved until it is finite. Returns the fits still moving, their coefficients
    and the state there (``step``: linear predictor, mean, weights, ``X' W X``, deviance
    at ``new_beta``)."""
    new_dev = step[-1]
    invalid = moving & ~np.isfinite(new_dev)
    if not invalid.any():
        return moving, new_beta, step
    if it == 1:  # R stops: "no valid set of coefficients has been found"
        moving &= ~invalid
    else:  # R halves the step until the deviance is finite
        for _ in range(maxit):
            if not invalid.any():
                break
            new_beta = np.where(invalid[..., None], (new_beta + old_beta) / 2, new_beta)
            new_dev = problem.step_to(new_beta, data, spare)[-1]
            invalid &= ~np.isfinite(new_dev)
        moving &= ~invalid
    new_beta = np.where(moving[..., None], new_beta, old_beta)
    new_lin, new_mu, new_w2, new_A_q, _ = problem.step_to(new_beta, data, spare)
    return moving, new_beta, (new_lin, new_mu, new_w2, new_A_q, new_dev)


def irls(
    rows: Rows, act: np.ndarray, shared: tuple, *, epsilon: float, maxit: int
) -> PoissonGLMFit:
    """Iterate the fits ``act`` of ``rows`` in lockstep until each converges, fails or
    reaches ``maxit``, and return every fit's final state (shape ``(G, S, ...)``)."""
    positive = np.flatnonzero(rows.yy)
    problem = Problem.of(rows, shared, positive)
    eta_init, mu_init, devold = start_values(rows, positive)
    state = State.start(act, rows.X.shape[-1], devold)
    off, has_offset = rows.off, rows.has_offset

    ga = np.flatnonzero(state.running.any(axis=1))
    data = problem.gather(ga)
    lin = eta_init[ga] - off[ga] if has_offset else eta_init[ga]
    mu = mu_init[ga]
    w2 = data["prior"] * mu
    A_q = np.matmul(w2, data["outer"])[..., problem.expand]
    spare = (np.empty_like(mu), np.empty_like(mu), np.empty_like(mu))
    for it in range(1, maxit + 1):
        if ga.size == 0:
            break
        run = state.running[ga]
        old_beta = state.beta[ga]
        rhs = problem.normal_equations_rhs(data, lin, w2, A_q, old_beta, first=it == 1)
        new_beta = problem.solve(A_q, rhs, data["aliased"])
        finite = np.isfinite(new_beta).all(-1)
        moving = run & finite
        new_beta = np.where(moving[..., None], new_beta, old_beta)
        step = problem.step_to(new_beta, data, spare)
        moving, new_beta, step = _keep_finite(
            problem, data, spare, it, maxit, moving, new_beta, old_beta, step
        )
        new_lin, new_mu, new_w2, new_A_q, new_dev = step
        with np.errstate(invalid="ignore"):
            conv = moving & (np.abs(new_dev - state.devold[ga]) / (np.abs(new_dev) + 0.1) < epsilon)
        state.commit(ga, it, run, moving, conv, new_beta, old_beta, new_dev)
        still = state.running[ga].any(axis=1)
        spare = (lin, mu, w2)  # the old state's buffers take the next step
        lin, mu, w2, A_q = new_lin, new_mu, new_w2, new_A_q
        if still.sum() < 0.8 * ga.size:  # drop the finished groups
            ga, lin, mu, w2, A_q = ga[still], lin[still], mu[still], w2[still], A_q[still]
            data = problem.gather(ga)
            spare = (np.empty_like(mu), np.empty_like(mu), np.empty_like(mu))

    return _final_state(
        rows, problem.outer_unique, problem.expand, shared, state.beta, state.beta_prev,
        mu_init, state.iterations, state.failed, state.converged, state.dev, positive,
    )  # fmt: skip


def _final_state(
    rows: Rows,
    outer_unique: np.ndarray,
    expand: np.ndarray,
    shared: tuple,
    beta: np.ndarray,
    beta_prev: np.ndarray,
    mu_init: np.ndarray,
    iterations: np.ndarray,
    failed: np.ndarray,
    converged: np.ndarray,
    dev: np.ndarray,
    positive: np.ndarray,
) -> PoissonGLMFit:
    """The fits after their last iteration: the linear predictor and means at the final
    coefficients, the working weights and ``(X' W X)^-1`` of the last weighted
    least-squares problem (from where that iteration started, as ``glm.fit`` stores
    ``weights`` and ``qr``) and the dispersion."""
    X, yy, prior, off, aliased = rows.X, rows.yy, rows.prior, rows.off, rows.aliased
    used, rank, n_ok = rows.used, rows.rank, rows.n_ok
    G, _, p = X.shape
    S = yy.shape[1]
    pi, pj, _, blocks = shared
    # The weights of the last iteration (computed from where it started).
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
        A_inv[ran] = inverse(A_last, aliased[ran])
    else:
        A_inv[ran] = inverse_blocked(A_q[ran], blocks, aliased[ran])

    df_res = (n_ok - rank).astype(np.float64)
    pearson = _pearson(w2_last, yy, mu, positive)
    with np.errstate(invalid="ignore", divide="ignore"):
        disp = np.where(df_res > 0, pearson / df_res, np.nan)
    nanf = failed
    return PoissonGLMFit(
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
