"""Quantiles of the Poisson and negative binomial distributions that never hang.

R's ``qpois`` and ``qnbinom`` find the smallest count ``k`` whose distribution function
reaches ``p (1 - 64 eps)`` (R's fuzz against rounding in the search; R 4.2
``src/nmath/qnbinom.c``, ``qpois.c``), starting from a Cornish-Fisher guess and searching
with a step that grows with the mean, so that they answer at once even for means of
1e52. SciPy's ``nbinom.ppf`` (Boost's discrete quantile search) instead hangs for a size
of about 1e16 and aborts the interpreter (SIGABRT) for sizes of 1e35 and more: exactly the
values that Farrington's ``muan`` threshold reaches on sparse series (mean 0.14 a week),
where the quantile mean ``exp(eta0 + z se)`` grows to 1e52.

Here the quantile is found by an exponential search for an upper bracket followed by a
bisection over the integers, vectorised over all cells, with the distribution functions
written as regularised incomplete gamma and beta functions (as R's ``ppois`` and
``pnbinom``), which cost the same for any size of their arguments:

* ``P(X <= k) = Q(k + 1, mean)`` (upper incomplete gamma) for the Poisson;
* ``P(X <= k) = 1 - I_c(k + 1, size)`` with ``c = mean / (size + mean)`` the complement of
  the success probability, for the negative binomial (``I_{1-c}(size, k + 1)``, R's
  ``pbeta(prob, size, x + 1)``), computed from ``c`` so that a size near infinity (the
  Poisson limit) keeps its precision.

Both loops are bounded by the number of doublings of a double (about 1100 steps), so the
answer comes in milliseconds whatever the input; a cell whose distribution function is
not a number gives NaN.
"""

from __future__ import annotations

import numpy as np
from scipy import special

EPS = float(np.finfo(np.float64).eps)
#: R's fuzz: the quantile is the smallest count whose distribution function reaches
#: ``p * (1 - FUZZ)``.
FUZZ = 64.0 * EPS
#: Above this count (2**52) doubles no longer hold every integer: quantiles there are
#: R's Cornish-Fisher approximation (its starting guess) rather than an exact search.
EXACT = 2.0**52
_MAX_STEPS = 1100  # doublings from 1 to the largest double, with room to spare


