"""R's ``MASS::glm.nb`` step by step, for many series at once.

:mod:`tocsin.detect.negbin` finds the exact maximum of the likelihood. ``glm.nb`` (MASS
7.3-58, Venables and Ripley 2002, section 7.4) instead stops where its own rules say,
and on sparse series its rules stop far from the maximum: ``theta.ml`` runs plain Newton
steps from the moment estimate, which can wander (R: "iteration limit reached", "NaNs
produced") and return a ``theta`` of thousands where the maximum is 0.3, and the
alternation then stops after one round. Rnssp's ``alert_nbinom`` reports what
``glm.nb`` returns, so reproducing it means repeating ``glm.nb``'s arithmetic:

* a Poisson ``glm.fit`` (``mustart = y + 0.1``), then ``theta.ml(y, mu)`` with
  ``limit = 25`` and ``eps = .Machine$double.eps^0.25``: ``t0 = n / sum((y/mu - 1)^2)``,
  then ``t0 = abs(t0); t0 = t0 + score/info`` while fewer than 25 steps and
  ``|del| > eps``; a negative result is truncated at 0;
* while ``iter <= 25`` and ``|Lm0 - Lm| / d1 + |del| / d2 > 1e-8``
  (``d1 = sqrt(2 max(1, df.residual))``, ``d2 = 1``): a negative binomial ``glm.fit``
  from ``etastart = log(mu)``; ``theta.ml`` from the ``mu`` of *before* that fit; then
  ``mu`` from the fit, ``del = theta_old - theta`` and the log-likelihood ``Lm``;
* ``glm.fit``: IRLS with ``mu = max(exp(eta), eps)``, working weights
  ``mu^2 / variance``, convergence when ``|dev - devold| / (|dev| + 0.1) < 1e-8``, at most
  25 iterations, step halving on a non-finite deviance or a mean that is not positive.

The final fit's coefficients, ``theta`` and the covariance ``(X' W X)^-1`` of its last
iteration (R's ``qr`` of the fit, as ``predict(se.fit = TRUE)`` uses it; dispersion 1 as
``summary.negbin``) are returned. A series where R would stop with an error (a
non-finite log-likelihood in the loop condition, or a non-finite deviance at a fit's
first step) gets NaN. Least squares are solved by Cholesky on the scaled design rather
than R's QR, so results agree with R's to rounding (about 1e-10 relative), not bit for
bit.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from tocsin.detect.negbin import NegbinFit, inverses

EPS = float(np.finfo(np.float64).eps)
MAXIT = 25  # glm.control()$maxit
EPSILON = 1e-8  # glm.control()$epsilon
THETA_EPS = EPS**0.25  # theta.ml's eps


def _solve(Xs: np.ndarray, w: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of every series (rows of ``w``, ``z``)."""
    p = Xs.shape[1]
    pairs = (Xs[:, :, None] * Xs[:, None, :]).reshape(-1, p * p)
    A = np.einsum("sn,nk->sk", w, pairs).reshape(-1, p, p)
    rhs = np.einsum("sn,np->sp", w * z, Xs)
    inv = inverses(A)
    return np.einsum("sij,sj->si", inv, rhs), inv


def _deviance(y: np.ndarray, mu: np.ndarray, used: np.ndarray, theta: np.ndarray):
    """``sum(dev.resids)`` of the Poisson (``theta`` inf) or negative binomial family."""
    t = theta[:, None]
    poisson = np.isinf(theta)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if poisson.all():
            terms = 2 * (np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu))
        else:
            ratio = np.log(np.maximum(1.0, y) / mu)
            terms = 2 * (y * ratio - (y + t) * np.log((y + t) / (mu + t)))
            if poisson.any():
                pois = 2 * (np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu))
                terms = np.where(poisson[:, None], pois, terms)
    return np.where(used, terms, 0.0).sum(axis=1)


def _glm_fit(Xs, y, used, eta, theta):
    """``glm.fit`` of every series from ``eta`` (Poisson where ``theta`` is inf)."""
    n_series, p = y.shape[0], Xs.shape[1]
    mu = np.maximum(np.exp(eta), EPS)
    devold = _deviance(y, mu, used, theta)
    beta = np.full((n_series, p), np.nan)
    cov = np.full((n_series, p, p), np.nan)
    failed = ~np.isfinite(devold)
    active = np.flatnonzero(~failed)
    coefold = None
    for iteration in range(MAXIT):
        if not active.size:
            break
        m, t = mu[active], theta[active, None]
        variance = np.where(np.isinf(t), m, m + m * m / np.where(np.isinf(t), 1.0, t))
        w = np.where(used[active], m * m / variance, 0.0)
        z = eta[active] + np.where(used[active], (y[active] - m) / m, 0.0)
        start, inv = _solve(Xs, w, z)
        new_eta = np.einsum("sp,np->sn", start, Xs)
        new_mu = np.maximum(np.exp(new_eta), EPS)
        dev = _deviance(y[active], new_mu, used[active], theta[active])
        bad = ~np.isfinite(dev)
        if bad.any():  # step halving towards the previous coefficients (R: glm.fit)
            if coefold is None or iteration == 0:
                failed[active[bad]] = True  # R: "no valid set of coefficients"
            else:
                old = coefold[active][bad]
                for _ in range(MAXIT):
                    start[bad] = (start[bad] + old) / 2
                    new_eta[bad] = np.einsum("sp,np->sn", start[bad], Xs)
                    new_mu[bad] = np.maximum(np.exp(new_eta[bad]), EPS)
                    dev[bad] = _deviance(y[active][bad], new_mu[bad], used[active][bad],
                                         theta[active][bad])  # fmt: skip
                    if np.isfinite(dev[bad]).all():
                        break
                failed[active[bad & ~np.isfinite(dev)]] = True
        beta[active], cov[active] = start, inv
        eta[active], mu[active] = new_eta, new_mu
        done = np.abs(dev - devold[active]) / (np.abs(dev) + 0.1) < EPSILON
        devold[active] = dev
        if coefold is None:
            coefold = beta.copy()
        coefold[active] = start
        active = active[~done & ~failed[active]]
    beta[failed] = np.nan
    return beta, eta, mu, cov


