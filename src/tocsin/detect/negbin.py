"""Maximum-likelihood negative binomial regressions with log link, many at once.

The model of R's ``MASS::glm.nb`` (Venables and Ripley 2002, *Modern Applied Statistics
with S*, 4th ed., section 7.4): ``Y_i ~ NB(mu_i, theta)`` with variance
``mu + mu^2 / theta`` and ``log mu = X beta``, ``beta`` and ``theta`` by maximum
likelihood. As ``glm.nb`` does, the fit alternates iteratively reweighted least squares
for ``beta`` at fixed ``theta`` (working weights ``mu / (1 + mu / theta)``) with Newton
steps on the score of ``theta`` at fixed ``mu`` (``MASS::theta.ml``), starting from a
Poisson fit and the moment estimate of ``theta``; it stops when neither changes by more
than ``tol`` relative (``glm.nb`` stops on the change of the likelihood, 1e-8, so its
estimates agree with this exact optimum to about 1e-9).

All series share one design ``X`` (n_obs, p); each has its own responses and the rows it
uses (a weight of 0 leaves a row out, as R's ``na.omit``). Every step is array
arithmetic over all series; the weighted normal equations are solved on the design with
columns scaled to unit length, which keeps them well conditioned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

#: ``theta`` beyond which the counts are Poisson to double precision.
THETA_MAX = 1e10
#: Iteration limits: IRLS steps per fit, Newton steps for theta, alternations.
MAX_IRLS, MAX_THETA, MAX_ALTERNATIONS = 50, 50, 50
#: Newton steps that finish a fit, from an alternation run to ``START_TOL``.
MAX_NEWTON, START_TOL = 20, 1e-2


@dataclass
class NegbinFit:
    """Fits of S series: ``coefficients`` (S, p), ``theta`` (S,), ``cov_unscaled``
    (S, p, p) = ``(X' W X)^-1`` at the optimum, ``df_residual`` (S,) and ``converged``
    (S,); a series whose fit failed has NaN everywhere."""

    coefficients: np.ndarray
    theta: np.ndarray
    cov_unscaled: np.ndarray
    df_residual: np.ndarray
    converged: np.ndarray

    def linear_predictor(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``eta = X beta`` and its standard error for every row of ``X``: (S, n)."""
        eta = _predict(self.coefficients, X)
        xc = (X[None, :, :, None] * self.cov_unscaled[:, None, :, :]).sum(axis=2)
        var = (xc * X[None]).sum(axis=2)
        return eta, np.sqrt(np.maximum(var, 0.0))


def inverses(A: np.ndarray) -> np.ndarray:
    """The inverse of every symmetric positive definite matrix of the stack ``A`` (S, p, p)
    by Gauss-Jordan elimination written as array operations: each matrix's result is
    the same whatever else is in the stack (a stacked LAPACK call may round differently
    by position, and a sparse series' fit amplifies such differences); NaN where a pivot
    is 0."""
    M = np.array(A, dtype=np.float64)
    p = M.shape[-1]
    inv = np.broadcast_to(np.eye(p), M.shape).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(p):
            pivot = M[:, k, k][:, None].copy()
            M[:, k, :] /= pivot
            inv[:, k, :] /= pivot
            for i in range(p):
                if i != k:
                    factor = M[:, i, k][:, None].copy()
                    M[:, i, :] -= factor * M[:, k, :]
                    inv[:, i, :] -= factor * inv[:, k, :]
    return inv


def _predict(beta: np.ndarray, Xs: np.ndarray) -> np.ndarray:
    """``X beta`` of every series, as plain sums."""
    return np.einsum("sp,np->sn", beta, Xs)


def _wls(Xs: np.ndarray, w: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of every series: ``(X'WX)^-1 X'Wz`` and ``(X'WX)^-1``."""
    # Plain sums over the rows (no BLAS): a series' result does not depend on the others.
    p = Xs.shape[1]
    pairs = (Xs[:, :, None] * Xs[:, None, :]).reshape(-1, p * p)
    A = np.einsum("sn,nk->sk", w, pairs).reshape(-1, p, p)
    rhs = np.einsum("sn,nk->sk", w * z, Xs)
    with np.errstate(invalid="ignore"):
        inv = inverses(A)
    return (inv * rhs[:, None, :]).sum(axis=2), inv


def _loglik_beta(y: np.ndarray, eta: np.ndarray, used: np.ndarray, theta: np.ndarray):
    """The part of the log-likelihood that depends on ``beta`` (``theta`` fixed)."""
    mu = np.exp(eta)
    t = theta[:, None]
    poisson = np.isinf(t)
    with np.errstate(invalid="ignore"):
        tail = np.where(poisson, mu, (y + t) * np.log1p(mu / np.where(poisson, 1.0, t)))
    return np.where(used, y * eta - tail, 0.0).sum(axis=1)


def _irls(
    Xs: np.ndarray, y: np.ndarray, used: np.ndarray, eta: np.ndarray, theta: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """IRLS for ``beta`` at fixed ``theta`` (``inf``: Poisson), from ``eta``; each series
    stops at its own convergence, so that its result does not depend on the others:
    when its coefficients change by at most ``tol`` relative, or its log-likelihood does
    (as R's ``glm.fit`` stops on the deviance; a coefficient that drifts towards a mean
    of 0 on a sparse series then stops the fit as in R)."""
    beta = np.full((y.shape[0], Xs.shape[1]), np.nan)
    eta = eta.copy()
    active = np.arange(y.shape[0])
    loglik = np.full(y.shape[0], np.nan)
    for iteration in range(MAX_IRLS):
        mu = np.exp(eta[active])
        u = used[active]
        w = np.where(u, mu / (1.0 + mu / theta[active, None]), 0.0)
        z = eta[active] + np.where(u, (y[active] - mu) / mu, 0.0)
        new, _ = _wls(Xs, w, z)
        change = np.max(np.abs(new - beta[active]) / (np.abs(new) + 1e-3), axis=1)
        beta[active] = new
        eta[active] = _predict(new, Xs)
        ll = _loglik_beta(y[active], eta[active], u, theta[active])
        flat = np.abs(ll - loglik[active]) <= tol * (np.abs(ll) + 0.1)
        loglik[active] = ll
        if iteration:
            active = active[(change > tol) & ~flat]
            if not active.size:
                break
    return beta, eta


def _theta_ml(
    y: np.ndarray, mu: np.ndarray, used: np.ndarray, theta: np.ndarray, tol: float
) -> np.ndarray:
    """Newton's method on the score of ``theta`` at fixed ``mu`` (``MASS::theta.ml``), each
    series until its own convergence (or until ``theta`` reaches :data:`THETA_MAX`).

    The digamma and trigamma terms vanish where the count is 0, so they are evaluated on
    the positive counts only (surveillance counts are mostly zeros)."""
    theta = theta.copy()
    active = np.flatnonzero(np.isfinite(theta))
    for _ in range(MAX_THETA):
        if not active.size:
            break
        t = theta[active, None]
        yy, mm, u = y[active], mu[active], used[active]
        row, col = np.nonzero(u & (yy > 0))
        ty = theta[active][row]
        yp = yy[row, col]
        n = active.size
        digamma = np.bincount(row, special.digamma(ty + yp) - special.digamma(ty), minlength=n)
        trigamma = np.bincount(
            row, special.polygamma(1, ty) - special.polygamma(1, ty + yp), minlength=n
        )
        score = digamma + np.where(
            u, np.log(t) + 1 - np.log(t + mm) - (yy + t) / (mm + t), 0.0
        ).sum(axis=1)
        info = trigamma + np.where(u, -1 / t + 2 / (mm + t) - (yy + t) / (mm + t) ** 2, 0.0).sum(
            axis=1
        )
        old = theta[active]
        new = np.clip(old + score / info, old / 10, THETA_MAX)
        theta[active] = new
        moving = (np.abs(new - old) > tol * np.abs(old)) & np.isfinite(new) & (new < THETA_MAX)
        active = active[moving]
    return theta


def _alternate(
    Xs: np.ndarray,
    y0: np.ndarray,
    used: np.ndarray,
    beta: np.ndarray,
    eta: np.ndarray,
    theta: np.ndarray,
    active: np.ndarray,
    tol: float,
) -> np.ndarray:
    """``glm.nb``'s alternation (theta by Newton, beta by IRLS) on series ``active``, in
    place, until beta changes by at most ``tol``; returns which series converged."""
    converged = np.zeros(y0.shape[0], dtype=bool)
    for _ in range(MAX_ALTERNATIONS):
        if not active.size:
            break
        theta[active] = _theta_ml(y0[active], np.exp(eta[active]), used[active], theta[active], tol)
        new, eta[active] = _irls(Xs, y0[active], used[active], eta[active], theta[active], tol)
        change = np.max(np.abs(new - beta[active]) / (np.abs(new) + 1e-3), axis=1)
        beta[active] = new
        done = change <= tol * 10
        converged[active[done]] = True
        active = active[~done & np.isfinite(change)]
    return converged


def _newton(
    Xs: np.ndarray,
    y0: np.ndarray,
    used: np.ndarray,
    beta: np.ndarray,
    theta: np.ndarray,
    active: np.ndarray,
    tol: float,
) -> np.ndarray:
    """Joint Newton steps on ``(beta, log theta)`` with the observed information, in
    place, from a start near the optimum (quadratic convergence); returns which series
    converged."""
    converged = np.zeros(y0.shape[0], dtype=bool)
    p = Xs.shape[1]
    for _ in range(MAX_NEWTON):
        if not active.size:
            break
        b, t = beta[active], theta[active, None]
        y, u = y0[active], used[active]
        mu = np.exp(_predict(b, Xs))
        tm = t + mu
        d_eta = np.where(u, t * (y - mu) / tm, 0.0)
        w_bb = np.where(u, t * mu * (y + t) / tm**2, 0.0)
        w_bt = np.where(u, (y - mu) * mu / tm**2, 0.0)
        row, col = np.nonzero(u & (y > 0))
        ty, yp = t[row, 0], y[row, col]
        k = active.size
        g_t = np.bincount(row, special.digamma(ty + yp) - special.digamma(ty), minlength=k)
        g_t += np.where(u, np.log(t) + 1 - np.log(tm) - (y + t) / tm, 0.0).sum(axis=1)
        h_t = np.bincount(
            row, special.polygamma(1, ty + yp) - special.polygamma(1, ty), minlength=k
        )
        h_t += np.where(u, 1 / t - 2 / tm + (y + t) / tm**2, 0.0).sum(axis=1)
        tt = t[:, 0]
        H = np.zeros((k, p + 1, p + 1))
        pairs = (Xs[:, :, None] * Xs[:, None, :]).reshape(-1, p * p)
        H[:, :p, :p] = -np.einsum("sn,nk->sk", w_bb, pairs).reshape(k, p, p)
        H[:, :p, p] = H[:, p, :p] = tt[:, None] * np.einsum("sn,np->sp", w_bt, Xs)
        H[:, p, p] = tt**2 * h_t + tt * g_t
        g = np.concatenate([np.einsum("sn,np->sp", d_eta, Xs), (tt * g_t)[:, None]], axis=1)
        step = np.linalg.solve(H, -g[:, :, None])[:, :, 0]
        beta[active] = b + step[:, :p]
        theta[active] = tt * np.exp(step[:, p])
        size = np.max(
            np.abs(step) / (np.abs(np.c_[beta[active], np.log(theta[active])]) + 1e-3), axis=1
        )
        done = size <= tol
        converged[active[done]] = True
        active = active[~done & np.isfinite(size)]
    return converged


def fit_negbin(X: np.ndarray, y: np.ndarray, used: np.ndarray, tol: float = 1e-11) -> NegbinFit:
    """ML fits of ``y`` (S, n_obs) on the shared design ``X`` (n_obs, p), rows ``used``.

    The alternation of ``glm.nb`` converges linearly; it is run to ``1e-2`` and finished
    by joint Newton steps, which converge quadratically. A series where Newton's steps do
    not converge (or whose ``theta`` reaches :data:`THETA_MAX`, the Poisson limit) is
    finished by the alternation instead."""
    n_series = y.shape[0]
    p = X.shape[1]
    # C order: sums along a series then run in the same order whatever the batch.
    used = np.ascontiguousarray(used & np.isfinite(y))
    y0 = np.ascontiguousarray(np.where(used, y, 0.0))
    norms = np.sqrt(np.einsum("ni,ni->i", X, X))
    Xs = X / norms
    n_used = used.sum(axis=1)
    # Only zeros: the likelihood has no maximum (the mean tends to 0); no fit.
    active = np.flatnonzero((y0 * used).sum(axis=1) > 0)
    beta = np.full((n_series, p), np.nan)
    eta = np.full(y.shape, np.nan)
    with np.errstate(all="ignore"):
        poisson = np.full(active.size, np.inf)
        beta[active], eta[active] = _irls(
            Xs, y0[active], used[active], np.log(y0[active] + 0.1), poisson, tol
        )
        mu = np.exp(eta)
        theta = n_used / np.where(used, (y0 / mu - 1.0) ** 2, 0.0).sum(axis=1)
        theta = np.clip(np.where(np.isfinite(theta), theta, 1.0), 1e-6, THETA_MAX)
        start = _alternate(Xs, y0, used, beta, eta, theta, active, START_TOL)
        finite = start & (theta < THETA_MAX)
        saved = beta.copy(), theta.copy()
        converged = _newton(Xs, y0, used, beta, theta, np.flatnonzero(finite), tol)
        rest = np.setdiff1d(active, np.flatnonzero(converged & (theta < THETA_MAX)))
        beta[rest], theta[rest] = saved[0][rest], saved[1][rest]
        eta = _predict(beta, Xs)
        converged |= _alternate(Xs, y0, used, beta, eta, theta, rest, tol)
        # The covariance at the optimum: the weights of the final mu.
        eta = _predict(beta, Xs)
        mu = np.exp(eta)
        w = np.where(used, mu / (1.0 + mu / theta[:, None]), 0.0)
        _, inv = _wls(Xs, w, eta)
    ok = converged & np.isfinite(beta).all(axis=1) & np.isfinite(theta)
    coefficients = beta / norms
    cov = inv / np.outer(norms, norms)
    coefficients[~ok] = np.nan
    cov[~ok] = np.nan
    theta = np.where(ok, theta, np.nan)
    return NegbinFit(coefficients, theta, cov, (n_used - p).astype(np.float64), ok)
