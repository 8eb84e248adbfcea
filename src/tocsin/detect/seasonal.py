"""Seasonal log-linear baselines ``log mu_t = b0 [+ b1 t] + sum_s (c_s cos + d_s sin)``.

R's ``surveillance`` fits this model with ``glm`` for CUSUM (``m = "glm"``, one harmonic,
no trend) and for the GLR detectors (``mu0 = NULL``: ``estimateGLRNbHook``, ``S``
harmonics and an optional trend; Poisson, or negative binomial with a known dispersion).
Höhle & Paul (2008), "Count data regression charts for the monitoring of surveillance
time series", Comput Stat Data Anal 52:4357-4368, section 3.

Every series of a batch is fitted at once: Poisson fits use the batched IRLS of
:mod:`tocsin.detect.glm` (a replica of R's ``glm.fit``); negative binomial fits with known
``theta`` (R ``MASS::negative.binomial(theta)``) use :func:`fit_negbin_glm` below, the
same iteration with that family's variance, starting values and deviance.
"""

from __future__ import annotations

import numpy as np

from tocsin.detect.glm import EPS, fit_poisson_glm


def seasonal_design(
    t: np.ndarray, freq: int, harmonics: int = 1, trend: bool = False
) -> np.ndarray:
    """Design matrix ``(len(t), p)`` of R's formula ``y ~ 1 [+ t] + cos(2*s*pi/p*t) +
    sin(2*s*pi/p*t)`` for ``s = 1..harmonics`` (columns in that order)."""
    t = np.asarray(t, dtype=np.float64)
    cols = [np.ones_like(t)]
    if trend:
        cols.append(t)
    for s in range(1, harmonics + 1):
        angle = 2.0 * s * np.pi / freq * t
        cols += [np.cos(angle), np.sin(angle)]
    return np.stack(cols, axis=1)


def _negbin_dev(y: np.ndarray, mu: np.ndarray, theta: float) -> np.ndarray:
    """Deviance residuals of ``negative.binomial(theta)`` (R ``MASS``)."""
    return 2.0 * (
        y * np.log(np.maximum(1.0, y) / mu) - (y + theta) * np.log((y + theta) / (mu + theta))
    )


def fit_negbin_glm(
    X: np.ndarray, y: np.ndarray, theta: float, *, epsilon: float = 1e-8, maxit: int = 25
) -> np.ndarray:
    """Coefficients ``(S, p)`` of log-link negative binomial GLMs with known ``theta``
    for responses ``y`` ``(S, n)`` sharing the design ``X`` ``(n, p)``, as R's ``glm.fit``
    with ``family = negative.binomial(theta)``: start ``mu = y + (y == 0) / 6``, IRLS
    until ``|dev - devold| / (|dev| + 0.1) < epsilon`` (each fit stops at its own
    iteration), at most ``maxit`` iterations. NaN responses are dropped."""
    used = np.isfinite(y)
    yy = np.where(used, y, 0.0)
    w = used.astype(np.float64)
    mu = yy + (yy == 0) / 6.0
    eta = np.log(mu)
    devold = (w * _negbin_dev(yy, mu, theta)).sum(-1)
    beta = np.full((y.shape[0], X.shape[1]), np.nan)
    running = np.ones(y.shape[0], bool)
    for _ in range(maxit):
        if not running.any():
            break
        mu_eta = np.maximum(np.exp(eta), EPS)
        variance = mu + mu**2 / theta
        z = eta + (yy - mu) / mu_eta
        ww = w * mu_eta**2 / variance
        A = np.einsum("sn,np,nq->spq", ww, X, X)
        b = np.einsum("sn,np->sp", ww * z, X)
        new_beta = np.linalg.solve(A, b[..., None])[..., 0]
        new_eta = new_beta @ X.T
        new_mu = np.maximum(np.exp(new_eta), EPS)
        dev = (w * _negbin_dev(yy, new_mu, theta)).sum(-1)
        conv = np.abs(dev - devold) / (np.abs(dev) + 0.1) < epsilon
        upd = running
        beta[upd] = new_beta[upd]
        eta[upd], mu[upd], devold[upd] = new_eta[upd], new_mu[upd], dev[upd]
        running = running & ~conv
    return beta


def seasonal_mean(
    train: np.ndarray,
    t_train: np.ndarray,
    t_new: np.ndarray,
    freq: int,
    *,
    harmonics: int = 1,
    trend: bool = False,
    negbin_alpha: float = 0.0,
) -> np.ndarray:
    """Fitted means ``(len(t_new), S)`` of the seasonal model fitted to ``train``
    ``(len(t_train), S)`` (Poisson when ``negbin_alpha`` is 0, else negative binomial
    with ``theta = 1 / negbin_alpha``), R's ``predict(..., type = "response")``
    (never below machine epsilon, as R's log link)."""
    X = seasonal_design(t_train, freq, harmonics, trend)
    X_new = seasonal_design(t_new, freq, harmonics, trend)
    if negbin_alpha == 0:
        fit = fit_poisson_glm(X[None], train.T[None])
        beta = fit.coefficients[0]  # (S, p)
    else:
        beta = fit_negbin_glm(X, train.T, 1.0 / negbin_alpha)
    # R's log link: linkinv(eta) = max(exp(eta), machine epsilon).
    return np.maximum(np.exp(X_new @ beta.T), EPS)
