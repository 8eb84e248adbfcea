"""Seasonal log-linear baselines ``log mu_t = b0 [+ b1 t] + sum_s (c_s cos + d_s sin)``.

R's ``surveillance`` fits this model with ``glm`` for CUSUM (``m = "glm"``, one harmonic,
no trend) and for the GLR detectors (``mu0 = NULL``: ``estimateGLRNbHook``, ``S``
harmonics and an optional trend; Poisson, or negative binomial with a known dispersion).
Höhle & Paul (2008), "Count data regression charts for the monitoring of surveillance
time series", Comput Stat Data Anal 52:4357-4368, section 3.

Every series of a batch is fitted at once by :func:`fit_loglinear_glm`: R's ``glm.fit``
iteration (Poisson, or ``MASS::negative.binomial(theta)`` with known ``theta``) with each
weighted least-squares step solved by a QR factorisation per series, so that a series
gives the same coefficients alone as inside a batch.
"""

from __future__ import annotations

import contextlib

import numpy as np

from tocsin.detect.glm import EPS


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


def _poisson_dev(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Deviance residuals of ``poisson()`` (R's ``poisson()$dev.resids``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
    return 2.0 * (ylogy - (y - mu))


def _negbin_dev(y: np.ndarray, mu: np.ndarray, theta: float) -> np.ndarray:
    """Deviance residuals of ``negative.binomial(theta)`` (R ``MASS``)."""
    return 2.0 * (
        y * np.log(np.maximum(1.0, y) / mu) - (y + theta) * np.log((y + theta) / (mu + theta))
    )


def fit_loglinear_glm(
    X: np.ndarray,
    y: np.ndarray,
    theta: float | None = None,
    *,
    epsilon: float = 1e-8,
    maxit: int = 25,
) -> np.ndarray:
    """Coefficients ``(S, p)`` of log-link Poisson (``theta`` None) or negative binomial
    (known ``theta``, R ``MASS::negative.binomial(theta)``) GLMs for the responses ``y``
    ``(S, n)`` sharing the design ``X`` ``(n, p)``, by R's ``glm.fit`` iteration:

    * start ``mustart = y + 0.1`` (Poisson) or ``y + (y == 0) / 6`` (negative binomial),
      ``eta = log(mustart)``; ``mu = max(exp(eta), eps)``;
    * each step solves the weighted least-squares problem ``sqrt(w) X b = sqrt(w) z``
      by a Householder QR factorisation of ``sqrt(w) X`` (as R's ``Cdqrls``; the normal
      equations ``X'WX`` would square the condition number);
    * a step whose deviance is not finite is halved towards the last coefficients until
      it is (at most ``maxit`` times), as R does; at the first iteration R stops with an
      error, and the fit keeps NaN coefficients. (Halving also a step that increases
      the deviance, as ``glm2`` does (Marschner 2011, R Journal 3(2):12-15), moves the
      GLR bounds on R's measlesDE fixtures by 1e-6 relative: R does not, so neither
      does tocsin.)
    * convergence when ``|dev - devold| / (|dev| + 0.1) < epsilon``, each fit at its own
      iteration, at most ``maxit`` iterations.

    Every fit is computed with the same operations whatever the other fits of the batch
    (the stacked QR and solve are one LAPACK call per fit, the other operations are
    elementwise or along one fit's rows), so a series alone gets bitwise the
    coefficients it gets inside a batch, even where the maximum likelihood estimate does
    not exist (a zero count in a saturated model) and the coefficients drift to large
    values. NaN responses are dropped (prior weight 0).
    """
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    used = np.isfinite(y)
    yy = np.where(used, y, 0.0)
    prior = used.astype(np.float64)

    def deviance(mu: np.ndarray, idx: np.ndarray) -> np.ndarray:
        yi = yy[idx]
        dev = _poisson_dev(yi, mu) if theta is None else _negbin_dev(yi, mu, theta)
        with np.errstate(invalid="ignore"):
            return (prior[idx] * dev).sum(-1)

    def step(b: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with np.errstate(over="ignore", invalid="ignore"):
            eta = (X[None, :, :] * b[:, None, :]).sum(-1)
            mu = np.maximum(np.exp(eta), EPS)
        return eta, mu, deviance(mu, idx)

    S, p = yy.shape[0], X.shape[1]
    mu = yy + 0.1 if theta is None else yy + (yy == 0) / 6.0
    eta = np.log(mu)
    devold = deviance(mu, np.arange(S))
    beta = np.full((S, p), np.nan)
    running = np.ones(S, bool)
    for _ in range(maxit):
        idx = np.flatnonzero(running)
        if idx.size == 0:
            break
        m, e, yi = mu[idx], eta[idx], yy[idx]
        mu_eta = np.maximum(np.exp(e), EPS)
        variance = m if theta is None else m + m * m / theta
        z = e + (yi - m) / mu_eta
        root_w = np.sqrt(prior[idx] * mu_eta * mu_eta / variance)
        with np.errstate(all="ignore"):
            Q, R = np.linalg.qr(root_w[:, :, None] * X[None])
            rhs = (Q * (root_w * z)[:, :, None]).sum(1)
            new = _solve_each(R, rhs)
        start = beta[idx]
        first = ~np.isfinite(start).all(-1)  # the first step has nothing to halve towards
        new_eta, new_mu, dev = step(new, idx)
        worse = ~first & ~np.isfinite(dev)
        for _halving in range(maxit):
            if not worse.any():
                break
            new = np.where(worse[:, None], (new + start) / 2.0, new)
            new_eta, new_mu, dev = step(new, idx)
            worse &= ~np.isfinite(dev)
        move = np.isfinite(dev) & np.isfinite(new).all(-1)
        with np.errstate(invalid="ignore"):
            conv = np.abs(dev - devold[idx]) / (np.abs(dev) + 0.1) < epsilon
        at = idx[move]
        beta[at] = new[move]
        eta[at], mu[at], devold[at] = new_eta[move], new_mu[move], dev[move]
        running[idx] = move & ~conv
    return beta


def _solve_each(R: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``R x = b`` for a stack of triangular factors; NaN for the singular ones only."""
    try:
        return np.linalg.solve(R, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full(b.shape, np.nan)
        for k in range(R.shape[0]):
            with contextlib.suppress(np.linalg.LinAlgError):
                out[k] = np.linalg.solve(R[k], b[k])
        return out


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
    theta = None if negbin_alpha == 0 else 1.0 / negbin_alpha
    beta = fit_loglinear_glm(X, train.T, theta)  # (S, p)
    # R's log link: linkinv(eta) = max(exp(eta), machine epsilon).
    with np.errstate(over="ignore", invalid="ignore"):
        eta = (X_new[:, None, :] * beta[None, :, :]).sum(-1)
        return np.maximum(np.exp(eta), EPS)
