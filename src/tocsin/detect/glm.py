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
R's dropping of those rows. All fits iterate in lockstep with per-fit convergence masks;
the normal equations ``(X' W X) beta = X' W z`` of every fit are formed with one batched
matrix product per iteration and solved with batched ``numpy.linalg.solve`` after
scaling to unit diagonal. A column that is zero on every row used by a fit is *aliased*
(R: coefficient ``NA`` after pivoting in the QR): its coefficient is 0 and it does not
count in the rank.

Reference: R Core Team, ``stats::glm.fit`` (R 4.2); McCullagh and Nelder (1989),
*Generalized Linear Models*, 2nd ed., section 2.5 (IRLS).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
from scipy import stats

EPS = float(np.finfo(np.float64).eps)
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
        converged: ``(...)`` bool, R's ``converged``.
        failed: ``(...)`` bool: R would have stopped with an error (or was never run).
        iterations: ``(...)`` number of IRLS iterations done.
        deviance: ``(...)``.
        working_weights: ``(..., n_obs)`` R's ``weights`` (0 on unused rows).
        cov_unscaled: ``(..., p, p)`` ``(X' W X)^-1`` (zero rows/columns where aliased).
        rank, df_residual: ``(...)`` integers as floats.
        dispersion: ``(...)`` Pearson chi-squared / df.residual (NaN when df is 0).
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
        X = self.X  # (G, n, p)
        G, n, p = X.shape
        lead = self.coefficients.shape[:-1]
        cov = self.cov_unscaled.reshape(G, -1, p * p)  # (G, S, p*p)
        outer = (X[:, :, :, None] * X[:, :, None, :]).reshape(G, n, p * p)
        quad = np.matmul(cov, outer.transpose(0, 2, 1))  # (G, S, n)
        hat = self.working_weights.reshape(G, -1, n) * quad
        hat[hat > 1.0 - 10.0 * EPS] = 1.0
        return hat.reshape(*lead, n)

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


def _dev_resids(y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
    """Poisson deviance residuals, R's ``poisson()$dev.resids``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(y > 0, wt * (y * np.log(y / mu) - (y - mu)), mu * wt)
    return 2.0 * r


def _solve(A: np.ndarray, b: np.ndarray, aliased: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solve the stacked symmetric systems ``A x = b`` after scaling to unit diagonal;
    aliased columns get coefficient 0. Returns ``(x, A_inverse)``; NaN where singular."""
    p = A.shape[-1]
    eye = np.eye(p, dtype=bool)
    A = np.where(aliased[..., :, None] | aliased[..., None, :], np.where(eye, 1.0, 0.0), A)
    b = np.where(aliased, 0.0, b)
    d = np.sqrt(np.abs(np.diagonal(A, axis1=-2, axis2=-1)))
    d = np.where((d > 0) & np.isfinite(d), 1.0 / np.where(d > 0, d, 1.0), 1.0)
    As = A * d[..., :, None] * d[..., None, :]
    rhs = np.concatenate([(b * d)[..., :, None], np.broadcast_to(eye, A.shape)], axis=-1)
    try:
        sol = np.linalg.solve(As, rhs)
    except np.linalg.LinAlgError:
        sol = np.full(rhs.shape, np.nan)
        flat_A, flat_r = As.reshape(-1, p, p), rhs.reshape(-1, p, p + 1)
        flat_s = sol.reshape(-1, p, p + 1)
        for i in range(flat_A.shape[0]):  # failure path only: find the singular fits
            with contextlib.suppress(np.linalg.LinAlgError):
                flat_s[i] = np.linalg.solve(flat_A[i], flat_r[i])
    x = sol[..., 0] * d
    inv = sol[..., 1:] * d[..., :, None] * d[..., None, :]
    inv = np.where(aliased[..., :, None] | aliased[..., None, :], 0.0, inv)
    return np.where(aliased, 0.0, x), inv


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
    """
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

    prior = as3(weights, 1.0)
    off = as3(offset, 0.0)
    act = np.ones(shape, bool) if active is None else np.asarray(active, bool).reshape(shape)
    used = (prior > 0) & np.isfinite(y) & np.isfinite(prior)
    prior = np.where(used, prior, 0.0)
    yy = np.where(used, y, 0.0)
    off = np.where(np.isfinite(off), off, 0.0)

    # Columns zero on every used row are aliased (R's pivoted QR drops them).
    col_used = np.matmul(used.astype(np.float64), (X != 0).astype(np.float64))  # (G,S,p)
    aliased = col_used == 0
    if columns is not None:
        cols = np.asarray(columns, bool)
        aliased = aliased | ~(cols[:, None, :] if single and cols.ndim == 2 else cols)
    rank = p - aliased.sum(-1)
    n_ok = used.sum(-1)

    outer = (X[:, :, :, None] * X[:, :, None, :]).reshape(G, n, p * p)

    eta = np.log(yy + 0.1)
    mu = np.maximum(np.exp(eta), EPS)
    devold = _dev_resids(yy, mu, prior).sum(-1)
    beta = np.zeros((G, S, p))
    beta_old = np.full((G, S, p), np.nan)
    w2_last = np.zeros(y.shape)
    A_inv = np.full((G, S, p, p), np.nan)
    dev = np.full(shape, np.nan)
    converged = np.zeros(shape, bool)
    failed = ~act
    iterations = np.zeros(shape, np.int64)
    running = act.copy()

    for it in range(1, maxit + 1):
        groups = np.flatnonzero(running.any(axis=1))
        if groups.size == 0:
            break
        run = running[groups]  # (g, S)
        Xg, og = X[groups], outer[groups]
        yg, pg, offg = yy[groups], prior[groups], off[groups]
        eg, mg = eta[groups], mu[groups]
        mu_eta = np.maximum(np.exp(eg), EPS)
        w2 = pg * mu_eta**2 / mg
        z = (eg - offg) + (yg - mg) / mu_eta
        A = np.matmul(w2, og).reshape(*run.shape, p, p)
        b = np.matmul(w2 * z, Xg)
        new_beta, inv = _solve(A, b, aliased[groups])
        finite = np.isfinite(new_beta).all(-1)
        stop_bad = run & ~finite  # R: "non-finite coefficients", conv = FALSE, break
        new_beta = np.where(finite[..., None], new_beta, 0.0)
        new_eta = np.einsum("gnp,gsp->gsn", Xg, new_beta) + offg
        new_mu = np.maximum(np.exp(new_eta), EPS)
        new_dev = _dev_resids(yg, new_mu, pg).sum(-1)
        invalid = run & finite & ~(np.isfinite(new_dev) & np.isfinite(new_mu).all(-1))
        if invalid.any():
            if it == 1:  # R: "no valid set of coefficients has been found"
                stop_bad |= invalid
            else:
                bo = beta_old[groups]
                for _ in range(maxit):
                    if not invalid.any():
                        break
                    new_beta = np.where(invalid[..., None], (new_beta + bo) / 2, new_beta)
                    new_eta = np.einsum("gnp,gsp->gsn", Xg, new_beta) + offg
                    new_mu = np.maximum(np.exp(new_eta), EPS)
                    new_dev = _dev_resids(yg, new_mu, pg).sum(-1)
                    invalid &= ~(np.isfinite(new_dev) & np.isfinite(new_mu).all(-1))
                stop_bad |= invalid
        step = run & ~stop_bad
        with np.errstate(invalid="ignore"):
            conv_now = step & (np.abs(new_dev - devold[groups]) / (np.abs(new_dev) + 0.1) < epsilon)
        # Commit the iteration for the fits that took it.
        sel = (groups[:, None], np.arange(S)[None, :])
        upd = step
        beta[sel] = np.where(upd[..., None], new_beta, beta[sel])
        eta[sel] = np.where(upd[..., None], new_eta, eg)
        mu[sel] = np.where(upd[..., None], new_mu, mg)
        w2_last[sel] = np.where(upd[..., None], w2, w2_last[sel])
        A_inv[sel] = np.where(upd[..., None, None], inv, A_inv[sel])
        dev[sel] = np.where(upd, new_dev, dev[sel])
        iterations[sel] = np.where(run, it, iterations[sel])
        devold[sel] = np.where(upd & ~conv_now, new_dev, devold[sel])
        beta_old[sel] = np.where((upd & ~conv_now)[..., None], new_beta, beta_old[sel])
        converged[sel] |= conv_now
        failed[sel] |= stop_bad & (iterations[sel] == 1) & ~np.isfinite(dev[sel])
        running[sel] = run & step & ~conv_now

    resid = (yy - mu) / np.maximum(np.exp(eta), EPS)
    df_res = (n_ok - rank).astype(np.float64)
    pearson = (w2_last * resid**2).sum(-1)
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
