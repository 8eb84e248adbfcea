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


def _predict(beta: np.ndarray, Xs: np.ndarray) -> np.ndarray:
    """``X beta`` of every series, as plain sums."""
    return (beta[:, None, :] * Xs[None]).sum(axis=2)


def _wls(Xs: np.ndarray, w: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of every series: ``(X'WX)^-1 X'Wz`` and ``(X'WX)^-1``."""
    # Plain sums over the rows (no BLAS): a series' result does not depend on the others.
    A = (w[:, :, None, None] * (Xs[:, :, None] * Xs[:, None, :])[None]).sum(axis=1)
    rhs = ((w * z)[:, :, None] * Xs[None]).sum(axis=1)
    with np.errstate(invalid="ignore"):
        try:
            inv = np.linalg.inv(A)
        except np.linalg.LinAlgError:
            inv = np.linalg.pinv(A)
    return (inv * rhs[:, None, :]).sum(axis=2), inv


def _irls(
    Xs: np.ndarray, y: np.ndarray, used: np.ndarray, eta: np.ndarray, theta: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """IRLS for ``beta`` at fixed ``theta`` (``inf``: Poisson), from ``eta``; each series
    stops at its own convergence, so that its result does not depend on the others."""
    beta = np.full((y.shape[0], Xs.shape[1]), np.nan)
    eta = eta.copy()
    active = np.arange(y.shape[0])
    for iteration in range(100):
        mu = np.exp(eta[active])
        u = used[active]
        w = np.where(u, mu / (1.0 + mu / theta[active, None]), 0.0)
        z = eta[active] + np.where(u, (y[active] - mu) / mu, 0.0)
        new, _ = _wls(Xs, w, z)
        change = np.max(np.abs(new - beta[active]) / (np.abs(new) + 1e-3), axis=1)
        beta[active] = new
        eta[active] = _predict(new, Xs)
        if iteration:
            active = active[change > tol]
            if not active.size:
                break
    return beta, eta


def _theta_ml(
    y: np.ndarray, mu: np.ndarray, used: np.ndarray, theta: np.ndarray, tol: float
) -> np.ndarray:
    """Newton's method on the score of ``theta`` at fixed ``mu`` (``MASS::theta.ml``), each
    series until its own convergence."""
    theta = theta.copy()
    active = np.flatnonzero(np.isfinite(theta))
    for _ in range(100):
        t = theta[active, None]
        yy, mm, u = y[active], mu[active], used[active]
        score = np.where(
            u,
            special.digamma(t + yy)
            - special.digamma(t)
            + np.log(t)
            + 1
            - np.log(t + mm)
            - (yy + t) / (mm + t),
            0.0,
        ).sum(axis=1)
        info = np.where(
            u,
            -special.polygamma(1, t + yy)
            + special.polygamma(1, t)
            - 1 / t
            + 2 / (mm + t)
            - (yy + t) / (mm + t) ** 2,
            0.0,
        ).sum(axis=1)
        old = theta[active]
        new = np.clip(old + score / info, old / 10, THETA_MAX)
        theta[active] = new
        active = active[(np.abs(new - old) > tol * np.abs(old)) & np.isfinite(new)]
        if not active.size:
            break
    return theta


def fit_negbin(X: np.ndarray, y: np.ndarray, used: np.ndarray, tol: float = 1e-11) -> NegbinFit:
    """ML fits of ``y`` (S, n_obs) on the shared design ``X`` (n_obs, p), rows ``used``."""
    n_series = y.shape[0]
    p = X.shape[1]
    used = used & np.isfinite(y)
    y0 = np.where(used, y, 0.0)
    norms = np.sqrt(np.einsum("ni,ni->i", X, X))
    Xs = X / norms
    n_used = used.sum(axis=1)
    with np.errstate(all="ignore"):
        poisson = np.full(n_series, np.inf)
        beta, eta = _irls(Xs, y0, used, np.log(y0 + 0.1), poisson, tol)
        mu = np.exp(eta)
        theta = n_used / np.where(used, (y0 / mu - 1.0) ** 2, 0.0).sum(axis=1)
        theta = np.clip(np.where(np.isfinite(theta), theta, 1.0), 1e-6, THETA_MAX)
        converged = np.zeros(n_series, dtype=bool)
        active = np.arange(n_series)
        for _ in range(50):
            theta[active] = _theta_ml(
                y0[active], np.exp(eta[active]), used[active], theta[active], tol
            )
            new, eta[active] = _irls(Xs, y0[active], used[active], eta[active], theta[active], tol)
            change = np.max(np.abs(new - beta[active]) / (np.abs(new) + 1e-3), axis=1)
            beta[active] = new
            done = change <= tol * 10
            converged[active[done]] = True
            active = active[~done & np.isfinite(change)]
            if not active.size:
                break
        # The covariance at the optimum: the weights of the final mu.
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