def _theta_ml(y, mu, used, limit=MAXIT):
    """``MASS::theta.ml(y, mu, sum(w), w, limit = 25)`` of every series.

    The digamma and trigamma terms cancel where the count is 0 (``digamma(t + 0) -
    digamma(t)``), so they are summed over the positive counts only."""
    n = used.sum(axis=1).astype(np.float64)
    with np.errstate(all="ignore"):
        t0 = n / np.where(used, (y / mu - 1.0) ** 2, 0.0).sum(axis=1)
        active = np.flatnonzero(np.isfinite(t0))
        it = 0
        while it + 1 < limit and active.size:
            it += 1
            t = np.abs(t0[active])[:, None]
            yy, mm, u = y[active], mu[active], used[active]
            row, col = np.nonzero(u & (yy > 0))
            ty, yp = t[row, 0], yy[row, col]
            k = active.size
            digamma = np.bincount(row, special.digamma(ty + yp) - special.digamma(ty), minlength=k)
            trigamma = np.bincount(row, special.zeta(2, ty) - special.zeta(2, ty + yp), minlength=k)
            score = digamma + np.where(
                u, np.log(t) + 1 - np.log(t + mm) - (yy + t) / (mm + t), 0.0
            ).sum(axis=1)
            info = trigamma + np.where(
                u, -1 / t + 2 / (mm + t) - (yy + t) / (mm + t) ** 2, 0.0
            ).sum(axis=1)
            delta = score / info
            t0[active] = t[:, 0] + delta
            # R's loop condition abs(del) > eps: NaN stops it with an error.
            active = active[np.abs(delta) > THETA_EPS]
    return np.where(t0 < 0, 0.0, t0)


def _loglik(y, mu, used, theta):
    t = theta[:, None]
    with np.errstate(all="ignore"):
        terms = (
            special.gammaln(t + y) - special.gammaln(t) - special.gammaln(y + 1)
            + t * np.log(t) + y * np.log(mu + (y == 0)) - (t + y) * np.log(t + mu)
        )  # fmt: skip
    return np.where(used, terms, 0.0).sum(axis=1)


def fit_glm_nb(X: np.ndarray, y: np.ndarray, used: np.ndarray) -> NegbinFit:
    """``MASS::glm.nb`` of ``y`` (S, n_obs) on the shared design ``X`` (n_obs, p) over the
    rows ``used`` (S, n_obs), as R computes it; a series where R stops with an error has
    NaN (``converged`` False)."""
    n_series, p = y.shape[0], X.shape[1]
    # C order: sums along a series then run in the same order whatever the batch.
    used = np.ascontiguousarray(used & np.isfinite(y))
    y0 = np.ascontiguousarray(np.where(used, y, 0.0))
    norms = np.sqrt(np.einsum("ni,ni->i", X, X))
    Xs = X / norms
    df_residual = used.sum(axis=1) - p
    with np.errstate(all="ignore"):
        poisson = np.full(n_series, np.inf)
        beta, _, mu, cov = _glm_fit(Xs, y0, used, np.log(y0 + 0.1), poisson)
        theta = _theta_ml(y0, mu, used)
        d1 = np.sqrt(2 * np.maximum(1, df_residual))
        delta = np.ones(n_series)
        lm = _loglik(y0, mu, used, theta)
        lm0 = lm + 2 * d1
        failed = ~np.isfinite(beta).all(axis=1)
        active = np.flatnonzero(~failed)
        for _ in range(MAXIT):
            criterion = np.abs(lm0[active] - lm[active]) / d1[active] + np.abs(delta[active])
            stop_error = np.isnan(criterion)  # R: missing value where TRUE/FALSE needed
            failed[active[stop_error]] = True
            active = active[~stop_error & (criterion > EPSILON)]
            if not active.size:
                break
            fb, _, fmu, fcov = _glm_fit(
                Xs, y0[active], used[active], np.log(mu[active]), theta[active]
            )
            t_old = theta[active]
            new_theta = _theta_ml(y0[active], mu[active], used[active])
            beta[active], cov[active], mu[active] = fb, fcov, fmu
            theta[active] = new_theta
            delta[active] = t_old - new_theta
            lm0[active] = lm[active]
            lm[active] = _loglik(y0[active], fmu, used[active], new_theta)
            failed[active[~np.isfinite(fb).all(axis=1)]] = True
    ok = ~failed & np.isfinite(theta) & (theta > 0)
    coefficients = beta / norms
    cov = cov / np.outer(norms, norms)
    coefficients[~ok] = np.nan
    cov[~ok] = np.nan
    return NegbinFit(
        coefficients, np.where(ok, theta, np.nan), cov, df_residual.astype(np.float64), ok
    )