def poisson_cdf(k: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``P(X <= k)`` for ``X ~ Poisson(mean)`` (R's ``ppois``); 0 for ``k < 0``."""
    k, mean = np.broadcast_arrays(np.asarray(k, np.float64), np.asarray(mean, np.float64))
    with np.errstate(invalid="ignore"):
        out = special.gammaincc(np.floor(k) + 1.0, mean)
    out = np.where(mean == 0, 1.0, out)
    return np.where(k < 0, 0.0, out)


def nbinom_cdf(
    k: np.ndarray, size: np.ndarray, prob: np.ndarray, complement: np.ndarray
) -> np.ndarray:
    """``P(X <= k)`` for a negative binomial with ``size`` and success probability
    ``prob`` (``complement = 1 - prob``, both given so that neither loses precision near
    0 or 1): R's ``pnbinom(k, size, prob)`` = ``I_prob(size, k + 1)``, computed as
    ``1 - I_complement(k + 1, size)`` where the complement is the smaller; 0 for
    ``k < 0``."""
    k, size, prob, complement = np.broadcast_arrays(
        *(np.asarray(a, np.float64) for a in (k, size, prob, complement))
    )
    kk = np.floor(k) + 1.0
    out = np.empty(kk.shape)
    small = complement <= 0.5  # each cell computes only the branch it needs
    with np.errstate(invalid="ignore"):
        out[small] = special.betaincc(kk[small], size[small], complement[small])
        out[~small] = special.betainc(size[~small], kk[~small], prob[~small])
    out = np.where(complement == 0, 1.0, out)
    return np.where(k < 0, 0.0, out)


def _cornish_fisher(p: float, mean: np.ndarray, sd: np.ndarray, skew: np.ndarray) -> np.ndarray:
    """R's starting guess ``mean + sd (z + skew (z^2 - 1) / 6)``, rounded, at least 0."""
    z = float(special.ndtri(p))
    with np.errstate(invalid="ignore", over="ignore"):
        return np.maximum(np.round(mean + sd * (z + skew * (z * z - 1.0) / 6.0)), 0.0)


def _smallest_reaching(
    cdf, target: np.ndarray, start: np.ndarray, fallback: np.ndarray
) -> np.ndarray:
    """The smallest integer ``k >= 0`` with ``cdf(k, cells) >= target`` for every cell,
    by doubling from ``start`` to bracket it and bisecting (both bounded). Beyond
    :data:`EXACT` (where doubles no longer hold every integer, so that a search over
    the counts means nothing and the incomplete beta function slows to a tenth of a
    second a call, or gives no number at all), R's Cornish-Fisher ``fallback``."""
    lo = np.full(target.shape, -1.0)  # cdf(-1) = 0 < target
    hi = np.maximum(np.ceil(np.where(np.isfinite(start), start, 1.0)), 1.0)
    cells = np.arange(target.size)
    bad = ~(start <= EXACT)
    todo = cells[~bad]
    for _ in range(_MAX_STEPS):  # hi := 2 hi until cdf(hi) reaches the target
        if todo.size == 0:
            break
        value = cdf(hi[todo], todo)
        bad[todo[np.isnan(value) | (hi[todo] > EXACT)]] = True
        short = todo[(value < target[todo]) & ~bad[todo]]
        lo[short] = hi[short]
        with np.errstate(over="ignore"):
            hi[short] = hi[short] * 2.0
        todo = short[np.isfinite(hi[short])]
    todo = cells[~bad]
    for _ in range(_MAX_STEPS):  # cdf(lo) < target <= cdf(hi)
        todo = todo[hi[todo] - lo[todo] > 1.0]
        mid = np.floor(lo[todo] + (hi[todo] - lo[todo]) / 2.0)
        moving = (mid > lo[todo]) & (mid < hi[todo])  # else the doubles are too coarse
        todo, mid = todo[moving], mid[moving]
        if todo.size == 0:
            break
        reached = cdf(mid, todo) >= target[todo]
        hi[todo[reached]] = mid[reached]
        lo[todo[~reached]] = mid[~reached]
    return np.where(bad, fallback, hi)


def poisson_quantile(p: float, mean: np.ndarray) -> np.ndarray:
    """R's ``qpois(p, mean)`` for ``0 < p < 1``: the smallest count ``k`` with
    ``ppois(k, mean) >= p (1 - 64 eps)``; 0 for a zero mean, NaN for a missing,
    negative or infinite mean."""
    mean = np.asarray(mean, np.float64)
    out = np.full(mean.shape, np.nan)
    ok = np.isfinite(mean) & (mean >= 0)
    m = mean[ok]
    target = np.full(m.shape, p * (1.0 - FUZZ))
    with np.errstate(divide="ignore"):
        fallback = _cornish_fisher(p, m, np.sqrt(m), 1.0 / np.sqrt(m))
    out[ok] = _smallest_reaching(lambda k, i: poisson_cdf(k, m[i]), target, m, fallback)
    return out


def _nbinom_fallback(
    p: float, mean: np.ndarray, size: np.ndarray, prob: np.ndarray, complement: np.ndarray
) -> np.ndarray:
    """The Cornish-Fisher guess for the negative binomial: ``sd = sqrt(size Q) / P``,
    skewness ``(1 + Q) / sqrt(size Q)`` (``P = prob``, ``Q = complement``)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        root = np.sqrt(size * complement)
        return _cornish_fisher(p, mean, root / prob, (1.0 + complement) / root)


def nbinom_quantile(p: float, mean: np.ndarray, size: np.ndarray) -> np.ndarray:
    """R's ``qnbinom(p, size, mu = mean)`` for ``0 < p < 1``: the smallest count ``k``
    with ``pnbinom(k, size, mu = mean) >= p (1 - 64 eps)``; 0 for a zero mean, NaN for
    a missing, negative or infinite mean or a size that is not positive."""
    mean, size = np.broadcast_arrays(np.asarray(mean, np.float64), np.asarray(size, np.float64))
    out = np.full(mean.shape, np.nan)
    ok = np.isfinite(mean) & (mean >= 0) & (size > 0) & ~np.isnan(size)
    m, n = mean[ok], size[ok]
    with np.errstate(over="ignore", invalid="ignore"):
        complement = np.where(np.isinf(n) | (m == 0), 0.0, m / (n + m))
        prob = np.where(np.isinf(n) | (m == 0), 1.0, n / (n + m))
    poisson = np.isinf(n)
    target = np.full(m.shape, p * (1.0 - FUZZ))

    def cdf(k: np.ndarray, i: np.ndarray) -> np.ndarray:
        return np.where(
            poisson[i], poisson_cdf(k, m[i]), nbinom_cdf(k, n[i], prob[i], complement[i])
        )

    out[ok] = _smallest_reaching(cdf, target, m, _nbinom_fallback(p, m, n, prob, complement))
    return out


def nbinom_quantile_phi(p: float, mean: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """R's ``qnbinom(p, size = mean / (phi - 1), prob = 1 / phi)`` as Farrington's
    ``muan`` threshold writes it (variance ``phi * mean``), for ``phi > 1``; the success
    probability's complement ``(phi - 1) / phi`` is computed directly."""
    mean, phi = np.broadcast_arrays(np.asarray(mean, np.float64), np.asarray(phi, np.float64))
    out = np.full(mean.shape, np.nan)
    ok = np.isfinite(mean) & (mean >= 0) & np.isfinite(phi) & (phi > 1)
    m, f = mean[ok], phi[ok]
    size = m / (f - 1.0)
    complement = (f - 1.0) / f
    prob = 1.0 / f
    target = np.full(m.shape, p * (1.0 - FUZZ))
    res = _smallest_reaching(
        lambda k, i: nbinom_cdf(k, size[i], prob[i], complement[i]),
        target, m, _nbinom_fallback(p, m, size, prob, complement),
    )  # fmt: skip
    out[ok] = np.where(m == 0, 0.0, res)
    return out
